/* utc_from_epoch(): see base/utc.h. */
#include "base/utc.h"

void utc_from_epoch(time_t t, struct utc_tm *out)
{
	long long days = (long long)t / 86400, secs = (long long)t % 86400;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* 1970-01-01 was a Thursday (4). */
	out->wday = (unsigned)(((days % 7) + 11) % 7);
	/* Days since 0000-03-01, split into 400-year eras of 146097 days. */
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	long long mo = mp < 10 ? mp + 3 : mp - 9;

	out->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	out->month = (unsigned)mo;
	out->year = yoe + era * 400 + (mo <= 2);
	out->hour = (unsigned)(secs / 3600);
	out->min = (unsigned)(secs / 60 % 60);
	out->sec = (unsigned)(secs % 60);
}
