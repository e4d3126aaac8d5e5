#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/parse.h"

#define MiB (1ULL << 20)

Test(parse_size, suffixes)
{
	uint64_t v;
	cr_assert_eq(parse_size("256M", MiB, &v), 0);
	cr_assert_eq(v, 256 * MiB);
	cr_assert_eq(parse_size("4096k", MiB, &v), 0);
	cr_assert_eq(v, 4096ULL << 10);
	cr_assert_eq(parse_size("2GiB", MiB, &v), 0);
	cr_assert_eq(v, 2ULL << 30);
	cr_assert_eq(parse_size("1TB", MiB, &v), 0);
	cr_assert_eq(v, 1ULL << 40);
	cr_assert_eq(parse_size("512", MiB, &v), 0);
	cr_assert_eq(v, 512 * MiB, "bare numbers take the default unit");
	cr_assert_eq(parse_size("512", 1, &v), 0);
	cr_assert_eq(v, 512);
}

Test(parse_size, garbage_and_overflow)
{
	uint64_t v = 7;
	cr_assert_eq(parse_size("", MiB, &v), -EINVAL);
	cr_assert_eq(parse_size("M", MiB, &v), -EINVAL);
	cr_assert_eq(parse_size("-1G", MiB, &v), -EINVAL);
	cr_assert_eq(parse_size("12X", MiB, &v), -EINVAL);
	cr_assert_eq(parse_size("12Mx", MiB, &v), -EINVAL);
	cr_assert_eq(parse_size("1.5G", MiB, &v), -EINVAL);
	cr_assert_eq(parse_size(NULL, MiB, &v), -EINVAL);
	cr_assert_eq(parse_size("99999999999999999999", 1, &v), -ERANGE);
	cr_assert_eq(parse_size("17179869184G", MiB, &v), -ERANGE);
	cr_assert_eq(v, 7, "output untouched on error");
}

Test(parse_uint, bounds)
{
	uint64_t v;
	cr_assert_eq(parse_uint("4", 1, 255, &v), 0);
	cr_assert_eq(v, 4);
	cr_assert_eq(parse_uint("0", 1, 255, &v), -ERANGE);
	cr_assert_eq(parse_uint("256", 1, 255, &v), -ERANGE);
	cr_assert_eq(parse_uint("4x", 1, 255, &v), -EINVAL);
	cr_assert_eq(parse_uint(" 4", 1, 255, &v), -EINVAL);
	cr_assert_eq(parse_uint("", 1, 255, &v), -EINVAL);
}

/* id=NAME of --disk, --net and --vsock: what the API accepts as an id. */
Test(parse_device_id, rules)
{
	char out[8], err[128];
	cr_assert_eq(parse_device_id("eth0", out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, "eth0");
	cr_assert_eq(parse_device_id("1234567", out, sizeof(out), err, sizeof(err)), 0);
	static const char *const bad[] = {"", "12345678", "a b", "a/b", "a,b", "a\x7f", "\t"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		strcpy(out, "keep");
		cr_assert_eq(parse_device_id(bad[i], out, sizeof(out), err, sizeof(err)), -EINVAL,
			     "%s", bad[i]);
		cr_assert(strncmp(err, "id=", 3) == 0, "%s: %s", bad[i], err);
		cr_assert_str_eq(out, "keep");
	}
	cr_assert_eq(parse_device_id(NULL, out, sizeof(out), err, sizeof(err)), -EINVAL);
}

Test(parse_hex_digit, every_byte)
{
	for (int c = -1; c < 256; c++) {
		int want = c >= '0' && c <= '9'	  ? c - '0'
			   : c >= 'a' && c <= 'f' ? c - 'a' + 10
			   : c >= 'A' && c <= 'F' ? c - 'A' + 10
						  : -1;
		cr_assert_eq(parse_hex_digit(c), want, "character %d", c);
	}
}
