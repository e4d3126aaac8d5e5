/* Who stops a working-set recording (vmm/snapshot/working_set_stop.h): a request or the time
 * limit, the first one; the stop function runs once, and the second stop is told who came
 * first and what was written. The stop function is a fake that counts its calls. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/snapshot/working_set_stop.h"

static struct ws_stopper s;
static atomic_int calls;
static int fail; /* the fake's result */
static char err[WS_STOP_MSG_MAX];

static int fake_stop(void *ctx, json_t **doc, char *e, size_t n)
{
	(void)ctx;
	atomic_fetch_add(&calls, 1);
	usleep(2000); /* a stop takes a while: let the other one arrive meanwhile */
	if (fail) {
		snprintf(e, n, "cannot write /s/state.working-set: No space left on device");
		return fail;
	}
	*doc =
	    json_pack("{s:s, s:i, s:i}", "path", "/s/state.working-set", "pages", 42, "ranges", 3);
	return 0;
}

static void setup(void)
{
	ws_stopper_init(&s);
	atomic_store(&calls, 0);
	fail = 0;
	err[0] = '\0';
}

static void teardown(void)
{
	ws_stopper_end(&s);
}

TestSuite(ws_stop, .init = setup, .fini = teardown);

/* Waits up to 5 s for the fake to have been called `n` times. */
static void wait_calls(int n)
{
	for (int i = 0; i < 5000 && atomic_load(&calls) < n; i++)
		usleep(1000);
}

Test(ws_stop, nothing_armed_is_enoent)
{
	json_t *doc = NULL;
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no working set is being recorded"), "%s", err);
	cr_assert_eq(ws_stopper_arm(&s, WS_RECORD_MS_MAX + 1, fake_stop, NULL), -EINVAL);
}

Test(ws_stop, a_request_first_the_second_is_told)
{
	json_t *doc = NULL;

	cr_assert_eq(ws_stopper_arm(&s, 0, fake_stop, NULL), 0);
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "stopped_by")), "request");
	cr_assert_eq(json_integer_value(json_object_get(doc, "pages")), 42);
	json_decref(doc);
	doc = NULL;
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), -EALREADY);
	cr_assert_null(doc);
	cr_assert(strstr(err, "already stopped by an earlier request"), "%s", err);
	cr_assert(strstr(err, "/s/state.working-set holds 42 pages"), "%s", err);
	cr_assert_eq(atomic_load(&calls), 1);
}

Test(ws_stop, the_time_limit_stops_it_and_the_request_is_told)
{
	json_t *doc = NULL;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_assert_eq(ws_stopper_arm(&s, 30, fake_stop, NULL), 0);
	wait_calls(1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert_eq(atomic_load(&calls), 1, "the time limit did not stop the recording");
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	cr_assert_geq(ms, 30, "stopped after %ld ms, before its limit", ms);
	usleep(5000); /* the stop finished (its 2 ms) */
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), -EALREADY);
	cr_assert(strstr(err, "already stopped by its time limit (30 ms)"), "%s", err);
	cr_assert(strstr(err, "holds 42 pages"), "%s", err);
	cr_assert_eq(atomic_load(&calls), 1);
}

Test(ws_stop, a_failed_first_stop_is_reported_to_the_second)
{
	json_t *doc = NULL;

	fail = -ENOSPC;
	cr_assert_eq(ws_stopper_arm(&s, 0, fake_stop, NULL), 0);
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "No space left"), "%s", err);
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), -EALREADY);
	cr_assert(strstr(err, "which failed: cannot write"), "%s", err);
}

/* The request and the limit at the same moment, many times: one stop each time, and the
 * request either made it or was told. */
Test(ws_stop, racing_stops_run_the_stop_once)
{
	for (int i = 0; i < 40; i++) {
		json_t *doc = NULL;
		atomic_store(&calls, 0);
		cr_assert_eq(ws_stopper_arm(&s, 1, fake_stop, NULL), 0);
		usleep((useconds_t)(i % 4) * 500);
		int r = ws_stopper_request(&s, &doc, err, sizeof(err));
		cr_assert(r == 0 || r == -EALREADY, "round %d: %d %s", i, r, err);
		if (r == 0)
			cr_assert_str_eq(json_string_value(json_object_get(doc, "stopped_by")),
					 "request");
		else
			cr_assert(strstr(err, "time limit (1 ms)"), "%s", err);
		json_decref(doc);
		ws_stopper_end(&s);
		cr_assert_eq(atomic_load(&calls), 1, "round %d: %d stops", i, atomic_load(&calls));
	}
}

Test(ws_stop, the_end_cancels_the_limit)
{
	json_t *doc = NULL;
	struct timespec a, b;

	cr_assert_eq(ws_stopper_arm(&s, 60000, fake_stop, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ws_stopper_end(&s);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert_lt(b.tv_sec - a.tv_sec, 2, "the end waited for the limit");
	cr_assert_eq(atomic_load(&calls), 0, "the recording is dropped, not written");
	cr_assert_eq(ws_stopper_request(&s, &doc, err, sizeof(err)), -ENOENT);
}
