/* What a unit test of a power-management register block needs (test_acpi_pm1.c,
 * test_piix4_pm.c): a vm_control whose stop requests are counted with their reason and status,
 * and a monotonic clock the test sets. One copy per test file (static). */
#ifndef TESTS_UNIT_DEVICES_FAKE_POWER_H
#define TESTS_UNIT_DEVICES_FAKE_POWER_H

#include <stdint.h>

#include "base/vm_control.h"

static uint64_t fake_ns;
static int stops, stop_status;
static enum vm_stop_reason stop_why;

static void fake_stop(void *opaque, enum vm_stop_reason why, int status)
{
	(void)opaque;
	stops++;
	stop_why = why;
	stop_status = status;
}

static const struct vm_control control = {.stop = fake_stop};

static uint64_t fake_clock(void)
{
	return fake_ns;
}

#endif
