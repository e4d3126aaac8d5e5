#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

#define SEC 1000000000ULL

Test(log_ratelimit, burst_then_silence_then_a_count)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT;
	unsigned dropped = 99;
	uint64_t t = 7 * SEC;
	for (int i = 0; i < LOG_RATELIMIT_BURST; i++) {
		cr_assert(log_ratelimit_allow(&rl, t + (uint64_t)i, &dropped), "line %d", i);
		cr_assert_eq(dropped, 0);
	}
	for (int i = 0; i < 1000; i++)
		cr_assert_not(log_ratelimit_allow(&rl, t + SEC, &dropped), "flood line %d", i);
	cr_assert_not(log_ratelimit_allow(&rl, t + LOG_RATELIMIT_INTERVAL_NS - 1, &dropped),
		      "still the same window");
	cr_assert(log_ratelimit_allow(&rl, t + LOG_RATELIMIT_INTERVAL_NS, &dropped), "new window");
	cr_assert_eq(dropped, 1001, "reports what it dropped");
	cr_assert(log_ratelimit_allow(&rl, t + LOG_RATELIMIT_INTERVAL_NS + 1, &dropped));
	cr_assert_eq(dropped, 0, "counted once");
}

Test(log_ratelimit, time_zero_and_call_sites_are_independent)
{
	struct log_ratelimit a = LOG_RATELIMIT_INIT, b = LOG_RATELIMIT_INIT;
	unsigned dropped;
	for (int i = 0; i < LOG_RATELIMIT_BURST; i++)
		cr_assert(log_ratelimit_allow(&a, 0, &dropped));
	cr_assert_not(log_ratelimit_allow(&a, 0, &dropped));
	cr_assert(log_ratelimit_allow(&b, 0, &dropped), "another limiter is unaffected");
}

static void warn_from_one_site(int n)
{
	for (int i = 0; i < n; i++)
		log_guest_warn("feature set %d refused", i);
}

/* A guest looping on one complaint gets LOG_RATELIMIT_BURST lines on stderr, not thousands. */
Test(log_guest_warn, floods_are_cut, .init = cr_redirect_stderr)
{
	log_set_level(LOG_INFO);
	warn_from_one_site(5000);
	fflush(stderr);
	FILE *err = cr_get_redirected_stderr();
	char line[256];
	int lines = 0;
	while (fgets(line, sizeof(line), err)) {
		cr_assert_not_null(strstr(line, "vmm: warning: guest: feature set "), "%s", line);
		lines++;
	}
	cr_assert_eq(lines, LOG_RATELIMIT_BURST);
}

Test(log_guest_warn, quiet_level_prints_nothing, .init = cr_redirect_stderr)
{
	log_set_level(LOG_ERROR);
	log_guest_warn("dropped at -q");
	log_set_level(LOG_INFO);
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

/* The API's fault_message carries the last error: one naming two PATH_MAX paths comes whole
 * (issue 46: it was cut at 255 bytes). */
Test(log_last_error, two_long_paths_fit_whole, .init = cr_redirect_stderr)
{
	static char a[4096], b[4096], want[LOG_LAST_ERROR_MAX];
	memset(a, 'a', sizeof(a) - 1);
	memset(b, 'b', sizeof(b) - 1);
	log_clear_last_error();
	log_msg(LOG_ERROR, "cannot rename %s to %s: No such file or directory", a, b);
	snprintf(want, sizeof(want), "cannot rename %s to %s: No such file or directory", a, b);
	cr_assert_str_eq(log_last_error(), want);
}
