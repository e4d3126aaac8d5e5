/* The working-set file (vmm/snapshot/working_set.h): its parser on good and bad files, the
 * identity check, writing and reading it back, recording from /proc/self/pagemap and loading
 * into a mapping. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "vmm/snapshot/working_set.h"

static char err[WORKING_SET_ERR_MAX];

#define HEAD "vmm-working-set 1\nmem_size 1048576\nstate_crc32 0x0badcafe\n"

static int parse(const char *text, struct working_set *ws, struct ws_identity *id)
{
	err[0] = '\0';
	return working_set_parse(text, strlen(text), ws, id, err, sizeof(err));
}

Test(working_set, parses_a_good_file)
{
	struct working_set ws;
	struct ws_identity id;
	cr_assert_eq(parse(HEAD "pages 22\nranges 3\n0 16\n0x20 5\n37 1 w\n", &ws, &id), 0, "%s",
		     err);
	cr_assert_eq(id.mem_size, 1048576);
	cr_assert_eq(id.state_crc32, 0x0badcafe);
	cr_assert_eq(ws.n, 3);
	cr_assert_eq(ws.ranges[1].first, 32);
	cr_assert_eq(ws.ranges[1].count, 5);
	cr_assert(!ws.ranges[1].written);
	cr_assert(ws.ranges[2].written);
	cr_assert_eq(ws.pages, 22);
	working_set_free(&ws);
}

Test(working_set, refuses_bad_files_with_the_line)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "line 1: not a working-set file"},
	    {"vmm-working-set 2\n", "line 1: not a working-set file"},
	    {"vmm-working-set 1\nmem_size x\n", "line 2: expected `mem_size NUMBER`"},
	    {"vmm-working-set 1\nmem_size 1000\nstate_crc32 0\npages 0\nranges 0\n",
	     "whole number of 4 KiB pages"},
	    {HEAD "pages 1\nranges 1\n", "line 6: expected `FIRST COUNT`"},
	    {HEAD "pages 1\nranges 1\n256 1\n", "outside the 256 pages"},
	    {HEAD "pages 1\nranges 1\n255 2\n", "outside the 256 pages"},
	    {HEAD "pages 0\nranges 1\n3 0\n", "are empty"},
	    {HEAD "pages 2\nranges 2\n4 1\n2 1\n", "not sorted"},
	    {HEAD "pages 2\nranges 2\n4 1\n5 1\n", "touching"},
	    {HEAD "pages 2\nranges 2\n4 1 w\n5 1 w\n", "touching"},
	    {HEAD "pages 1\nranges 1\n4 1 x\n", "`FIRST COUNT w`"},
	    {HEAD "pages 1\nranges 1\n4 1 w \n", "`FIRST COUNT w`"},
	    {HEAD "pages 3\nranges 1\n4 1\n", "hold 1 pages, not 3"},
	    {HEAD "pages 1\nranges 1\n4 1\nmore\n", "line 7: more after"},
	    {HEAD "pages 1\nranges 1\n4 1", "line 6: expected `FIRST COUNT`"},
	    {HEAD "pages 1\nranges 1\n4  1\n", "two numbers"},
	    {HEAD "pages 1\nranges 1\n99999999999999999999999 1\n", "two numbers"},
	    {HEAD "pages 0\nranges 99999999\n", "at most"},
	    {"vmm-working-set 1\nmem_size 4096\nstate_crc32 0x100000000\n", "32 bits"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct working_set ws;
		struct ws_identity id;
		cr_assert_eq(parse(bad[i].text, &ws, &id), -EINVAL, "accepted: %s", bad[i].text);
		cr_assert(strstr(err, bad[i].why), "%zu: `%s` lacks `%s`", i, err, bad[i].why);
		cr_assert_null(ws.ranges);
	}
}

Test(working_set, adds_merge_and_refuse_disorder)
{
	struct working_set ws = {0};
	cr_assert_eq(working_set_add(&ws, 0, 2, false), 0);
	cr_assert_eq(working_set_add(&ws, 2, 3, false), 0);
	cr_assert_eq(working_set_add(&ws, 5, 1, true), 0); /* touching, another kind */
	cr_assert_eq(working_set_add(&ws, 10, 1, false), 0);
	cr_assert_eq(working_set_add(&ws, 9, 1, false), -EINVAL);
	cr_assert_eq(ws.n, 3);
	cr_assert_eq(ws.ranges[0].count, 5);
	cr_assert(ws.ranges[1].written);
	cr_assert_eq(ws.pages, 7);
	working_set_free(&ws);
}

Test(working_set, a_mismatch_is_refused_by_name)
{
	struct ws_identity a = {1 << 20, 1}, b = {1 << 20, 2};
	cr_assert_eq(working_set_check("/s/state.working-set", &a, &a, err, sizeof(err)), 0);
	cr_assert_eq(working_set_check("/s/state.working-set", &a, &b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "working set /s/state.working-set does not match this snapshot"),
		  "%s", err);
}

Test(working_set, writes_and_reads_back)
{
	char dir[] = "/tmp/ws-test-XXXXXX", path[64];
	struct working_set ws = {0}, back;
	struct ws_identity id = {1 << 20, 0x1234};
	struct ws_identity other = {2 << 20, 0x1234};

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state" WORKING_SET_SUFFIX, dir);
	cr_assert_eq(working_set_read(path, &id, &back, err, sizeof(err)), -ENOENT);
	working_set_add(&ws, 1, 3, false);
	working_set_add(&ws, 100, 7, true);
	cr_assert_eq(working_set_write(path, &ws, &id, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(working_set_read(path, &id, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.n, 2);
	cr_assert_eq(back.pages, 10);
	cr_assert_eq(back.ranges[1].first, 100);
	cr_assert(back.ranges[1].written);
	cr_assert(!back.ranges[0].written);
	working_set_free(&back);
	cr_assert_eq(working_set_read(path, &other, &back, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "does not match this snapshot"), "%s", err);
	working_set_free(&ws);
	unlink(path);
	rmdir(dir);
}

/* A file of 64 pages mapped privately as two RAM regions (32 pages each), as a restore maps
 * its memory file. */
static void map_two_regions(struct guest_mem *mem, int *fd)
{
	char path[] = "/tmp/ws-mem-XXXXXX";
	*fd = mkstemp(path);
	cr_assert_geq(*fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(*fd, 64 * 4096), 0);
	uint8_t *p = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, *fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	madvise(p, 64 * 4096, MADV_RANDOM); /* no fault-around: only the pages touched */
	*mem = (struct guest_mem){.nregions = 2, .ram_size = 64 * 4096};
	mem->regions[0] = (struct guest_region){.gpa = 0, .size = 32 * 4096, .host = p, .fd = -1};
	mem->regions[1] = (struct guest_region){
	    .gpa = 1ull << 32, .size = 32 * 4096, .host = p + 32 * 4096, .fd = -1};
}

Test(working_set, records_the_pages_mapped_and_loads_them)
{
	struct guest_mem mem;
	struct working_set ws, back;
	int fd, pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(pm, 0);
	map_two_regions(&mem, &fd);

	cr_assert_eq(working_set_from_pagemap(pm, &mem, true, &ws, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ws.pages, 0, "nothing touched yet, %lu pages mapped", (unsigned long)ws.pages);
	const volatile uint8_t *p = mem.regions[0].host;
	(void)p[3 * 4096], (void)p[4 * 4096], (void)p[31 * 4096], (void)p[32 * 4096];
	((volatile uint8_t *)p)[40 * 4096] = 1;
	cr_assert_eq(working_set_from_pagemap(pm, &mem, true, &ws, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ws.n, 3);
	cr_assert_eq(ws.ranges[0].first, 3);
	cr_assert_eq(ws.ranges[0].count, 2);
	cr_assert_eq(ws.ranges[1].first, 31); /* across the two regions, as in the file */
	cr_assert_eq(ws.ranges[1].count, 2);
	cr_assert_eq(ws.ranges[2].first, 40);
	cr_assert(ws.ranges[2].written, "page 40 was written: a private copy now");
	cr_assert(!ws.ranges[0].written);

	/* a fresh mapping of the file: loading the list maps exactly those pages */
	struct guest_mem fresh;
	int fd2;
	map_two_regions(&fresh, &fd2);
	cr_assert_eq(working_set_prefault(&fresh, &ws, false), 5);
	cr_assert_eq(working_set_from_pagemap(pm, &fresh, true, &back, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(back.pages, 5);
	cr_assert_eq(back.n, 3);
	cr_assert(back.ranges[2].written, "loaded as a copy (MADV_POPULATE_WRITE)");
	cr_assert_eq(mem.regions[0].host[40 * 4096], 1);
	cr_assert_eq(fresh.regions[0].host[40 * 4096], 0, "the file is unchanged");
	working_set_free(&back);
	working_set_free(&ws);
	close(pm);
	close(fd);
	close(fd2);
}

/* The loader's order (from the end) loads the same pages, and a stop set before it loads none. */
Test(working_set, loads_from_the_end_until_stopped)
{
	struct guest_mem mem;
	int fd, pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(pm, 0);
	map_two_regions(&mem, &fd);
	struct ws_range r[] = {{3, 2, false}, {31, 2, false}, {40, 1, true}};
	struct working_set ws = {.ranges = r, .n = 3, .pages = 5}, back;
	atomic_bool stop = true;

	cr_assert(!working_set_cached(&mem, &ws), "holes: nothing in the page cache");
	static const uint8_t one = 1;
	for (size_t i = 0; i < ws.n; i++)
		for (uint64_t pg = r[i].first; pg < r[i].first + r[i].count; pg++)
			cr_assert_eq(pwrite(fd, &one, 1, (off_t)(pg * 4096)), 1);
	cr_assert(working_set_cached(&mem, &ws), "written: in the page cache");
	cr_assert_eq(working_set_prefault_from_end(&mem, &ws, false, &stop), 0, "stopped: nothing");
	atomic_store(&stop, false);
	cr_assert_eq(working_set_prefault_from_end(&mem, &ws, false, &stop), 5);
	cr_assert_eq(working_set_from_pagemap(pm, &mem, true, &back, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(back.pages, 5);
	cr_assert_eq(back.n, 3);
	cr_assert_eq(back.ranges[1].first, 31, "across the two regions");
	cr_assert(back.ranges[2].written);
	working_set_free(&back);
	close(pm);
	close(fd);
}

/* A file evicted from the page cache (written, synced, POSIX_FADV_DONTNEED): the list's pages
 * come back in by working_set_readahead() alone (queued reads, waited for here). */
Test(working_set, readahead_brings_an_evicted_list_in)
{
	struct guest_mem mem;
	int fd;
	map_two_regions(&mem, &fd);
	struct ws_range r[] = {{3, 2, false}, {31, 2, false}, {40, 1, true}};
	struct working_set ws = {.ranges = r, .n = 3, .pages = 5};
	static uint8_t page[4096] = {1};
	for (uint64_t pg = 0; pg < 64; pg++)
		cr_assert_eq(pwrite(fd, page, sizeof(page), (off_t)(pg * 4096)), 4096);
	cr_assert_eq(fsync(fd), 0);
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	if (working_set_cached(&mem, &ws)) /* tmpfs: its pages are never evicted */
		cr_skip_test("this file system keeps the file's pages in memory");
	working_set_readahead(&mem, &ws);
	bool cached = false;
	for (int i = 0; i < 500 && !(cached = working_set_cached(&mem, &ws)); i++)
		usleep(10000);
	cr_assert(cached, "the list's pages not in the page cache 5 s after the readahead");
	close(fd);
}

/* The written chunks as huge private copies: a 6 MiB file mapped 2 MiB aligned as two regions
 * (4 + 2 MiB). Chunk 0: 400 of 512 pages written in the list, copied; chunk 1: 383, left;
 * chunk 2 (the second region): all written, but "the VMM" wrote one of its pages since the
 * mapping, left. Then chunk 1 at the bar and chunk 2 mapped afresh: both copied, chunk 0 not
 * again. A copy holds the file's bytes, is no longer the file's (a write stays private) and
 * the file is unchanged. */
Test(working_set, copies_mostly_written_chunks_huge)
{
	const uint64_t mib2 = 2ull << 20, pages = 512;
	char path[] = "/tmp/ws-huge-XXXXXX";
	int fd = mkstemp(path), pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_geq(pm, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)(3 * mib2)), 0);
	for (uint64_t c = 0; c < 3; c++) {
		uint8_t mark = (uint8_t)(0x40 + c);
		cr_assert_eq(pwrite(fd, &mark, 1, (off_t)(c * mib2 + 4096)), 1);
	}
	uint8_t *area = mmap(NULL, 4 * mib2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(area, MAP_FAILED);
	uint8_t *p = (uint8_t *)(((uintptr_t)area + mib2 - 1) & ~(mib2 - 1));
	cr_assert_neq(mmap(p, 3 * mib2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0),
		      MAP_FAILED);
	struct guest_mem mem = {.nregions = 2, .ram_size = 3 * mib2};
	mem.regions[0] = (struct guest_region){.gpa = 0, .size = 2 * mib2, .host = p, .fd = -1};
	mem.regions[1] =
	    (struct guest_region){.gpa = 1ull << 32, .size = mib2, .host = p + 2 * mib2, .fd = -1};
	struct ws_range r[] = {{0, 300, true},
			       {300, 100, true},
			       {400, 50, false},
			       {pages, 383, true},
			       {2 * pages, pages, true}};
	struct working_set ws = {.ranges = r, .n = 5, .pages = 1333};

	p[2 * mib2 + 8192] = 7; /* "the VMM" writes the second region's chunk */
	cr_assert_eq(working_set_copy_huge(&mem, &ws, fd, pm), (int64_t)pages,
		     "chunk 0 only: chunk 1 is below the bar, region 1's chunk was written");
	ws.ranges[3].count = 384; /* chunk 1 now at the bar */
	munmap(p + 2 * mib2, mib2);
	cr_assert_neq(mmap(p + 2 * mib2, mib2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
			   (off_t)(2 * mib2)),
		      MAP_FAILED);
	cr_assert_eq(working_set_copy_huge(&mem, &ws, fd, pm), (int64_t)(2 * pages),
		     "chunks 1 and 2; chunk 0 is private already, not copied again");
	for (uint64_t c = 0; c < 3; c++)
		cr_assert_eq(p[c * mib2 + 4096], 0x40 + c, "chunk %lu holds the file's bytes",
			     (unsigned long)c);
	struct working_set back;
	cr_assert_eq(working_set_from_pagemap(pm, &mem, true, &back, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(back.pages, 3 * pages, "every page of the three chunks is mapped");
	cr_assert(back.n == 1 && back.ranges[0].written, "and private: no longer the file's");
	p[4096] = 9;
	uint8_t in_file = 0;
	cr_assert_eq(pread(fd, &in_file, 1, 4096), 1);
	cr_assert_eq(in_file, 0x40, "the file is unchanged");
	working_set_free(&back);
	munmap(area, 4 * mib2);
	close(pm);
	close(fd);
}

Test(working_set, modes)
{
	enum ws_mode m;
	cr_assert_eq(working_set_mode("record", &m), 0);
	cr_assert_eq(m, WS_RECORD);
	cr_assert_eq(working_set_mode("off", &m), 0);
	cr_assert_eq(m, WS_OFF);
	cr_assert_eq(working_set_mode("Load", &m), -EINVAL);
}
