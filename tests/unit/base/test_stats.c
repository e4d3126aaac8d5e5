#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/stats.h"

static void scan(const char *s)
{
	stats_scan_console((const uint8_t *)s, strlen(s));
}

static bool have(enum stats_phase p)
{
	uint64_t ns;

	return stats_get_ns(p, &ns);
}

Test(stats, init_forgets_every_mark)
{
	stats_init();
	stats_mark(STATS_FIRST_RUN);
	stats_boot_timer_hit();
	stats_init();
	for (int p = 0; p < STATS_NPHASES; p++)
		cr_assert_not(have(p), "phase %d", p);
	cr_assert_eq(stats_boot_timer_hits(), 0);
}

Test(stats, first_mark_wins_and_times_are_monotonic)
{
	uint64_t a, b, c;
	struct timespec ms = {0, 2000000};

	stats_init();
	stats_mark(STATS_FIRST_RUN);
	cr_assert(stats_get_ns(STATS_FIRST_RUN, &a));
	nanosleep(&ms, NULL);
	stats_mark(STATS_FIRST_RUN);
	cr_assert(stats_get_ns(STATS_FIRST_RUN, &b));
	cr_assert_eq(a, b);
	stats_boot_timer_hit();
	cr_assert(stats_get_ns(STATS_BOOT_TIMER, &c));
	cr_assert_geq(c, a + 2000000, "2 ms slept between the marks: %llu vs %llu",
		      (unsigned long long)c, (unsigned long long)a);
}

Test(stats, out_of_range_phase_is_ignored)
{
	uint64_t ns;

	stats_init();
	stats_mark(STATS_NPHASES);
	stats_mark((enum stats_phase) - 1);
	cr_assert_not(stats_get_ns(STATS_NPHASES, &ns));
}

Test(stats, run_init_found_in_one_buffer)
{
	stats_init();
	scan("[    0.5] Freeing unused kernel memory\r\n[    0.6] Run /init as init process\r\n");
	cr_assert(have(STATS_RUN_INIT));
}

Test(stats, run_init_split_byte_by_byte)
{
	const char *s = "xxRun /init as init process";

	stats_init();
	for (size_t i = 0; s[i]; i++) {
		stats_scan_console((const uint8_t *)&s[i], 1);
		cr_assert_eq(have(STATS_RUN_INIT), i >= 10, "after byte %zu", i);
	}
}

Test(stats, run_init_split_over_buffers_with_restarts)
{
	stats_init();
	scan("Ru");
	scan("RRun");
	cr_assert_not(have(STATS_RUN_INIT));
	scan(" /in");
	scan("");
	scan("it");
	cr_assert(have(STATS_RUN_INIT));
}

Test(stats, near_misses_do_not_match)
{
	stats_init();
	scan("Run /ini\nRun  /init Run/init run /init Run /Init R un /init");
	cr_assert_not(have(STATS_RUN_INIT));
	scan("Run /initramfs"); /* a prefix is enough: the kernel's line continues */
	cr_assert(have(STATS_RUN_INIT));
}

Test(stats, text_has_no_border_so_the_cheap_fallback_is_exact)
{
	const char *t = STATS_RUN_INIT_TEXT;
	size_t n = strlen(t);

	for (size_t k = 1; k < n; k++)
		cr_assert_neq(memcmp(t, t + n - k, k), 0, "prefix of %zu bytes is a suffix", k);
}

Test(stats, report_prints_every_field_and_dashes_for_missing)
{
	char buf[512] = {0};
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	unsigned long long a, b, d, e, s;

	stats_init();
	cr_assert(f);
	cr_assert_gt(stats_report(f), 0);
	fclose(f);
	cr_assert(sscanf(buf,
			 "boot-timer: setup-to-first-run-us=- first-run-to-timer-us=- "
			 "to-run-init-us=- total-us=%llu to-timer-us=- timer-hits=0 "
			 "start-monotonic-ns=%llu\n",
			 &d, &s) == 2,
		  "report: %s", buf);
	cr_assert_eq(s, stats_start_monotonic_ns());
	cr_assert(have(STATS_EXIT), "the report marks the exit");

	stats_init();
	stats_mark(STATS_FIRST_RUN);
	stats_boot_timer_hit();
	scan("Run /init");
	memset(buf, 0, sizeof(buf));
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	stats_report(f);
	fclose(f);
	unsigned long long c;
	cr_assert(sscanf(buf,
			 "boot-timer: setup-to-first-run-us=%llu first-run-to-timer-us=%llu "
			 "to-run-init-us=%llu total-us=%llu to-timer-us=%llu timer-hits=1 ",
			 &a, &b, &c, &d, &e) == 5,
		  "report: %s", buf);
	cr_assert_leq(a + b, e + 1, "rounding: each field is truncated to whole us");
	cr_assert_geq(a + b + 1, e);
	cr_assert_geq(d, c);
	cr_assert_geq(d, e);
}
