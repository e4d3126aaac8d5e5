/* base/mac.c: one MAC parser and one rule for a NIC's own address. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/mac.h"

Test(mac, parses_either_case)
{
	uint8_t m[MAC_LEN];
	static const uint8_t want[MAC_LEN] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

	cr_assert_eq(mac_parse("52:54:00:ab:CD:eF", m, NULL, 0), 0);
	cr_assert_eq(memcmp(m, want, MAC_LEN), 0);
	cr_assert_eq(mac_parse("00:00:00:00:00:01", m, NULL, 0), 0);
	cr_assert_eq(mac_parse("fe:ff:ff:ff:ff:ff", m, NULL, 0), 0, "locally administered");
}

Test(mac, refuses_text_that_is_not_six_bytes)
{
	const char *bad[] = {"",
			     "52:54:00:12:34",
			     "52:54:00:12:34:56:78",
			     "52-54-00-12-34-56",
			     "52:54:00:12:34:5g",
			     "5:54:00:12:34:567",
			     " 52:54:00:12:34:56",
			     "52:54:00:12:34:56 ",
			     "+2:54:00:12:34:56"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t m[MAC_LEN] = {7};
		cr_expect_eq(mac_parse(bad[i], m, NULL, 0), -EINVAL, "'%s'", bad[i]);
		cr_expect_eq(m[0], 7, "'%s' changed the output", bad[i]);
	}
	cr_expect_eq(mac_parse(NULL, (uint8_t[MAC_LEN]){0}, NULL, 0), -EINVAL);
}

/* A station address is neither a group address (broadcast included) nor no address at all. */
Test(mac, refuses_multicast_and_all_zeros)
{
	char err[160];
	uint8_t m[MAC_LEN];

	cr_assert_eq(mac_parse("00:00:00:00:00:00", m, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "bad MAC address '00:00:00:00:00:00'"), "%s", err);
	cr_assert(strstr(err, "all zeros") && strstr(err, "multicast"), "%s", err);
	cr_assert_eq(mac_parse("01:00:5e:00:00:01", m, err, sizeof(err)), -EINVAL);
	cr_assert_eq(mac_parse("ff:ff:ff:ff:ff:ff", m, err, sizeof(err)), -EINVAL);
	cr_assert_eq(mac_parse("33:33:00:00:00:01", m, err, sizeof(err)), -EINVAL);
	cr_assert_not(mac_is_station((uint8_t[MAC_LEN]){0}));
	cr_assert_not(mac_is_station((uint8_t[MAC_LEN]){1, 0, 0, 0, 0, 0}));
	cr_assert(mac_is_station((uint8_t[MAC_LEN]){0, 0, 0, 0, 0, 1}));
}
