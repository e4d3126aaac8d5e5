/* The smallest test guest: proves the PVH entry, long mode, COM1 output and the debug-exit pass
 * path, and checks the runtime's formatter. Expected output: "hello from the test guest", then
 * "TEST PASS"; status 1. */
#include "guest.h"

static void expect_format(const char *want, const char *got)
{
	TEST_ASSERT_MSG(!strcmp(want, got), "formatted \"%s\", want \"%s\"", got, want);
}

static void check_formatter(void)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%d %i %u %5d|%-5d|%05d", -42, 7, 4000000000u, 12, 12, -12);
	expect_format("-42 7 4000000000    12|12   |-0012", buf);
	snprintf(buf, sizeof(buf), "%x %X %08x %lx %llx", 0xbeefu, 0xbeefu, 0x1234u,
		 0xfedcba9876543210ul, 0x1ull << 63);
	expect_format("beef BEEF 00001234 fedcba9876543210 8000000000000000", buf);
	snprintf(buf, sizeof(buf), "%s|%6s|%-6s|%.2s|%c|%p|%%", "abc", "abc", "abc", "abc", 'z',
		 (void *)0x1000);
	expect_format("abc|   abc|abc   |ab|z|0x1000|%", buf);
	TEST_ASSERT_EQ(snprintf(buf, 4, "%s", "truncated"), 9);
	expect_format("tru", buf);
}

int guest_main(void)
{
	check_formatter();
	printf("hello from the test guest\n");
	return 0;
}
