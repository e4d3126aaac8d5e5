/* Answering page faults with UFFDIO_COPY / UFFDIO_ZEROPAGE. See uffd_serve.h and the kernel's
 * Documentation/admin-guide/mm/userfaultfd.rst ("Resolving Userfaults", "Non-cooperative
 * userfaultfd"). */
#include "tools/uffd-handler/uffd_serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define EAGER_CHUNK (2u << 20) /* answer queued faults at least this often while copying */

int uffd_server_init(struct uffd_server *s, int uffd, const uint8_t *file,
		     const struct uffd_mapping *maps, int n)
{
	memset(s, 0, sizeof(*s));
	s->uffd = uffd;
	s->file = file;
	s->n = n;
	for (int i = 0; i < n; i++) {
		s->maps[i] = maps[i];
		s->state[i] = calloc(maps[i].size / UFFD_PAGE, 1); /* all PAGE_MISSING */
		if (!s->state[i])
			return -ENOMEM;
	}
	return 0;
}

void uffd_server_free(struct uffd_server *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->state[i]);
	memset(s, 0, sizeof(*s));
}

static bool zero_page(const uint8_t *p)
{
	return p[0] == 0 && !memcmp(p, p + 1, UFFD_PAGE - 1);
}

/* A page someone else filled first (EEXIST): the faulting thread still waits to be woken. */
static int wake(int uffd, uint64_t addr, uint64_t len)
{
	struct uffdio_range r = {addr, len};
	return ioctl(uffd, UFFDIO_WAKE, &r) ? -errno : 0;
}

/* The state of pages [addr, addr+len) of mapping i (addr inside it). */
static void set_state(struct uffd_server *s, int i, uint64_t addr, uint64_t len, uint8_t v)
{
	memset(s->state[i] + (addr - s->maps[i].base) / UFFD_PAGE, v, len / UFFD_PAGE);
}

static int zero(struct uffd_server *s, int i, uint64_t addr)
{
	struct uffdio_zeropage z = {.range = {addr, UFFD_PAGE}};
	while (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z)) {
		if (errno == EEXIST)
			break; /* present already: the faulting thread still waits to be woken */
		if (errno != EAGAIN) /* EAGAIN: the VMM's mappings changed under us: again */
			return -errno;
		z.zeropage = 0;
	}
	if (i >= 0)
		set_state(s, i, addr, UFFD_PAGE, PAGE_FILLED);
	if (z.zeropage != (int64_t)UFFD_PAGE)
		return wake(s->uffd, addr, UFFD_PAGE);
	s->zeroed++;
	return 0;
}

/* Copies `len` bytes of the file at `off` to `addr` (mapping i); a run that meets a present
 * page goes on page by page. */
static int copy(struct uffd_server *s, int i, uint64_t addr, uint64_t off, uint64_t len)
{
	struct uffdio_copy c = {
	    .dst = addr, .src = (uint64_t)(uintptr_t)(s->file + off), .len = len};
	while (ioctl(s->uffd, UFFDIO_COPY, &c)) {
		if (errno == EEXIST && len == UFFD_PAGE) {
			set_state(s, i, addr, UFFD_PAGE, PAGE_FILLED);
			return wake(s->uffd, addr, UFFD_PAGE);
		}
		if (errno == EEXIST || (errno == EAGAIN && c.copy > 0)) {
			for (uint64_t p = 0; p < len; p += UFFD_PAGE) {
				int r = copy(s, i, addr + p, off + p, UFFD_PAGE);
				if (r)
					return r;
			}
			return 0;
		}
		if (errno != EAGAIN)
			return -errno;
		c.copy = 0;
	}
	set_state(s, i, addr, len, PAGE_FILLED);
	s->copied += len / UFFD_PAGE;
	return 0;
}

/* Whether page `page` of mapping i is worth a copy: missing, and not a hole of the file. */
static bool copyable(const struct uffd_server *s, int i, uint64_t page)
{
	const struct uffd_mapping *m = &s->maps[i];
	return s->state[i][page] == PAGE_MISSING &&
	       !zero_page(s->file + m->offset + page * UFFD_PAGE);
}

/* A fault on `addr` of mapping i: a removed page or a hole reads as zeros; a page filled
 * meanwhile (two threads faulted on it, or fault-around got there first) is filled again, which
 * the kernel refuses (EEXIST) and we answer with a wake; otherwise the copyable pages of its
 * aligned block are copied, the faulting one among them. */
static int serve_fault(struct uffd_server *s, int i, uint64_t addr)
{
	const struct uffd_mapping *m = &s->maps[i];
	uint64_t page = (addr - m->base) / UFFD_PAGE, pages = m->size / UFFD_PAGE;
	uint64_t per = UFFD_FAULT_AROUND / UFFD_PAGE;

	uint64_t off = m->offset + page * UFFD_PAGE;
	if (s->state[i][page] == PAGE_FILLED) /* filled as its fault came: EEXIST, then a wake */
		return zero_page(s->file + off) ? zero(s, i, addr)
						: copy(s, i, addr, off, UFFD_PAGE);
	if (!copyable(s, i, page))
		return zero(s, i, addr);
	uint64_t first = page - page % per, end = first + per < pages ? first + per : pages;
	for (uint64_t p = first; p < end;) {
		uint64_t n = 0;
		while (p + n < end && copyable(s, i, p + n))
			n++;
		if (n) {
			int r = copy(s, i, m->base + p * UFFD_PAGE, m->offset + p * UFFD_PAGE,
				     n * UFFD_PAGE);
			if (r)
				return r;
		}
		p += n ? n : 1;
	}
	return 0;
}

static void mark_removed(struct uffd_server *s, uint64_t start, uint64_t end)
{
	s->removes++;
	for (int i = 0; i < s->n; i++) {
		const struct uffd_mapping *m = &s->maps[i];
		uint64_t lo = start > m->base ? start : m->base;
		uint64_t hi = end < m->base + m->size ? end : m->base + m->size;
		for (uint64_t a = lo; a < hi; a += UFFD_PAGE)
			s->state[i][(a - m->base) / UFFD_PAGE] = PAGE_REMOVED;
	}
}

static int handle(struct uffd_server *s, const struct uffd_msg *msg)
{
	if (msg->event == UFFD_EVENT_REMOVE) {
		mark_removed(s, msg->arg.remove.start & ~(uint64_t)(UFFD_PAGE - 1),
			     msg->arg.remove.end);
		return 0;
	}
	if (msg->event != UFFD_EVENT_PAGEFAULT) {
		s->stray++;
		return 0;
	}
	uint64_t addr = msg->arg.pagefault.address & ~(uint64_t)(UFFD_PAGE - 1);
	int i = uffd_mappings_find(s->maps, s->n, addr);
	if (i < 0) { /* not one of ours: a zero page keeps the VMM going */
		s->stray++;
		return zero(s, -1, addr);
	}
	return serve_fault(s, i, addr);
}

int uffd_server_drain(struct uffd_server *s)
{
	struct uffd_msg msgs[32];
	for (;;) {
		ssize_t n = read(s->uffd, msgs, sizeof(msgs));
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0 || n % (ssize_t)sizeof(msgs[0]))
			return -EPROTO;
		for (ssize_t k = 0; k < n / (ssize_t)sizeof(msgs[0]); k++) {
			int r = handle(s, &msgs[k]);
			if (r)
				return r;
		}
	}
}

/* The next run of copyable pages of mapping i from `page`, at most a chunk long; its length
 * in pages (0: none before `end`), its first page in *first. */
static uint64_t next_run(const struct uffd_server *s, int i, uint64_t page, uint64_t end,
			 uint64_t *first)
{
	while (page < end && !copyable(s, i, page))
		page++;
	*first = page;
	uint64_t n = 0;
	while (page + n < end && n < EAGER_CHUNK / UFFD_PAGE && copyable(s, i, page + n))
		n++;
	return n;
}

/* Copies the copyable pages [page, end) of mapping i, a chunk at a time. */
static int copy_span(struct uffd_server *s, int i, uint64_t page, uint64_t end)
{
	const struct uffd_mapping *m = &s->maps[i];
	uint64_t first, n;

	while ((n = next_run(s, i, page, end, &first)) > 0) {
		int r = copy(s, i, m->base + first * UFFD_PAGE, m->offset + first * UFFD_PAGE,
			     n * UFFD_PAGE);
		if (!r)
			r = uffd_server_drain(s);
		if (r)
			return r;
		page = first + n;
	}
	return 0;
}

int uffd_server_eager(struct uffd_server *s)
{
	for (int i = 0; i < s->n; i++) {
		int r = copy_span(s, i, 0, s->maps[i].size / UFFD_PAGE);
		if (r)
			return r;
	}
	return 0;
}

/* The part of `range` (first page, count: the file's numbering) that mapping i covers: the
 * file's pages [*a, *b), empty when *a >= *b. */
static void clip_range(const struct uffd_server *s, int i, const uint64_t range[2], uint64_t *a,
		       uint64_t *b)
{
	const struct uffd_mapping *m = &s->maps[i];
	uint64_t base = m->offset / UFFD_PAGE, end = base + m->size / UFFD_PAGE;
	*a = range[0] < base ? base : range[0];
	*b = range[0] + range[1] > end ? end : range[0] + range[1];
}

int uffd_server_prefill(struct uffd_server *s, const uint64_t (*ranges)[2], size_t n)
{
	/* every read of the file queued first (MADV_WILLNEED: not waited for), so that a file
	 * not in the page cache is read side by side rather than a fault's few pages at a time */
	for (size_t k = 0; k < n; k++)
		for (int i = 0; i < s->n; i++) {
			uint64_t a, b;
			clip_range(s, i, ranges[k], &a, &b);
			if (a < b)
				(void)madvise((void *)(uintptr_t)(s->file + a * UFFD_PAGE),
					      (b - a) * UFFD_PAGE, MADV_WILLNEED);
		}
	for (size_t k = 0; k < n; k++) {
		for (int i = 0; i < s->n; i++) {
			uint64_t base = s->maps[i].offset / UFFD_PAGE, a, b;
			clip_range(s, i, ranges[k], &a, &b);
			int r = a < b ? copy_span(s, i, a - base, b - base) : 0;
			if (r)
				return r;
		}
	}
	return 0;
}
