/* CPU template bitmaps (host/kvm/cpu_bitmap.h): Firecracker's strings of 32, 64 and 128 bits,
 * the padding, the separators, and the refusals naming what is wrong. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "host/kvm/cpu_bitmap.h"

static char err[512];

Test(cpu_bitmap, bitmaps_as_firecracker_writes_them)
{
	struct cpu_bitmap b;
	cr_assert_eq(
	    cpu_bitmap_parse("0bxxxx000000000011xx00011011110010", 32, &b, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(b.filter[0], 0x0fff3fff);
	cr_assert_eq(b.value[0], 0x000306f2);
	cr_assert_eq(b.filter[1] | b.value[1], 0);
	/* a short bitmap is padded with x on the left; '_' separates */
	cr_assert_eq(cpu_bitmap_parse("0b1_0x", 32, &b, err, sizeof(err)), 0);
	cr_assert_eq(b.filter[0], 0x6);
	cr_assert_eq(b.value[0], 0x4);
	cr_assert_eq(cpu_bitmap_apply64(&b, 0xff), 0xfd);
	cr_assert_eq(
	    cpu_bitmap_parse("0b"
			     "1111111111111111111111111111111111111111111111111111111111111111",
			     64, &b, err, sizeof(err)),
	    0);
	cr_assert_eq(b.value[0], UINT64_MAX);
}

Test(cpu_bitmap, arm64_registers_take_128_bits)
{
	char s[131] = "0b";
	struct cpu_bitmap b;
	memset(s + 2, 'x', 128);
	s[2] = '1';   /* bit 127 */
	s[129] = '0'; /* bit 0 */
	s[130] = 0;
	cr_assert_eq(cpu_bitmap_parse(s, 128, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.filter[1], 1ull << 63);
	cr_assert_eq(b.value[1], 1ull << 63);
	cr_assert_eq(b.filter[0], 1);
	cr_assert_eq(b.value[0], 0);
	cr_assert_eq(cpu_bitmap_parse(s, 64, &b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "more than 64 bits"), "%s", err);
}

Test(cpu_bitmap, bad_bitmaps_are_refused_with_the_reason)
{
	struct cpu_bitmap b;
	cr_assert_eq(cpu_bitmap_parse("1010", 32, &b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "0b"), "%s", err);
	cr_assert_eq(cpu_bitmap_parse("0b10y1", 32, &b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "'y'"), "%s", err);
	cr_assert_eq(cpu_bitmap_parse("0b", 32, &b, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cpu_bitmap_parse("0b___", 32, &b, err, sizeof(err)), -EINVAL);
	cr_assert_eq(
	    cpu_bitmap_parse("0b000000000000000000000000000000000", 32, &b, err, sizeof(err)),
	    -EINVAL, "33 bits");
	cr_assert(strstr(err, "more than 32 bits"), "%s", err);
}
