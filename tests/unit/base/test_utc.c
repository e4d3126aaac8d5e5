/* utc_from_epoch() against glibc's gmtime_r(), which tests may call (they are not confined). */
#include <criterion/criterion.h>
#include <time.h>

#include "base/utc.h"

static void expect_same(time_t t)
{
	struct tm tm;
	struct utc_tm u;

	cr_assert_not_null(gmtime_r(&t, &tm));
	utc_from_epoch(t, &u);
	cr_expect_eq(u.year, tm.tm_year + 1900LL, "year of %lld", (long long)t);
	cr_expect_eq(u.month, (unsigned)tm.tm_mon + 1, "month of %lld", (long long)t);
	cr_expect_eq(u.day, (unsigned)tm.tm_mday, "day of %lld", (long long)t);
	cr_expect_eq(u.hour, (unsigned)tm.tm_hour, "hour of %lld", (long long)t);
	cr_expect_eq(u.min, (unsigned)tm.tm_min, "minute of %lld", (long long)t);
	cr_expect_eq(u.sec, (unsigned)tm.tm_sec, "second of %lld", (long long)t);
	cr_expect_eq(u.wday, (unsigned)tm.tm_wday, "weekday of %lld", (long long)t);
}

Test(utc, known_dates)
{
	struct utc_tm u;

	utc_from_epoch(0, &u);
	cr_expect(u.year == 1970 && u.month == 1 && u.day == 1 && u.wday == 4);
	utc_from_epoch(1709251198, &u); /* 2024-02-29 23:59:58, a Thursday */
	cr_expect(u.year == 2024 && u.month == 2 && u.day == 29 && u.hour == 23 && u.min == 59 &&
		  u.sec == 58 && u.wday == 4);
	utc_from_epoch(4107542400, &u); /* 2100-03-01, after a century that is no leap year */
	cr_expect(u.year == 2100 && u.month == 3 && u.day == 1);
}

Test(utc, same_as_gmtime_over_three_centuries)
{
	/* Every 7 hours and 13 seconds from 1900 to 2200, and the days around each 1 March. */
	for (time_t t = -2208988800LL; t < 7258118400LL; t += 7 * 3600 + 13)
		expect_same(t);
	for (int y = 1901; y < 2200; y++) {
		struct tm tm = {.tm_year = y - 1900, .tm_mon = 2, .tm_mday = 1};
		time_t t = timegm(&tm);
		expect_same(t - 1);
		expect_same(t);
	}
}
