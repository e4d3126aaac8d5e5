#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "base/layout.h"
#include "vmm/snapshot/format/snap_mem.h"

#define PG	 4096u
#define A_PAGES	 16u
#define B_PAGES	 8u
#define RAM_SIZE ((A_PAGES + B_PAGES) * PG)

static char dir[64];
static char err[256];
static uint8_t *ram_a, *ram_b;
static struct guest_mem mem;

static char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void fill_page(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < PG; i++)
		p[i] = (uint8_t)(seed + i * 13 + 1) | 1;
}

/* Region A (gpa 0, 16 pages): pages 0 and 2 patterned, page 15 zero but for its last byte, the
 * rest zero. Region B (gpa 1 MiB, 8 pages): page 3 patterned, the rest zero. */
static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_snap_mem.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	ram_a =
	    mmap(NULL, A_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ram_b =
	    mmap(NULL, B_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(ram_a != MAP_FAILED && ram_b != MAP_FAILED);
	fill_page(ram_a, 1);
	fill_page(ram_a + 2 * PG, 2);
	ram_a[16 * PG - 1] = 0x5a;
	fill_page(ram_b + 3 * PG, 3);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram_a, A_PAGES * PG), 0);
	cr_assert_eq(guest_mem_add_region(&mem, 0x100000, ram_b, B_PAGES * PG), 0);
}

static void teardown(void)
{
	char cmd[128];
	munmap(ram_a, A_PAGES * PG);
	munmap(ram_b, B_PAGES * PG);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(snap_mem, .init = setup, .fini = teardown);

/* Page `page` of the file offset space as the guest memory holds it. */
static const uint8_t *ram_page(unsigned page)
{
	return page < A_PAGES ? ram_a + page * PG : ram_b + (page - A_PAGES) * PG;
}

static void read_page(int fd, unsigned page, uint8_t *out)
{
	cr_assert_eq(pread(fd, out, PG, (off_t)page * PG), (ssize_t)PG, "page %u", page);
}

static void save_full(void)
{
	cr_assert_eq(snap_mem_save(&mem, path_of("mem"), NULL, err, sizeof(err)), 0, "%s", err);
}

Test(snap_mem, full_save_is_ram_in_region_order)
{
	save_full();
	int fd = open(path_of("mem"), O_RDONLY);
	cr_assert(fd >= 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, RAM_SIZE);
	uint8_t buf[PG];
	for (unsigned p = 0; p < A_PAGES + B_PAGES; p++) {
		read_page(fd, p, buf);
		cr_assert_arr_eq(buf, ram_page(p), PG, "page %u", p);
	}
	close(fd);
	cr_assert_eq(access(path_of("mem.tmp"), F_OK), -1, "no .tmp left behind");
}

Test(snap_mem, zero_pages_are_holes)
{
	save_full();
	int fd = open(path_of("mem"), O_RDONLY);
	cr_assert(fd >= 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	/* 5 pages hold data (A 0, 2, 15; B 3): far fewer blocks than 24 pages. */
	cr_assert_lt((uint64_t)st.st_blocks * 512, (uint64_t)RAM_SIZE / 2, "%lld blocks",
		     (long long)st.st_blocks);
	cr_assert_eq(lseek(fd, 0, SEEK_HOLE), PG, "page 1 is a hole");
	cr_assert_eq(lseek(fd, PG, SEEK_DATA), 2 * PG, "page 2 is data");
	cr_assert_eq(lseek(fd, 3 * PG, SEEK_DATA), 15 * PG, "pages 3-14 are holes");
	cr_assert_eq(lseek(fd, 16 * PG, SEEK_DATA), 19 * PG, "B pages 0-2 are holes");
	cr_assert_eq(lseek(fd, 20 * PG, SEEK_DATA), -1, "nothing after B page 3");
	close(fd);
}

Test(snap_mem, full_save_replaces_an_older_file)
{
	save_full();
	memset(ram_a, 0, PG);
	ram_b[0] = 7;
	save_full();
	int fd = open(path_of("mem"), O_RDONLY);
	uint8_t buf[PG];
	read_page(fd, 0, buf);
	cr_assert_arr_eq(buf, ram_a, PG, "page 0 is zero now");
	read_page(fd, A_PAGES, buf);
	cr_assert_eq(buf[0], 7);
	close(fd);
}

Test(snap_mem, diff_save_writes_only_dirty_pages)
{
	save_full();
	uint8_t old2[PG];
	memcpy(old2, ram_a + 2 * PG, PG);
	fill_page(ram_a + 1 * PG, 11); /* dirty */
	fill_page(ram_a + 2 * PG, 12); /* changed, but not marked: must not be written */
	fill_page(ram_b + 3 * PG, 13); /* dirty: file page 19 */
	uint64_t dirty[1] = {1ull << 1 | 1ull << 19};
	cr_assert_eq(snap_mem_save(&mem, path_of("mem"), dirty, err, sizeof(err)), 0, "%s", err);

	int fd = open(path_of("mem"), O_RDONLY);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, RAM_SIZE);
	uint8_t buf[PG];
	read_page(fd, 1, buf);
	cr_assert_arr_eq(buf, ram_a + PG, PG);
	read_page(fd, 2, buf);
	cr_assert_arr_eq(buf, old2, PG, "an unmarked page keeps the full snapshot's bytes");
	read_page(fd, 19, buf);
	cr_assert_arr_eq(buf, ram_b + 3 * PG, PG);
	read_page(fd, 0, buf);
	cr_assert_arr_eq(buf, ram_a, PG);
	close(fd);
}

Test(snap_mem, diff_save_needs_the_full_file)
{
	uint64_t dirty[1] = {1};
	cr_assert_eq(snap_mem_save(&mem, path_of("none"), dirty, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, path_of("none")), "%s", err);

	int fd = open(path_of("small"), O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(ftruncate(fd, RAM_SIZE - PG), 0);
	close(fd);
	cr_assert_eq(snap_mem_save(&mem, path_of("small"), dirty, err, sizeof(err)), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "memory file %s has %u bytes, the VM has %u", path_of("small"),
		 RAM_SIZE - PG, RAM_SIZE);
	cr_assert(strstr(err, want), "%s", err);
}

Test(snap_mem, regions_must_be_whole_pages)
{
	struct guest_mem odd = {0};
	cr_assert_eq(guest_mem_add_region(&odd, 0, ram_a, PG + 100), 0);
	cr_assert_eq(snap_mem_save(&odd, path_of("odd"), NULL, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a whole number of pages"), "%s", err);
	cr_assert_eq(access(path_of("odd"), F_OK), -1);
}

Test(snap_mem, open_checks_the_size)
{
	save_full();
	int fd = -1;
	cr_assert_eq(snap_mem_open(path_of("mem"), RAM_SIZE, 0, &fd, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(fd >= 0);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
	cr_assert_eq(snap_mem_open(path_of("mem"), RAM_SIZE * 2, 0, &fd, err, sizeof(err)),
		     -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "memory file %s has %u bytes, the snapshot's VM has %u",
		 path_of("mem"), RAM_SIZE, RAM_SIZE * 2);
	cr_assert_str_eq(err, want);
	cr_assert_eq(snap_mem_open(path_of("none"), RAM_SIZE, 0, &fd, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, path_of("none")), "%s", err);
	cr_assert_eq(snap_mem_open(dir, RAM_SIZE, 0, &fd, err, sizeof(err)), -EINVAL);
}

Test(snap_mem, mapped_file_is_copy_on_write)
{
	save_full();
	int fd = -1;
	cr_assert_eq(snap_mem_open(path_of("mem"), RAM_SIZE, 0, &fd, err, sizeof(err)), 0, "%s",
		     err);
	struct guest_mem m;
	cr_assert_eq(guest_mem_map_file(&m, RAM_SIZE, fd), 0);
	/* Below 3 GiB the layout is one region at gpa 0: file page i is guest page i. */
	cr_assert_eq(m.nregions, 1);
	cr_assert_eq(m.ram_size, RAM_SIZE);
	for (unsigned p = 0; p < A_PAGES + B_PAGES; p++)
		cr_assert_arr_eq(guest_mem_ptr(&m, (uint64_t)p * PG, PG), ram_page(p), PG,
				 "page %u", p);

	uint8_t *g = guest_mem_ptr(&m, 2 * PG, PG);
	memset(g, 0xee, PG);
	uint8_t buf[PG];
	read_page(fd, 2, buf);
	cr_assert_arr_eq(buf, ram_a + 2 * PG, PG, "the guest's write did not reach the file");

	struct guest_mem m2;
	cr_assert_eq(guest_mem_map_file(&m2, RAM_SIZE, fd), 0);
	cr_assert_arr_eq(guest_mem_ptr(&m2, 2 * PG, PG), ram_a + 2 * PG, PG,
			 "a second clone sees the file, not the first one's write");
	guest_mem_free(&m2);
	guest_mem_free(&m);
	cr_assert_eq(m.nregions, 0);
	close(fd);
}

Test(snap_mem, mapped_file_has_the_alloc_layout_above_the_hole)
{
	uint64_t size = MMIO_HOLE_START + 2 * PG;
	int fd = open(path_of("big"), O_CREAT | O_RDWR, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0, "a sparse file");
	cr_assert_eq(pwrite(fd, "low", 3, PG), 3);
	cr_assert_eq(pwrite(fd, "high", 4, (off_t)MMIO_HOLE_START + PG), 4);
	struct guest_mem m;
	cr_assert_eq(guest_mem_map_file(&m, size, fd), 0);
	cr_assert_eq(m.nregions, 2);
	cr_assert_eq(m.regions[1].gpa, HIGH_RAM_START);
	cr_assert_eq(m.regions[1].size, 2 * PG);
	cr_assert_arr_eq(guest_mem_ptr(&m, PG, 3), "low", 3);
	cr_assert_arr_eq(guest_mem_ptr(&m, HIGH_RAM_START + PG, 4), "high", 4);
	cr_assert_null(guest_mem_ptr(&m, MMIO_HOLE_START, 1), "the hole is not RAM");
	guest_mem_free(&m);
	close(fd);
}

Test(snap_mem, map_file_refuses_wrong_sizes)
{
	save_full();
	int fd = open(path_of("mem"), O_RDONLY);
	struct guest_mem m;
	cr_assert_eq(guest_mem_map_file(&m, RAM_SIZE + PG, fd), -EINVAL);
	cr_assert_eq(guest_mem_map_file(&m, 0, fd), -EINVAL);
	cr_assert_eq(m.nregions, 0);
	close(fd);
	cr_assert_eq(guest_mem_map_file(&m, RAM_SIZE, -1), -EINVAL);
}
