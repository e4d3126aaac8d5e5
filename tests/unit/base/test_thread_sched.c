/* thread_sched_short_slice(): the calling thread's slice set, its nice value kept, the threads
 * it creates back on the default slice. On a kernel without per-task slices (before 6.12) the
 * slice reads back as something else: the tests say so and pass. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/thread_sched.h"

static void *read_slice(void *out)
{
	*(int64_t *)out = thread_sched_slice();
	return NULL;
}

/* The slice a new thread gets by default (read on a thread nobody changed). */
static int64_t default_slice(void)
{
	pthread_t t;
	int64_t s = -1;
	cr_assert_eq(pthread_create(&t, NULL, read_slice, &s), 0);
	pthread_join(t, NULL);
	return s;
}

static void *short_slice_then_child(void *out)
{
	int64_t *v = out;
	v[0] = thread_sched_short_slice(THREAD_SCHED_CONTROL_SLICE_NS);
	v[1] = thread_sched_slice();
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, read_slice, &v[2]), 0);
	pthread_join(t, NULL);
	v[3] = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	return NULL;
}

static void run_on_thread(int64_t v[4], int nice)
{
	pthread_t t;
	v[0] = v[1] = v[2] = v[3] = -99;
	/* a new thread starts with its creator's nice: set it on this one for the test thread */
	id_t self = (id_t)syscall(SYS_gettid);
	int old = getpriority(PRIO_PROCESS, self);
	cr_assert_eq(setpriority(PRIO_PROCESS, self, nice), 0);
	cr_assert_eq(pthread_create(&t, NULL, short_slice_then_child, v), 0);
	pthread_join(t, NULL);
	setpriority(PRIO_PROCESS, self, old); /* may fail unprivileged: harmless here */
}

Test(thread_sched, short_slice_for_the_thread_only)
{
	int64_t v[4], def = default_slice();
	cr_assert_geq(def, 0, "sched_getattr: %lld", (long long)def);
	run_on_thread(v, getpriority(PRIO_PROCESS, 0));
	cr_assert_eq(v[0], 0, "thread_sched_short_slice: %lld", (long long)v[0]);
	if (v[1] != (int64_t)THREAD_SCHED_CONTROL_SLICE_NS) {
		cr_log_warn("this kernel keeps no per-thread slice (before Linux 6.12): %lld ns",
			    (long long)v[1]);
		return;
	}
	cr_expect_eq(v[2], def, "a thread it created: slice %lld, default %lld", (long long)v[2],
		     (long long)def);
}

Test(thread_sched, nice_value_kept)
{
	int64_t v[4];
	int nice = getpriority(PRIO_PROCESS, 0) + 3;
	if (nice > 19)
		nice = 19;
	run_on_thread(v, nice);
	cr_assert_eq(v[0], 0);
	cr_expect_eq(v[3], nice, "nice %lld, was %d", (long long)v[3], nice);
}

static void *batch_then_short_slice(void *out)
{
	struct sched_param p = {0};
	cr_assert_eq(pthread_setschedparam(pthread_self(), SCHED_BATCH, &p), 0);
	*(int64_t *)out = thread_sched_short_slice(THREAD_SCHED_CONTROL_SLICE_NS);
	return NULL;
}

Test(thread_sched, batch_policy_left_alone)
{
	pthread_t t;
	int64_t r = -99;
	cr_assert_eq(pthread_create(&t, NULL, batch_then_short_slice, &r), 0);
	pthread_join(t, NULL);
	cr_expect_eq(r, 1, "a SCHED_BATCH thread: %lld (1: left alone)", (long long)r);
}
