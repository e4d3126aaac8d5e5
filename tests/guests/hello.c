/* The smallest test guest: proves the PVH entry, long mode, COM1 output and the debug-exit pass
 * path. Expected output: "hello from the test guest", then "TEST PASS"; status 1. */
#include "guest.h"

int guest_main(void)
{
	printf("hello from the test guest\n");
	return 0;
}
