/* A byte consumer for structured fuzz inputs: the fuzzer's bytes are decoded field by field into
 * queue sizes, ring addresses, register accesses... so mutations reach deep paths quickly (the
 * approach of Cloud Hypervisor's and crosvm's fuzzers). Little-endian; once the input is
 * exhausted every read returns zeros, so any prefix of an input is itself a valid input. */
#ifndef TOOLS_FUZZ_FUZZ_INPUT_H
#define TOOLS_FUZZ_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz_in {
	const uint8_t *data;
	size_t len;
	size_t pos;
};

static inline struct fz_in fz_in_make(const uint8_t *data, size_t len)
{
	return (struct fz_in){data, len, 0};
}

static inline size_t fz_left(const struct fz_in *in)
{
	return in->len - in->pos;
}

static inline bool fz_done(const struct fz_in *in)
{
	return in->pos >= in->len;
}

/* Copies up to n bytes into dst and zero-fills the rest; returns how many came from the input. */
static inline size_t fz_bytes(struct fz_in *in, void *dst, size_t n)
{
	size_t k = fz_left(in) < n ? fz_left(in) : n;
	memcpy(dst, in->data + in->pos, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->pos += k;
	return k;
}

/* A pointer to the next n input bytes (fewer when the input ends: *got says how many). */
static inline const uint8_t *fz_take(struct fz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->data + in->pos;
	*got = fz_left(in) < n ? fz_left(in) : n;
	in->pos += *got;
	return p;
}

static inline uint64_t fz_uint(struct fz_in *in, size_t n)
{
	uint8_t b[8];
	uint64_t v = 0;
	fz_bytes(in, b, n);
	for (size_t i = n; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	return (uint8_t)fz_uint(in, 1);
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)fz_uint(in, 2);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)fz_uint(in, 4);
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	return fz_uint(in, 8);
}

static inline bool fz_bool(struct fz_in *in)
{
	return fz_u8(in) & 1;
}

/* A value in [0, n) (n > 0) from one byte (n <= 256) or two. */
static inline uint32_t fz_below(struct fz_in *in, uint32_t n)
{
	return (n <= 256 ? fz_u8(in) : fz_u16(in)) % n;
}

#endif
