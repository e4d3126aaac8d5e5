/* A CPU template's bitmap (Firecracker's "0b01x..." strings, docs/cpu.md): one character per bit,
 * the highest first; 0 and 1 force the bit, x leaves it as KVM gives it, '_' separates. x86's
 * CPUID registers take 32 of them, its MSRs 64, arm64's registers up to 128 (Firecracker writes
 * 128 for every arm64 register). Pure: unit-tested, and reached by the template parsers' fuzz
 * targets. */
#ifndef VMM_KVM_CPU_BITMAP_H
#define VMM_KVM_CPU_BITMAP_H

#include <stddef.h>
#include <stdint.h>

/* Bits `filter` set are forced to the bits of `value` (which has none outside filter). Word 0 is
 * bits 0-63, word 1 bits 64-127. */
struct cpu_bitmap {
	uint64_t filter[2], value[2];
};

/* Parses `s`, of at most `width` (at most 128) significant characters; a shorter one is padded
 * with x on the left. Returns 0 or -EINVAL with the reason in err. */
int cpu_bitmap_parse(const char *s, unsigned width, struct cpu_bitmap *b, char *err, size_t errlen);

/* `v` (bits 0-63) with the bitmap applied. */
static inline uint64_t cpu_bitmap_apply64(const struct cpu_bitmap *b, uint64_t v)
{
	return (v & ~b->filter[0]) | b->value[0];
}

#endif
