#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "base/layout.h"

static uint8_t low[4096], high[4096];

static struct guest_mem two_regions(void)
{
	struct guest_mem m = {0};
	cr_assert_eq(guest_mem_add_region(&m, 0x1000, low, sizeof(low)), 0);
	cr_assert_eq(guest_mem_add_region(&m, 0x10000, high, sizeof(high)), 0);
	return m;
}

Test(guest_mem, translates_inside_regions)
{
	struct guest_mem m = two_regions();
	cr_assert_eq(guest_mem_ptr(&m, 0x1000, 16), low);
	cr_assert_eq(guest_mem_ptr(&m, 0x1ff0, 16), low + 0xff0);
	cr_assert_eq(guest_mem_ptr(&m, 0x10010, 1), high + 0x10);
	cr_assert_eq(m.ram_size, 8192);
}

Test(guest_mem, refuses_edges_holes_and_spans)
{
	struct guest_mem m = two_regions();
	cr_assert_null(guest_mem_ptr(&m, 0xfff, 1), "below the first region");
	cr_assert_null(guest_mem_ptr(&m, 0x1ff0, 17), "one byte past the end");
	cr_assert_null(guest_mem_ptr(&m, 0x2000, 1), "in the hole");
	cr_assert_null(guest_mem_ptr(&m, 0x1800, 0x10000), "spanning the hole");
	cr_assert_not(guest_mem_valid(&m, 0x20000, 4));
	cr_assert(guest_mem_valid(&m, 0x2000, 0), "zero length at the end is fine");
}

Test(guest_mem, overflowing_ranges_are_refused)
{
	struct guest_mem m = two_regions();
	cr_assert_null(guest_mem_ptr(&m, 0x1000, UINT64_MAX));
	cr_assert_null(guest_mem_ptr(&m, UINT64_MAX, 2));
	cr_assert_null(guest_mem_ptr(&m, UINT64_MAX - 0xfff, 0x2000));
}

Test(guest_mem, read_write_copy_and_fault)
{
	struct guest_mem m = two_regions();
	uint32_t v = 0xdeadbeef, r = 0;
	cr_assert_eq(guest_mem_write(&m, 0x10004, &v, 4), 0);
	cr_assert_eq(guest_mem_read(&m, 0x10004, &r, 4), 0);
	cr_assert_eq(r, 0xdeadbeef);
	cr_assert_eq(guest_mem_write(&m, 0x10ffe, &v, 4), -EFAULT);
	cr_assert_eq(guest_mem_read(&m, 0x3000, &r, 4), -EFAULT);
}

Test(guest_mem, regions_must_ascend_and_fit)
{
	struct guest_mem m = {0};
	cr_assert_eq(guest_mem_add_region(&m, 0x10000, low, 4096), 0);
	cr_assert_eq(guest_mem_add_region(&m, 0x10800, high, 4096), -EINVAL, "overlap");
	cr_assert_eq(guest_mem_add_region(&m, UINT64_MAX - 10, high, 4096), -EINVAL, "overflow");
	cr_assert_eq(guest_mem_add_region(&m, 0x20000, high, 0), -EINVAL, "empty");
	cr_assert_eq(guest_mem_add_region(&m, 0x20000, high, 4096), 0);
	cr_assert_eq(guest_mem_add_region(&m, 0x30000, high, 4096), -ENOSPC);
}

Test(guest_mem, alloc_places_ram_around_the_hole)
{
	struct guest_mem m;
	cr_assert_eq(guest_mem_alloc(&m, MIB(256)), 0);
	cr_assert_eq(m.nregions, 1);
	cr_assert_eq(m.regions[0].size, MIB(256));
	guest_mem_free(&m);

	cr_assert_eq(guest_mem_alloc(&m, GIB(4)), 0);
	cr_assert_eq(m.nregions, 2);
	cr_assert_eq(m.regions[0].gpa, 0);
	cr_assert_eq(m.regions[0].size, MMIO_HOLE_START);
	cr_assert_eq(m.regions[1].gpa, HIGH_RAM_START);
	cr_assert_eq(m.regions[1].size, GIB(4) - MMIO_HOLE_START);
	cr_assert_null(guest_mem_ptr(&m, MMIO_HOLE_START, 1));
	cr_assert_not_null(guest_mem_ptr(&m, HIGH_RAM_START + GIB(1) - 1, 1));
	guest_mem_free(&m);
}

/* Every region's host address is huge-page aligned, private or shared, whatever sizes came
 * before (a page-aligned mmap() would leave them wherever the kernel put them), and the slack the
 * alignment reserved is given back: the pages around a region are not mapped. */
Test(guest_mem, regions_start_at_huge_page_aligned_host_addresses)
{
	struct guest_mem m;
	void *gap = mmap(NULL, 12288, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(gap, MAP_FAILED);
	for (int shared = 0; shared < 2; shared++) {
		int r = shared ? guest_mem_alloc_shared(&m, GIB(4) + MIB(3))
			       : guest_mem_alloc(&m, MIB(6) + KIB(4));
		cr_assert_eq(r, 0);
		for (int i = 0; i < m.nregions; i++) {
			uintptr_t h = (uintptr_t)m.regions[i].host;
			cr_assert_eq(h % GUEST_MEM_HOST_ALIGN, 0, "region %d at %#lx", i,
				     (unsigned long)h);
			cr_assert_eq(msync((void *)(h - 4096), 4096, MS_ASYNC), -1,
				     "the page before region %d is still mapped", i);
			cr_assert_eq(errno, ENOMEM);
			cr_assert_eq(msync((void *)(h + m.regions[i].size), 4096, MS_ASYNC), -1,
				     "the page after region %d is still mapped", i);
		}
		m.regions[0].host[m.regions[0].size - 1] = 1; /* the last byte is guest RAM */
		guest_mem_free(&m);
	}
	munmap(gap, 12288);
}

/* layout_ram_ranges() (base/layout.h): x86's split, the hole's edge exactly, and the ranges end
 * where layout_ram_end() says. */
Test(guest_mem, layout_ram_ranges_split_around_the_hole)
{
	struct layout_range r[LAYOUT_RAM_RANGES_MAX];
	cr_assert_eq(layout_ram_ranges(MIB(256), r), 1);
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].size, MIB(256));
	cr_assert_eq(layout_ram_ranges(MMIO_HOLE_START, r), 1);
	cr_assert_eq(r[0].size, MMIO_HOLE_START);
	cr_assert_eq(layout_ram_ranges(GIB(5), r), 2);
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].size, MMIO_HOLE_START);
	cr_assert_eq(r[1].start, HIGH_RAM_START);
	cr_assert_eq(r[1].size, GIB(5) - MMIO_HOLE_START);
	cr_assert_eq(r[1].start + r[1].size, layout_ram_end(GIB(5)));
}

Test(guest_mem, alloc_rejects_bad_sizes)
{
	struct guest_mem m;
	cr_assert_eq(guest_mem_alloc(&m, 0), -EINVAL);
	cr_assert_eq(guest_mem_alloc(&m, MIB(1) + 1), -EINVAL);
	cr_assert_eq(guest_mem_alloc(&m, GUEST_RAM_MAX + KIB(4)), -EINVAL);
}

Test(guest_mem, hugepages_are_advised_for_every_region)
{
	struct guest_mem m;
	cr_assert_eq(guest_mem_alloc(&m, GIB(4)), 0);
	cr_assert_eq(guest_mem_advise_hugepages(&m), 0);
	guest_mem_free(&m);
	struct guest_mem fake = {0};
	static uint8_t buf[8192];
	cr_assert_eq(guest_mem_add_region(&fake, 0, buf + 1, 4096), 0);
	cr_assert_neq(guest_mem_advise_hugepages(&fake), 0, "unaligned host memory is refused");
}

/* Dirty tracking of the VMM's own writes (diff snapshots): page i of RAM in region order. */
Test(guest_mem, dirty_pages_of_the_vmm_writes)
{
	struct guest_mem m = {0};
	static uint8_t low[8 * 4096], high[4 * 4096];
	uint64_t bitmap[1] = {0};
	cr_assert_eq(guest_mem_add_region(&m, 0, low, sizeof(low)), 0);
	cr_assert_eq(guest_mem_add_region(&m, 1ull << 32, high, sizeof(high)), 0);
	guest_mem_mark_dirty(&m, 0, 1); /* not tracking yet: nothing */
	cr_assert_eq(guest_mem_dirty_start(&m), 0);
	cr_assert_eq(guest_mem_dirty_words(&m), 1);
	cr_assert_eq(guest_mem_write(&m, 4096 + 10, "x", 1), 0);
	guest_mem_mark_dirty(&m, 3 * 4096 - 1, 2);	  /* spans pages 2 and 3 */
	guest_mem_mark_dirty(&m, (1ull << 32) + 4096, 1); /* page 1 of region 1 = page 9 */
	guest_mem_mark_dirty(&m, 100ull << 32, 1);	  /* not RAM: ignored */
	guest_mem_dirty_take(&m, bitmap);
	cr_assert_eq(bitmap[0], (1ull << 1) | (1ull << 2) | (1ull << 3) | (1ull << 9), "0x%llx",
		     (unsigned long long)bitmap[0]);
	bitmap[0] = 0;
	guest_mem_dirty_take(&m, bitmap);
	cr_assert_eq(bitmap[0], 0, "taking clears");
	free(m.dirty);
}

/* ---- guest_mem_discard (virtio-balloon) ---- */

/* 16 pages of anonymous RAM at 1 MiB, then 16 more above a hole at 4 MiB. */
static struct guest_mem discard_ram(void)
{
	struct guest_mem m = {0};
	cr_assert_eq(guest_mem_alloc(&m, 32 * 4096), 0); /* allocates the mapping */
	uint8_t *host = m.regions[0].host;
	m.nregions = 0;
	m.ram_size = 0;
	m.owned = false;
	cr_assert_eq(guest_mem_add_region(&m, 0x100000, host, 16 * 4096), 0);
	cr_assert_eq(guest_mem_add_region(&m, 0x400000, host + 16 * 4096, 16 * 4096), 0);
	memset(host, 0xaa, 32 * 4096);
	return m;
}

static void discard_ram_free(struct guest_mem *m)
{
	munmap(m->regions[0].host, 32 * 4096);
	free(m->dirty);
}

Test(guest_mem, discard_releases_whole_pages_only)
{
	struct guest_mem m = discard_ram();
	uint8_t *p = guest_mem_ptr(&m, 0x100000, 16 * 4096);

	cr_assert_eq(guest_mem_discard(&m, 0x101000, 4096), 4096);
	cr_assert_eq(p[0x0fff], 0xaa, "the page before is kept");
	cr_assert_eq(p[0x1000], 0, "the page reads zeros again");
	cr_assert_eq(p[0x1fff], 0);
	cr_assert_eq(p[0x2000], 0xaa, "the page after is kept");
	/* An unaligned range releases only the whole pages inside it. */
	cr_assert_eq(guest_mem_discard(&m, 0x103800, 0x2000), 4096);
	cr_assert_eq(p[0x37ff], 0xaa);
	cr_assert_eq(p[0x4000], 0);
	cr_assert_eq(p[0x5000], 0xaa);
	cr_assert_eq(guest_mem_discard(&m, 0x106010, 0xff0), 0, "no whole page");
	cr_assert_eq(p[0x6010], 0xaa);
	discard_ram_free(&m);
}

Test(guest_mem, discard_refuses_what_is_not_ram)
{
	struct guest_mem m = discard_ram();
	uint8_t *p = guest_mem_ptr(&m, 0x100000, 16 * 4096);

	cr_assert_eq(guest_mem_discard(&m, 0xff000, 4096), -EFAULT, "below RAM");
	cr_assert_eq(guest_mem_discard(&m, 0x10f000, 0x2000), -EFAULT, "into the hole");
	cr_assert_eq(guest_mem_discard(&m, 0x200000, 4096), -EFAULT, "in the hole");
	cr_assert_eq(guest_mem_discard(&m, 0x410000, 4096), -EFAULT, "past the end");
	cr_assert_eq(guest_mem_discard(&m, UINT64_MAX - 4095, 4096), -EFAULT, "wraps");
	cr_assert_eq(guest_mem_discard(&m, 0x100000, UINT64_MAX), -EFAULT, "overflows");
	cr_assert_eq(p[0xf000], 0xaa, "nothing released");
	discard_ram_free(&m);
}

Test(guest_mem, discard_marks_pages_dirty_and_indexes_pages)
{
	struct guest_mem m = discard_ram();
	uint64_t bits[1] = {0}, idx = 0;

	cr_assert_eq(guest_mem_dirty_start(&m), 0);
	cr_assert_eq(guest_mem_discard(&m, 0x401000, 0x2000), 0x2000);
	guest_mem_dirty_take(&m, bits);
	cr_assert_eq(bits[0], 3ull << 17, "pages 17 and 18 in region order");
	cr_assert_eq(guest_mem_page_index(&m, 0x100fff, &idx), 0);
	cr_assert_eq(idx, 0);
	cr_assert_eq(guest_mem_page_index(&m, 0x40f000, &idx), 0);
	cr_assert_eq(idx, 31);
	cr_assert_eq(guest_mem_page_index(&m, 0x110000, &idx), -EFAULT);
	discard_ram_free(&m);
}

Test(guest_mem, discard_punches_shared_memory)
{
	struct guest_mem m = {0};
	int fd = memfd_create("ram", 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4 * 4096), 0);
	uint8_t *host = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(host, MAP_FAILED);
	cr_assert_eq(guest_mem_add_region(&m, 0, host, 4 * 4096), 0);
	m.shared = true;
	memset(host, 0x55, 4 * 4096);
	cr_assert_eq(guest_mem_discard(&m, 4096, 4096), 4096);
	uint8_t b = 0xff;
	cr_assert_eq(pread(fd, &b, 1, 4096), 1);
	cr_assert_eq(b, 0, "the file's page was punched out");
	cr_assert_eq(pread(fd, &b, 1, 0), 1);
	cr_assert_eq(b, 0x55);
	munmap(host, 4 * 4096);
	close(fd);
}

/* guest_mem_alloc_shared(): one memfd behind both regions, offsets in region order, and a second
 * mapping of the fd (what a vhost-user backend makes) sees the guest's bytes. */
Test(guest_mem, alloc_shared_is_one_memfd_another_process_can_map)
{
	struct guest_mem m;
	cr_assert_eq(guest_mem_alloc_shared(&m, GIB(4)), 0);
	cr_assert(m.shared);
	cr_assert_eq(m.nregions, 2);
	int fd = m.regions[0].fd;
	cr_assert_geq(fd, 0);
	cr_assert_eq(m.regions[1].fd, fd);
	cr_assert_eq(m.regions[0].fd_offset, 0);
	cr_assert_eq(m.regions[1].fd_offset, m.regions[0].size);

	uint32_t v = 0x5a5aa5a5;
	cr_assert_eq(guest_mem_write(&m, HIGH_RAM_START + 8, &v, 4), 0);
	uint8_t *other = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)m.regions[1].fd_offset);
	cr_assert_neq(other, MAP_FAILED);
	cr_assert_eq(*(uint32_t *)(other + 8), v);
	munmap(other, 4096);
	guest_mem_free(&m);
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "guest_mem_free() closed the memfd");
}

Test(guest_mem, private_regions_have_no_fd)
{
	struct guest_mem m = two_regions();
	cr_assert_eq(m.regions[0].fd, -1);
	struct guest_mem a;
	cr_assert_eq(guest_mem_alloc(&a, MIB(16)), 0);
	cr_assert_eq(a.regions[0].fd, -1);
	cr_assert_not(a.shared);
	guest_mem_free(&a);
	cr_assert_eq(guest_mem_alloc_shared(&a, 12345), -EINVAL);
	cr_assert_eq(guest_mem_alloc_shared(&a, 0), -EINVAL);
}

/* A memfd's holes are zero pages found without touching them (migration's zero pages); written
 * pages are data extents; a private region has no file to ask. */
Test(guest_mem, memfd_holes_are_zero_pages_found_untouched)
{
	struct guest_mem m;
	cr_assert_eq(guest_mem_alloc_shared(&m, MIB(16)), 0);
	const struct guest_region *r = &m.regions[0];
	bool hole = false;
	cr_assert_eq(guest_region_extent(r, 0, 4096, &hole), 4096, "all hole");
	cr_assert(hole);
	uint8_t one = 1, zero = 0;
	cr_assert_eq(guest_mem_write(&m, 5 * 4096 + 7, &one, 1), 0);
	cr_assert_eq(guest_mem_write(&m, 6 * 4096, &zero, 1), 0); /* data, though all zeros */
	cr_assert_eq(guest_region_extent(r, 0, 100, &hole), 5);
	cr_assert(hole);
	cr_assert_eq(guest_region_extent(r, 5 * 4096, 100, &hole), 2, "pages 5 and 6");
	cr_assert_not(hole);
	cr_assert_eq(guest_region_extent(r, 7 * 4096, 3, &hole), 3, "bounded by max");
	cr_assert(hole);
	/* a long data run: at most 256 pages a call (not walked to its end), bounded by max */
	for (uint32_t i = 20; i < 420; i++)
		cr_assert_eq(guest_mem_write(&m, (uint64_t)i * 4096, &one, 1), 0);
	cr_assert_eq(guest_region_extent(r, 20 * 4096, 1000, &hole), 256);
	cr_assert_not(hole);
	cr_assert_eq(guest_region_extent(r, 400 * 4096, 1000, &hole), 20, "pages 400-419");
	cr_assert_not(hole);
	cr_assert_eq(guest_region_extent(r, 30 * 4096, 7, &hole), 7);
	cr_assert_eq(guest_region_extent(r, 419 * 4096, 1000, &hole), 1, "the last data page");
	cr_assert_eq(guest_region_extent(r, 420 * 4096, 1000, &hole), 1000, "then a hole");
	cr_assert(hole);

	struct guest_zero_scan z = {.r = r};
	bool want[10] = {true, true, true, true, true, false, true, true, true, true};
	for (uint32_t i = 0; i < 10; i++)
		cr_assert_eq(guest_zero_scan_page(&z, (uint64_t)i * 4096, 10 - i), want[i],
			     "page %u", i);
	cr_assert_eq(guest_region_extent(r, 0, 0, &hole), 0);
	guest_mem_free(&m);

	struct guest_mem p;
	cr_assert_eq(guest_mem_alloc(&p, MIB(16)), 0);
	cr_assert_eq(guest_region_extent(&p.regions[0], 0, 10, &hole), 0, "no file");
	struct guest_zero_scan zp = {.r = &p.regions[0]};
	p.regions[0].host[4096] = 3;
	cr_assert(guest_zero_scan_page(&zp, 0, 2));
	cr_assert_not(guest_zero_scan_page(&zp, 4096, 1));
	guest_mem_free(&p);
}

/* A temporary memory file of `size` bytes holding `v` at each offset of `at` (holes elsewhere). */
static int memory_file(uint64_t size, const uint64_t *at, int n, uint32_t v)
{
	char path[] = "/tmp/guest_mem_load.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(pwrite(fd, &v, 4, (off_t)at[i]), 4);
	return fd;
}

/* guest_mem_load_shared(): a restore's RAM in one memfd (a fork, a vhost-user back-end), with the
 * file's bytes in region order, its holes left unwritten, and the file never written. */
Test(guest_mem, load_shared_fills_one_memfd_from_the_file)
{
	uint64_t ram = MMIO_HOLE_START + MIB(4), at[] = {8, MIB(3), MMIO_HOLE_START + 16};
	int fd = memory_file(ram + MIB(1), at, 3, 0xc0ffee11);
	struct guest_mem m;
	cr_assert_eq(guest_mem_load_shared(&m, ram, fd), 0);
	cr_assert(m.shared);
	cr_assert_eq(m.nregions, 2);
	cr_assert_geq(m.regions[0].fd, 0);
	uint32_t v = 0, z = 1;
	cr_assert_eq(guest_mem_read(&m, 8, &v, 4), 0);
	cr_assert_eq(v, 0xc0ffee11);
	cr_assert_eq(guest_mem_read(&m, MIB(3), &v, 4), 0);
	cr_assert_eq(v, 0xc0ffee11);
	cr_assert_eq(guest_mem_read(&m, HIGH_RAM_START + 16, &v, 4), 0, "region 1 from offset low");
	cr_assert_eq(v, 0xc0ffee11);
	cr_assert_eq(guest_mem_read(&m, MIB(2), &z, 4), 0);
	cr_assert_eq(z, 0, "a hole reads zeros");
	uint32_t w = 7;
	cr_assert_eq(guest_mem_write(&m, 8, &w, 4), 0);
	cr_assert_eq(pread(fd, &v, 4, 8), 4);
	cr_assert_eq(v, 0xc0ffee11, "the memory file is only read");
	guest_mem_free(&m);
	close(fd);
}

Test(guest_mem, load_shared_refuses_short_files_and_bad_sizes)
{
	uint64_t at[] = {0};
	int fd = memory_file(MIB(2), at, 1, 1);
	struct guest_mem m;
	cr_assert_eq(guest_mem_load_shared(&m, MIB(4), fd), -EINVAL, "fewer bytes than RAM");
	cr_assert_eq(guest_mem_load_shared(&m, 12345, fd), -EINVAL);
	cr_assert_eq(guest_mem_load_shared(&m, MIB(2), -1), -EINVAL);
	cr_assert_eq(guest_mem_load_shared(&m, MIB(2), fd), 0);
	guest_mem_free(&m);
	close(fd);
}
