#include "test.h"

#include <stdarg.h>

#include "platform.h"

void (*test_fail_hook)(const char *msg);

void guest_exit(uint32_t code)
{
	if (code == GUEST_EXIT_PASS)
		printf("TEST PASS\n");
	else
		printf("TEST FAIL (code 0x%x)\n", code);
	platform_exit(code);
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL: %s:%d: %s\n", file, line, msg);
	if (test_fail_hook)
		test_fail_hook(msg);
	guest_exit(GUEST_EXIT_FAIL);
}
