/* Fake guest RAM for the fuzzers: one or two regions, each an exact-size heap block so that
 * AddressSanitizer flags any byte the VMM touches outside guest RAM. A shadow copy of RAM lets a
 * target check after each device operation that the device changed only what it may (used ring,
 * writable buffers): fz_mem_check() diffs RAM against the shadow. Every write the fuzzer makes
 * as the "driver" goes through fz_mem_write(), which updates both. */
#ifndef TOOLS_FUZZ_FUZZ_MEM_H
#define TOOLS_FUZZ_FUZZ_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define FZ_MAX_RANGES (1024 + 8)

struct fz_mem {
	struct guest_mem mem;
	bool
	    no_shadow; /* set before fz_mem_add(): no shadow copy (fz_mem_check() checks nothing) */
	int n;
	uint64_t gpa[GUEST_MEM_MAX_REGIONS];
	uint64_t size[GUEST_MEM_MAX_REGIONS];
	uint8_t *block[GUEST_MEM_MAX_REGIONS]; /* what posix_memalign returned */
	uint8_t *host[GUEST_MEM_MAX_REGIONS];  /* block + misalign: the region's bytes */
	uint8_t *shadow[GUEST_MEM_MAX_REGIONS];
};

/* Guest-physical ranges [lo, hi) the device may write during one operation. */
struct fz_ranges {
	unsigned n;
	struct {
		uint64_t lo, hi;
	} r[FZ_MAX_RANGES];
};

/* Adds region `i` = [gpa, gpa + size) (ascending order, size > 0), zero-filled. The host block
 * starts `misalign` bytes past a 4 KiB boundary (0 normally; 8 makes rings host-misaligned) and
 * ends exactly at the region's end. Returns 0 or -errno. */
int fz_mem_add(struct fz_mem *m, uint64_t gpa, uint64_t size, unsigned misalign);
void fz_mem_free(struct fz_mem *m);

/* Driver-side write of guest memory (RAM and shadow). Bytes outside RAM are dropped. */
void fz_mem_write(struct fz_mem *m, uint64_t gpa, const void *src, uint64_t len);
void fz_mem_put16(struct fz_mem *m, uint64_t gpa, uint16_t v);
void fz_mem_put32(struct fz_mem *m, uint64_t gpa, uint32_t v);
void fz_mem_put64(struct fz_mem *m, uint64_t gpa, uint64_t v);
/* Driver-side read (0 outside RAM). */
uint16_t fz_mem_get16(const struct fz_mem *m, uint64_t gpa);
uint32_t fz_mem_get32(const struct fz_mem *m, uint64_t gpa);

/* Total RAM bytes and the gpa of byte `off` of the concatenated regions. */
uint64_t fz_mem_total(const struct fz_mem *m);
uint64_t fz_mem_gpa_at(const struct fz_mem *m, uint64_t off);

static inline void fz_ranges_clear(struct fz_ranges *r)
{
	r->n = 0;
}
void fz_ranges_add(struct fz_ranges *r, uint64_t gpa, uint64_t len);

/* Every byte that differs from the shadow must lie in `allowed` (NULL: nothing may change);
 * otherwise the target aborts naming the byte and `what`. Then the shadow is brought up to
 * date. */
void fz_mem_check(struct fz_mem *m, const struct fz_ranges *allowed, const char *what);

/* Accepts the current RAM contents (e.g. after a device model wrote its own buffers). */
void fz_mem_sync(struct fz_mem *m);

/* Reports a broken invariant and aborts (a crash for libFuzzer). */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define FZ_ASSERT(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(__VA_ARGS__);                                                      \
	} while (0)

#endif
