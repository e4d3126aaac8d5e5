/* base/clock.h: the one monotonic clock. */
#include <criterion/criterion.h>
#include <time.h>

#include "base/clock.h"

Test(clock, never_goes_back_and_agrees_with_itself)
{
	uint64_t a = mono_ns();
	struct timespec pause = {0, 2000000};

	nanosleep(&pause, NULL);
	uint64_t b = mono_ns(), us = mono_us(), ms = mono_ms(), c = mono_ns();
	cr_assert_geq(b - a, 2000000u, "slept 2 ms, saw %llu ns", (unsigned long long)(b - a));
	cr_assert(us >= b / NSEC_PER_USEC && us <= c / NSEC_PER_USEC);
	cr_assert(ms >= b / NSEC_PER_MSEC && ms <= c / NSEC_PER_MSEC);
}

Test(clock, is_clock_monotonic)
{
	struct timespec ts;
	uint64_t before = mono_ns();

	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	cr_assert(before <= t && t <= mono_ns());
}
