/* Calendar time in UTC without libc's time-zone machinery.
 *
 * glibc's gmtime_r(), localtime_r(), mktime() and strftime() load the time zone (TZ,
 * /etc/localtime) the first time any of them runs in the process. Confined threads (seccomp,
 * Landlock) may not open files, so the first such call in a vCPU or I/O thread killed the VMM
 * by its own filter: a Linux guest's rtc_cmos driver reading the CMOS clock did (issue 46).
 * Nothing in the VMM calls those functions; this does the arithmetic instead. */
#ifndef VMM_UTC_H
#define VMM_UTC_H

#include <time.h>

struct utc_tm {
	long long year; /* e.g. 2026 */
	unsigned month; /* 1-12 */
	unsigned day;	/* 1-31 */
	unsigned hour, min, sec;
	unsigned wday; /* 0 = Sunday */
};

/* Seconds since the epoch (negative too) as a UTC calendar date: Howard Hinnant's
 * days-to-civil algorithm, exact over the whole proleptic Gregorian calendar. */
void utc_from_epoch(time_t t, struct utc_tm *out);

#endif
