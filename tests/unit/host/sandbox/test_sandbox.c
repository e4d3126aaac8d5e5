/* The sandbox's modes and hooks (host/sandbox/sandbox.c): --seccomp on kills a thread's forbidden
 * call, --seccomp log lets it through (SCMP_ACT_LOG), the test hook acts only for its role and
 * only with VMM_SANDBOX_TEST=1, and the sanitizer list exists in sanitized builds only. Each
 * confinement happens in a forked child: a filter cannot be taken off again. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/sandbox/filter_cache.h"
#include "host/sandbox/sandbox.h"

#define ASAN_BUILD SANDBOX_SANITIZED

/* Runs `body` in a child confined as role "t" in `mode` (base list only; sandbox_enter_early(),
 * which is sandbox_enter() when no user switch is announced); returns its wait status. */
static int in_child(enum sandbox_mode mode, void (*body)(void))
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (sandbox_init(mode) || sandbox_enter_early("t", NULL, 0))
			_exit(3);
		body();
		_exit(0);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void forbidden_call(void)
{
	/* getpgrp is in no list; in the log mode it returns as if unfiltered */
	if (syscall(SYS_getpgrp) <= 0)
		_exit(4);
}

static void nothing(void)
{
}

static void hook(void)
{
	sandbox_test_violation("t");
}

static bool killed_by_sigsys(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static bool exited_ok(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Test(sandbox, parses_the_modes)
{
	enum sandbox_mode m = SANDBOX_OFF;
	cr_expect_eq(sandbox_parse_mode("on", &m), 0);
	cr_expect_eq(m, SANDBOX_ON);
	cr_expect_eq(sandbox_parse_mode("log", &m), 0);
	cr_expect_eq(m, SANDBOX_LOG);
	cr_expect_eq(sandbox_parse_mode("off", &m), 0);
	cr_expect_eq(m, SANDBOX_OFF);
	cr_expect_eq(sandbox_parse_mode("On", &m), -EINVAL);
	cr_expect_eq(sandbox_parse_mode("", &m), -EINVAL);
	cr_expect_eq(sandbox_parse_mode("logx", &m), -EINVAL);
}

Test(sandbox, parses_a_user)
{
	unsigned uid = 0, gid = 0;
	cr_expect_eq(sandbox_parse_user("1000:100", &uid, &gid), 0);
	cr_expect_eq(uid, 1000);
	cr_expect_eq(gid, 100);
	cr_expect_eq(sandbox_parse_user("nobody", &uid, &gid), -EINVAL);
	cr_expect_eq(sandbox_parse_user("1:2x", &uid, &gid), -EINVAL);
	cr_expect_eq(sandbox_parse_user("1", &uid, &gid), -EINVAL);
}

Test(sandbox, on_kills_a_forbidden_call)
{
	cr_expect(killed_by_sigsys(in_child(SANDBOX_ON, forbidden_call)));
}

Test(sandbox, on_lets_the_listed_calls_through)
{
	cr_expect(exited_ok(in_child(SANDBOX_ON, nothing)));
}

Test(sandbox, log_lets_a_forbidden_call_through)
{
	cr_expect(exited_ok(in_child(SANDBOX_LOG, forbidden_call)));
}

Test(sandbox, learn_variable_turns_on_into_log)
{
	setenv("VMM_SECCOMP_LEARN", "1", 1);
	cr_expect(exited_ok(in_child(SANDBOX_ON, forbidden_call)));
	unsetenv("VMM_SECCOMP_LEARN");
}

Test(sandbox, hook_acts_for_its_role_only_and_only_in_tests)
{
	unsetenv("VMM_SANDBOX_TEST");
	setenv("VMM_SANDBOX_TEST_VIOLATION", "t", 1);
	cr_expect(exited_ok(in_child(SANDBOX_ON, hook)), "without VMM_SANDBOX_TEST=1");
	setenv("VMM_SANDBOX_TEST", "1", 1);
	cr_expect(killed_by_sigsys(in_child(SANDBOX_ON, hook)), "role t, default kind");
	setenv("VMM_SANDBOX_TEST_VIOLATION", "t:ioctl", 1);
	cr_expect(killed_by_sigsys(in_child(SANDBOX_ON, hook)), "role t, ioctl");
	setenv("VMM_SANDBOX_TEST_VIOLATION", "tt", 1);
	cr_expect(exited_ok(in_child(SANDBOX_ON, hook)), "another role (a longer name)");
	setenv("VMM_SANDBOX_TEST_VIOLATION", "t:ioctl", 1);
	cr_expect(exited_ok(in_child(SANDBOX_LOG, hook)), "log mode: the ioctl is let through");
	unsetenv("VMM_SANDBOX_TEST");
	unsetenv("VMM_SANDBOX_TEST_VIOLATION");
}

/* A filter compiled ahead (sandbox_prepare()) is the one the thread would build: in a child,
 * prepared and then entered with the same list, getppid (listed) works and getpgrp (not
 * listed) kills; `log` says which filter it was. */
static const struct sandbox_rule getppid_rules[] = {SB_ALLOW(SYS_getppid)};
static const struct sandbox_list getppid_list = SANDBOX_LIST("getppid", getppid_rules);

static int prepared_child(bool forbidden)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const struct sandbox_list *lists[] = {&getppid_list};
		if (sandbox_init(SANDBOX_ON) || sandbox_prepare("t", lists, 1) ||
		    sandbox_keep_only("t", 0) || sandbox_enter("t", lists, 1))
			_exit(3);
		if (syscall(SYS_getppid) <= 0)
			_exit(4);
		if (forbidden)
			syscall(SYS_getpgrp);
		_exit(0);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(sandbox, a_filter_compiled_ahead_allows_and_kills_the_same)
{
	cr_expect(exited_ok(prepared_child(false)));
	cr_expect(killed_by_sigsys(prepared_child(true)));
}

Test(sandbox, sanitizer_list_only_in_sanitized_builds)
{
	const struct sandbox_list *l = sandbox_sanitizer();
	cr_assert_not_null(l);
	if (!ASAN_BUILD) {
		cr_expect_eq(l->n, 0, "a release filter must not get the sanitizer's calls");
		cr_expect_eq(sandbox_sanitizer_test_overflow(), -ENOTSUP);
		return;
	}
	bool ptrace = false, clone_any = false;
	for (size_t i = 0; i < l->n; i++) {
		ptrace |= l->rules[i].nr == SYS_ptrace;
		clone_any |= l->rules[i].nr == SYS_clone && l->rules[i].cmp == SANDBOX_ANY;
		cr_expect_neq(l->rules[i].nr, SYS_execve);
	}
	cr_expect(ptrace, "LeakSanitizer's tracer attaches with ptrace");
	cr_expect_not(clone_any, "clone only with the tracer's flags");
}

static void switch_user(void)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(5);
}

/* The API thread confines itself at start; with --user it must still take part in the switch. */
Test(sandbox, early_entry_keeps_the_user_switch_possible_when_announced)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch users");
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		sandbox_announce_user_switch();
		if (sandbox_init(SANDBOX_ON) || sandbox_enter_early("t", NULL, 0))
			_exit(3);
		switch_user();
		_exit(0); /* switch_user() exits 5 if a set*id call failed */
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(exited_ok(status), "status %#x", status);
}

Test(sandbox, early_entry_without_a_switch_is_a_full_entry)
{
	cr_expect(killed_by_sigsys(in_child(SANDBOX_ON, switch_user)));
}

/* Runs body() in a forked child and returns its exit code (-1 if it did not exit). */
static int child_code(int (*body)(void))
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(body());
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int bounding_set_after_init(void)
{
	if (sandbox_init(SANDBOX_OFF))
		return 1;
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0)
			return 2;
	return 0;
}

/* The bounding set goes at sandbox_init(), for the whole process, before any thread exists. */
Test(sandbox, init_drops_the_bounding_set)
{
	if (prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 || geteuid() != 0)
		cr_skip_test("needs root with CAP_SETPCAP");
	cr_expect_eq(child_code(bounding_set_after_init), 0);
}

static int keep_build_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	if (sandbox_init(SANDBOX_OFF) || sandbox_keep_only("t", SANDBOX_BUILD_CAPS))
		return 1;
	if (syscall(SYS_capget, &hdr, data))
		return 2;
	uint64_t eff = data[0].effective | (uint64_t)data[1].effective << 32;
	uint64_t prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	if (eff != SANDBOX_BUILD_CAPS || prm != SANDBOX_BUILD_CAPS)
		return 3;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 4;
	return 0;
}

/* The thread that builds the VM keeps CAP_NET_ADMIN and the DAC pair, nothing else. */
Test(sandbox, keep_only_keeps_the_named_capabilities)
{
	if (geteuid() != 0)
		cr_skip_test("needs root's capabilities");
	cr_expect_eq(child_code(keep_build_caps), 0);
}

static char made[64];

static int early_entry_opens(void)
{
	/* --seccomp off: Landlock alone decides */
	if (sandbox_init(SANDBOX_OFF) || sandbox_enter_early("t", NULL, 0))
		return 1;
	int fd = open(made, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		return 2; /* a file made before, outside every rule */
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 3; /* one every thread may open */
	close(fd);
	return 0;
}

/* The API thread's first entry, before any VM: under Landlock at once, with the always-allowed
 * files only. */
Test(sandbox, early_entry_is_under_landlock_from_the_start)
{
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) < 1)
		cr_skip_test("no Landlock in this kernel");
	snprintf(made, sizeof(made), "/tmp/vmm-test-early.%d", (int)getpid());
	int fd = open(made, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_expect_eq(child_code(early_entry_opens), 0);
	unlink(made);
}

/* The filter is a binary tree of call numbers, not a list (sandbox.c's build_filter()): the
 * kernel runs a new filter for every call number when it is installed, so a list's length
 * costs every thread's confinement. A list has only equality jumps on the number (but for
 * the x32 check); a tree has range jumps. */
static const struct sandbox_rule many_rules[] = {
    SB_ALLOW(SYS_getppid),	   SB_ALLOW(SYS_getpgrp),
    SB_ALLOW(SYS_getuid),	   SB_ALLOW(SYS_getgid),
    SB_ALLOW(SYS_geteuid),	   SB_ALLOW(SYS_getegid),
    SB_ALLOW(SYS_getsid),	   SB_ALLOW(SYS_sched_yield),
    SB_ALLOW(SYS_pause),	   SB_ALLOW(SYS_alarm),
    SB_ALLOW(SYS_nanosleep),	   SB_ALLOW(SYS_getitimer),
    SB_ALLOW(SYS_setitimer),	   SB_ALLOW(SYS_uname),
    SB_ALLOW(SYS_umask),	   SB_ALLOW(SYS_sysinfo),
    SB_ALLOW(SYS_times),	   SB_ALLOW(SYS_getrlimit),
    SB_ALLOW(SYS_getrusage),	   SB_ALLOW(SYS_statfs),
    SB_ALLOW(SYS_fstatfs),	   SB_ALLOW(SYS_sync),
    SB_ALLOW(SYS_gettid),	   SB_ALLOW(SYS_time),
    SB_ALLOW(SYS_set_tid_address), SB_ALLOW(SYS_timer_create),
    SB_ALLOW(SYS_timer_delete),	   SB_ALLOW(SYS_clock_getres),
    SB_ALLOW(SYS_clock_nanosleep), SB_ALLOW(SYS_getcpu),
};
static const struct sandbox_list many_list = SANDBOX_LIST("many", many_rules);

Test(sandbox, a_filter_is_a_tree_of_call_numbers)
{
	const struct sandbox_list *lists[] = {&many_list};
	cr_assert_eq(sandbox_init(SANDBOX_ON), 0);
	cr_assert_eq(sandbox_prepare("t", lists, 1), 0);
	const struct sock_fprog *prog = filter_cache_get(lists, 1);
	cr_assert_not_null(prog);
	unsigned ranges = 0;
	for (unsigned i = 0; i < prog->len; i++) {
		uint16_t code = prog->filter[i].code;
		bool range = BPF_CLASS(code) == BPF_JMP &&
			     (BPF_OP(code) == BPF_JGE || BPF_OP(code) == BPF_JGT);
		/* not the x32 check every x86-64 filter starts with (number >= 0x40000000) */
		if (range && prog->filter[i].k < 0x40000000u)
			ranges++;
	}
	cr_expect_gt(ranges, 0, "no range jump in %u instructions: a list", prog->len);
}
