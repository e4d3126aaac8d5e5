/* A working set against guest RAM: recorded from /proc/self/pagemap, loaded in bulk, and its
 * file read and written. See working_set.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "base/host_path.h"
#include "vmm/snapshot/format/snap_file.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/working_set.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE	      (1ull << WORKING_SET_PAGE_SHIFT)
#define PM_PRESENT    (1ull << 63)
#define PM_SWAPPED    (1ull << 62)
#define PM_FILE	      (1ull << 61) /* a file page (or shared anonymous): not copied on write */
#define PAGEMAP_BATCH 4096	   /* entries read at a time: 32 KiB, 16 MiB of guest RAM */

struct ws_identity working_set_identity(const void *state, size_t len, uint64_t mem_size)
{
	return (struct ws_identity){.mem_size = mem_size, .state_crc32 = snap_crc32(state, len)};
}

int working_set_read(const char *path, const struct ws_identity *snap, struct working_set *ws,
		     char *err, size_t errlen)
{
	char *text, why[WORKING_SET_ERR_MAX];
	size_t len;
	struct ws_identity id;

	*ws = (struct working_set){0};
	int r = host_path_read(path, WORKING_SET_MAX_BYTES, &text, &len, err, errlen);
	if (r)
		return r;
	r = working_set_parse(text, len, ws, &id, why, sizeof(why));
	free(text);
	if (r) {
		snprintf(err, errlen, "working set %s: %s", path, why);
		return r;
	}
	r = working_set_check(path, &id, snap, err, errlen);
	if (r)
		working_set_free(ws);
	return r;
}

int working_set_write(const char *path, const struct working_set *ws, const struct ws_identity *id,
		      char *err, size_t errlen)
{
	char *text, *tmp = snap_tmp_path(path);
	size_t len;

	if (!tmp || working_set_format(ws, id, &text, &len)) {
		free(tmp);
		snprintf(err, errlen, "working set %s: out of memory", path);
		return -ENOMEM;
	}
	int fd = snap_create_tmp(tmp, err, errlen);
	int r = fd < 0 ? fd : snap_pwrite_all(fd, text, len, 0);
	if (fd >= 0)
		close(fd);
	free(text);
	if (r && fd >= 0)
		snprintf(err, errlen, "working set %s: %s", path, strerror(-r));
	return snap_commit_tmp(tmp, path, r, err, errlen);
}

/* The mapped pages of one region (its first page is page `base` of the memory file). */
static int region_pages(int fd, const struct guest_region *g, uint64_t base, bool file_backed,
			struct working_set *ws)
{
	uint64_t pm[PAGEMAP_BATCH]; /* 32 KiB of the calling thread's stack */
	uint64_t pages = g->size / PAGE, first = 0, run = 0;
	bool run_written = false;

	for (uint64_t at = 0; at < pages;) {
		uint64_t n = pages - at < PAGEMAP_BATCH ? pages - at : PAGEMAP_BATCH;
		uint64_t off = ((uintptr_t)g->host / PAGE + at) * sizeof(uint64_t);
		int r = snap_pread_all(fd, pm, n * sizeof(uint64_t), off);
		if (r)
			return r;
		for (uint64_t i = 0; i < n; i++, at++) {
			if (!(pm[i] & (PM_PRESENT | PM_SWAPPED)))
				continue;
			bool written = file_backed && !(pm[i] & PM_FILE);
			if (run && first + run == base + at && written == run_written) {
				run++;
				continue;
			}
			if (run && (r = working_set_add(ws, first, run, run_written)))
				return r;
			first = base + at;
			run = 1;
			run_written = written;
		}
	}
	return run ? working_set_add(ws, first, run, run_written) : 0;
}

int working_set_from_pagemap(int pagemap_fd, const struct guest_mem *mem, bool file_backed,
			     struct working_set *ws, char *err, size_t errlen)
{
	uint64_t base = 0;

	*ws = (struct working_set){0};
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *g = &mem->regions[i];
		int r = region_pages(pagemap_fd, g, base, file_backed, ws);
		if (r) {
			snprintf(err, errlen, "reading /proc/self/pagemap: %s", strerror(-r));
			working_set_free(ws);
			return r;
		}
		base += g->size / PAGE;
	}
	return 0;
}

/* The part [*a, *b) of range `r` inside pages [base, end) (memory-file numbering); empty when
 * *a >= *b. */
static void clip(const struct ws_range *r, uint64_t base, uint64_t end, uint64_t *a, uint64_t *b)
{
	*a = r->first < base ? base : r->first;
	*b = r->first + r->count > end ? end : r->first + r->count;
}

/* Reads one byte of each page: a page-fault handler serves each (in order). */
static void touch(const uint8_t *p, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += PAGE)
		(void)*(const volatile uint8_t *)(p + o);
}

/* Pages [first, first+count) of RAM region `g` (relative to it) in. */
static int load_span(const struct guest_region *g, uint64_t first, uint64_t count, bool by_touch,
		     bool written)
{
	uint8_t *p = g->host + first * PAGE;
	uint64_t len = count * PAGE;

	if (!by_touch && !madvise(p, len, written ? MADV_POPULATE_WRITE : MADV_POPULATE_READ))
		return 0;
	if (!by_touch && errno != EINVAL) /* EINVAL: a kernel before 5.14; touch instead */
		return -errno;
	touch(p, len);
	return 0;
}

/* Pages at most per load_span() call: a stop is seen within one such chunk. */
#define PREFAULT_CHUNK 1024

/* Pages [a, b) (memory-file numbering) of range `r` inside region `g` (its first page is `base`),
 * in chunks, from the end with `backward`. Returns the pages loaded or -errno. */
static int64_t load_part(const struct guest_region *g, uint64_t base, uint64_t a, uint64_t b,
			 const struct ws_range *r, bool by_touch, bool backward,
			 const atomic_bool *stop)
{
	int64_t loaded = 0;
	for (uint64_t done = 0; a + done < b; done += PREFAULT_CHUNK) {
		if (stop && atomic_load(stop))
			break;
		uint64_t n = b - a - done < PREFAULT_CHUNK ? b - a - done : PREFAULT_CHUNK;
		uint64_t c = backward ? b - done - n : a + done;
		int err = load_span(g, c - base, n, by_touch, r->written);
		if (err)
			return err;
		loaded += (int64_t)n;
	}
	return loaded;
}

static int64_t prefault(const struct guest_mem *mem, const struct working_set *ws, bool by_touch,
			bool backward, const atomic_bool *stop)
{
	int64_t loaded = 0;

	for (size_t i = 0; i < ws->n; i++) {
		const struct ws_range *r = &ws->ranges[backward ? ws->n - 1 - i : i];
		uint64_t base = 0;
		for (int j = 0; j < mem->nregions; j++) {
			const struct guest_region *g = &mem->regions[j];
			uint64_t end = base + g->size / PAGE;
			uint64_t a, b;
			clip(r, base, end, &a, &b);
			int64_t n =
			    a < b ? load_part(g, base, a, b, r, by_touch, backward, stop) : 0;
			if (n < 0)
				return n;
			loaded += n;
			base = end;
		}
		if (stop && atomic_load(stop))
			break;
	}
	return loaded;
}

/* Pages of [p, p + pages * PAGE) of a file mapping all in the page cache (mincore()). */
static bool span_cached(uint8_t *p, uint64_t pages)
{
	unsigned char vec[256];
	for (uint64_t at = 0; at < pages; at += sizeof(vec)) {
		uint64_t n = pages - at < sizeof(vec) ? pages - at : sizeof(vec);
		if (mincore(p + at * PAGE, n * PAGE, vec) < 0)
			return false;
		for (uint64_t i = 0; i < n; i++)
			if (!(vec[i] & 1))
				return false;
	}
	return true;
}

bool working_set_cached(const struct guest_mem *mem, const struct working_set *ws)
{
	uint64_t base = 0;
	for (int j = 0; j < mem->nregions; j++) {
		const struct guest_region *g = &mem->regions[j];
		uint64_t end = base + g->size / PAGE;
		for (size_t i = 0; i < ws->n; i++) {
			const struct ws_range *r = &ws->ranges[i];
			uint64_t a, b;
			clip(r, base, end, &a, &b);
			if (a < b && !span_cached(g->host + (a - base) * PAGE, b - a))
				return false;
		}
		base = end;
	}
	return true;
}

#define HUGE	   (2ull << 20)
#define HUGE_PAGES (HUGE / PAGE)

/* Adds the written pages of `ws` in region pages [base, base + pages) to `count`, one counter
 * per 2 MiB chunk of the region. */
static void count_written(const struct working_set *ws, uint64_t base, uint64_t pages,
			  uint16_t *count)
{
	for (size_t i = 0; i < ws->n; i++) {
		const struct ws_range *r = &ws->ranges[i];
		uint64_t a, b;
		clip(r, base, base + pages, &a, &b);
		for (; r->written && a < b;) {
			uint64_t chunk = (a - base) / HUGE_PAGES;
			uint64_t end = base + (chunk + 1) * HUGE_PAGES;
			uint64_t n = (b < end ? b : end) - a;
			count[chunk] = (uint16_t)(count[chunk] + n);
			a += n;
		}
	}
}

/* True when no page of the chunk at `p` is a private copy yet (pagemap: present or swapped, and
 * not the file's): something wrote it since the mapping, and the file's bytes would undo that. */
static bool chunk_unwritten(int pagemap_fd, const uint8_t *p)
{
	uint64_t pm[HUGE_PAGES];
	if (snap_pread_all(pagemap_fd, pm, sizeof(pm), (uintptr_t)p / PAGE * sizeof(uint64_t)))
		return false;
	for (uint64_t i = 0; i < HUGE_PAGES; i++)
		if ((pm[i] & (PM_PRESENT | PM_SWAPPED)) && !(pm[i] & PM_FILE))
			return false;
	return true;
}

/* The chunk at `p` (file offset `off`) anonymous, on a huge page where the host gives one, and
 * filled from the file. */
static int copy_chunk(uint8_t *p, int mem_fd, uint64_t off)
{
	void *q = mmap(p, HUGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (q == MAP_FAILED)
		return -errno;
	(void)madvise(q, HUGE, MADV_HUGEPAGE); /* small pages otherwise: still one read */
	return snap_pread_all(mem_fd, q, HUGE, off);
}

static int64_t copy_region(const struct guest_region *g, uint64_t base,
			   const struct working_set *ws, int mem_fd, int pagemap_fd)
{
	uint64_t chunks = g->size / HUGE;
	int64_t copied = 0;
	if ((uintptr_t)g->host % HUGE || !chunks)
		return 0;
	uint16_t *count = calloc(chunks, sizeof(*count));
	if (!count)
		return -ENOMEM;
	count_written(ws, base, chunks * HUGE_PAGES, count);
	for (uint64_t c = 0; c < chunks; c++) {
		uint8_t *p = g->host + c * HUGE;
		if (count[c] < WORKING_SET_HUGE_MIN || !chunk_unwritten(pagemap_fd, p))
			continue;
		int err = copy_chunk(p, mem_fd, base * PAGE + c * HUGE);
		if (err) {
			free(count);
			return err;
		}
		copied += (int64_t)HUGE_PAGES;
	}
	free(count);
	return copied;
}

int64_t working_set_copy_huge(const struct guest_mem *mem, const struct working_set *ws, int mem_fd,
			      int pagemap_fd)
{
	uint64_t base = 0;
	int64_t copied = 0;
	for (int j = 0; j < mem->nregions; j++) {
		const struct guest_region *g = &mem->regions[j];
		int64_t n = copy_region(g, base, ws, mem_fd, pagemap_fd);
		if (n < 0)
			return n;
		copied += n;
		base += g->size / PAGE;
	}
	return copied;
}

int64_t working_set_prefault(const struct guest_mem *mem, const struct working_set *ws,
			     bool by_touch)
{
	return prefault(mem, ws, by_touch, false, NULL);
}

int64_t working_set_prefault_from_end(const struct guest_mem *mem, const struct working_set *ws,
				      bool touch, const atomic_bool *stop)
{
	return prefault(mem, ws, touch, true, stop);
}

void working_set_readahead(const struct guest_mem *mem, const struct working_set *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		uint64_t base = 0;
		for (int j = 0; j < mem->nregions; j++) {
			const struct guest_region *g = &mem->regions[j];
			uint64_t end = base + g->size / PAGE, a, b;
			clip(&ws->ranges[i], base, end, &a, &b);
			if (a < b)
				(void)madvise(g->host + (a - base) * PAGE, (b - a) * PAGE,
					      MADV_WILLNEED);
			base = end;
		}
	}
}
