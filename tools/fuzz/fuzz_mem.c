/* Fake guest RAM with a shadow copy (see fuzz_mem.h). */
#include "tools/fuzz/fuzz_mem.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(p, n)	  ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FUZZ INVARIANT BROKEN: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* Page-multiple regions live at the END of a persistent per-region pool, with everything before
 * them poisoned (and all of it poisoned again by fz_mem_free()), so ASan still flags any access
 * outside the region while inputs do not pay for fresh pages each time (page faults are slow,
 * above all in a nested VM). Other regions are plain exact-size heap blocks. */
#define POOL_CAP (4ull << 20)
static uint8_t *pools[GUEST_MEM_MAX_REGIONS];

static uint8_t *pool_region(int i, uint64_t size)
{
	if (size > POOL_CAP || size % 4096)
		return NULL;
	if (!pools[i]) {
		/* One more page after the pool: poisoned, so the byte past the region is too. */
		void *p = mmap(NULL, POOL_CAP + 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		pools[i] = p;
		ASAN_POISON_MEMORY_REGION(pools[i], POOL_CAP + 4096);
	}
	uint8_t *host = pools[i] + POOL_CAP - size;
	ASAN_UNPOISON_MEMORY_REGION(host, size);
	return host;
}

static bool in_pool(int i, const uint8_t *p)
{
	return pools[i] && p >= pools[i] && p < pools[i] + POOL_CAP;
}

int fz_mem_add(struct fz_mem *m, uint64_t gpa, uint64_t size, unsigned misalign)
{
	int i = m->n;
	void *block = NULL;
	if (i >= GUEST_MEM_MAX_REGIONS || size == 0)
		return -EINVAL;
	if (!misalign)
		block = pool_region(i, size);
	if (!block && posix_memalign(&block, 4096, size + misalign))
		return -ENOMEM;
	m->shadow[i] = m->no_shadow ? NULL : calloc(1, size);
	if (!m->no_shadow && !m->shadow[i]) {
		free(block);
		return -ENOMEM;
	}
	memset(block, 0, size + misalign);
	m->block[i] = block;
	m->host[i] = (uint8_t *)block + misalign;
	m->gpa[i] = gpa;
	m->size[i] = size;
	m->n++;
	return guest_mem_add_region(&m->mem, gpa, m->host[i], size);
}

void fz_mem_free(struct fz_mem *m)
{
	for (int i = 0; i < m->n; i++) {
		if (in_pool(i, m->block[i]))
			ASAN_POISON_MEMORY_REGION(pools[i], POOL_CAP); /* use after "free" */
		else
			free(m->block[i]);
		free(m->shadow[i]);
	}
	memset(m, 0, sizeof(*m));
}

/* Region index holding gpa, or -1. */
static int region_of(const struct fz_mem *m, uint64_t gpa)
{
	for (int i = 0; i < m->n; i++)
		if (gpa >= m->gpa[i] && gpa - m->gpa[i] < m->size[i])
			return i;
	return -1;
}

/* How far the next region starts from gpa (not in any region), counting as the addresses do:
 * modulo 2^64. */
static uint64_t gap_to_region(const struct fz_mem *m, uint64_t gpa)
{
	uint64_t gap = UINT64_MAX;
	for (int i = 0; i < m->n; i++)
		if (m->gpa[i] - gpa < gap)
			gap = m->gpa[i] - gpa;
	return gap;
}

void fz_mem_write(struct fz_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	/* Region by region, so a write straddling a region end still lands; the bytes between
	 * regions are skipped at once (a ring reset of a hostile queue size may span megabytes
	 * of nothing, and went byte by byte: a quarter of fuzz_packed_ring's time). */
	while (len > 0) {
		int i = region_of(m, gpa);
		if (i < 0) {
			uint64_t gap = gap_to_region(m, gpa);
			if (gap >= len)
				return;
			gpa += gap, s += gap, len -= gap;
			continue;
		}
		uint64_t off = gpa - m->gpa[i], n = m->size[i] - off;
		if (n > len)
			n = len;
		memcpy(m->host[i] + off, s, n);
		if (m->shadow[i])
			memcpy(m->shadow[i] + off, s, n);
		gpa += n, s += n, len -= n;
	}
}

void fz_mem_put16(struct fz_mem *m, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	fz_mem_write(m, gpa, &v, sizeof(v));
}

void fz_mem_put32(struct fz_mem *m, uint64_t gpa, uint32_t v)
{
	v = htole32(v);
	fz_mem_write(m, gpa, &v, sizeof(v));
}

void fz_mem_put64(struct fz_mem *m, uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	fz_mem_write(m, gpa, &v, sizeof(v));
}

uint16_t fz_mem_get16(const struct fz_mem *m, uint64_t gpa)
{
	uint16_t v = 0;
	guest_mem_read(&m->mem, gpa, &v, sizeof(v));
	return le16toh(v);
}

uint32_t fz_mem_get32(const struct fz_mem *m, uint64_t gpa)
{
	uint32_t v = 0;
	guest_mem_read(&m->mem, gpa, &v, sizeof(v));
	return le32toh(v);
}

uint64_t fz_mem_total(const struct fz_mem *m)
{
	uint64_t t = 0;
	for (int i = 0; i < m->n; i++)
		t += m->size[i];
	return t;
}

uint64_t fz_mem_gpa_at(const struct fz_mem *m, uint64_t off)
{
	for (int i = 0; i < m->n; i++) {
		if (off < m->size[i])
			return m->gpa[i] + off;
		off -= m->size[i];
	}
	return m->n ? m->gpa[m->n - 1] + m->size[m->n - 1] : 0; /* one past the end */
}

void fz_ranges_add(struct fz_ranges *r, uint64_t gpa, uint64_t len)
{
	if (r->n == FZ_MAX_RANGES || len == 0)
		return;
	r->r[r->n].lo = gpa;
	r->r[r->n].hi = gpa + len < gpa ? UINT64_MAX : gpa + len;
	r->n++;
}

static bool allowed_at(const struct fz_ranges *a, uint64_t gpa)
{
	for (unsigned i = 0; a && i < a->n; i++)
		if (gpa >= a->r[i].lo && gpa < a->r[i].hi)
			return true;
	return false;
}

static void check_region(struct fz_mem *m, int i, const struct fz_ranges *allowed, const char *what)
{
	const uint64_t chunk = 256;
	for (uint64_t off = 0; off < m->size[i]; off += chunk) {
		uint64_t n = m->size[i] - off < chunk ? m->size[i] - off : chunk;
		if (!memcmp(m->host[i] + off, m->shadow[i] + off, n))
			continue;
		for (uint64_t k = off; k < off + n; k++) {
			if (m->host[i][k] == m->shadow[i][k])
				continue;
			uint64_t gpa = m->gpa[i] + k;
			FZ_ASSERT(
			    allowed_at(allowed, gpa),
			    "%s wrote guest byte %#llx (%#x -> %#x) outside what it may write",
			    what, (unsigned long long)gpa, m->shadow[i][k], m->host[i][k]);
		}
		memcpy(m->shadow[i] + off, m->host[i] + off, n);
	}
}

void fz_mem_check(struct fz_mem *m, const struct fz_ranges *allowed, const char *what)
{
	for (int i = 0; i < m->n; i++)
		if (m->shadow[i] && memcmp(m->host[i], m->shadow[i], m->size[i]))
			check_region(m, i, allowed, what);
}

void fz_mem_sync(struct fz_mem *m)
{
	for (int i = 0; i < m->n; i++)
		if (m->shadow[i])
			memcpy(m->shadow[i], m->host[i], m->size[i]);
}
