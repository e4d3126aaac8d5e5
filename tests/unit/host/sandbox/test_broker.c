/* The broker (host/sandbox/broker.c): without a broker a call runs where it is made; with one it
 * runs on the broker's own thread, one at a time, and returns its result; the broker confines
 * itself again when asked, after a first step on its own thread (which a failure ends there),
 * and ends when stopped. The sandbox is turned on (sandbox_init) in a
 * forked child only: it cannot be turned off again. */
#include <criterion/criterion.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/sandbox/broker.h"
#include "host/sandbox/broker_test.h"

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

struct seen {
	pid_t tid;
	bool here;
};

static int record(void *arg)
{
	struct seen *s = arg;
	s->tid = tid();
	s->here = sandbox_broker_here();
	return 7;
}

/* record(), returning 0: a step before the broker's entry that succeeded */
static int record_ok(void *arg)
{
	return record(arg) == 7 ? 0 : -1;
}

Test(broker, without_one_a_call_runs_on_the_caller)
{
	struct seen s = {0};
	cr_expect(sandbox_broker_here());
	cr_expect_eq(sandbox_broker_start(NULL, 0), 0); /* no sandbox_init(): no thread */
	cr_expect_eq(sandbox_broker_run(record, &s), 7);
	cr_expect_eq(s.tid, tid());
	cr_expect_eq(sandbox_broker_confine(NULL, NULL, NULL, 0), 0);
	s.tid = 0;
	cr_expect_eq(sandbox_broker_confine(record, &s, NULL, 0), 7, "the first step's result");
	cr_expect_eq(s.tid, tid(), "the first step ran here");
	sandbox_broker_stop();
}

/* Exit codes of the child: 0 all held, else the number of the check that failed. */
static int broker_child(void)
{
	static const struct sandbox_rule none[] = {SB_ALLOW(SYS_getpid)};
	static const struct sandbox_list list = SANDBOX_LIST("t", none);
	const struct sandbox_list *lists[] = {&list};
	struct seen s = {0};

	if (sandbox_init(SANDBOX_OFF) || sandbox_broker_start(lists, 1))
		return 1;
	if (sandbox_broker_here())
		return 2; /* the caller is not the broker */
	if (sandbox_broker_run(record, &s) != 7 || s.tid == tid() || !s.here)
		return 3;
	pid_t first = s.tid;
	if (sandbox_broker_run(record, &s) != 7 || s.tid != first)
		return 4; /* the same thread every time */
	if (sandbox_broker_confine(record, &s, lists, 1) != 7 || s.tid != first)
		return 5; /* a failed first step's result, on the broker (not entered) */
	if (sandbox_broker_confine(record_ok, &s, lists, 1) || s.tid != first)
		return 7; /* the first step, then the entry, on the broker */
	sandbox_broker_stop();
	if (!sandbox_broker_here() || sandbox_broker_run(record, &s) != 7 || s.tid != tid())
		return 6; /* stopped: calls run where they are made again */
	return 0;
}

Test(broker, runs_calls_on_its_own_thread)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(broker_child());
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "check %d failed",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
