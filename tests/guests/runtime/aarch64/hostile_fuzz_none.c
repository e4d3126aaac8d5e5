/* The hostile guest's fuzz mode on arm64: not yet (runtime/hostile_fuzz.c drives PCI
 * configuration space through x86's port I/O). `fuzz` on the command line fails the run. */
#include "../hostile.h"
#include "test.h"

const char *hostile_fuzz_step(struct hdev *h)
{
	(void)h;
	test_fail(__FILE__, __LINE__, "the fuzz mode is not in the arm64 runtime yet");
}

void hostile_fuzz_settle(struct hdev *h)
{
	(void)h;
}
