/* The VMM's one monotonic clock: timeouts, deadlines, rate limits and durations all read
 * CLOCK_MONOTONIC (never the wall clock, which an administrator or NTP may step). */
#ifndef VMM_CLOCK_H
#define VMM_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC  1000000000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_USEC 1000ull

/* Nanoseconds on CLOCK_MONOTONIC (since an unspecified point, the same for every thread). */
static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_us(void)
{
	return mono_ns() / NSEC_PER_USEC;
}

static inline uint64_t mono_ms(void)
{
	return mono_ns() / NSEC_PER_MSEC;
}

#endif
