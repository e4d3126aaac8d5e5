/* Per-thread seccomp filters and dropped capabilities. See sandbox.h. */
#include "vmm/sandbox/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/log.h"

#define MAX_SYSCALL_NAMES 512

static enum sandbox_mode mode = SANDBOX_ON;
static bool enabled; /* sandbox_init() ran: the VMM, not a unit test or fuzzer */
static bool learn;
static char *names[MAX_SYSCALL_NAMES]; /* resolved at init: the SIGSYS handler cannot allocate */
static __thread const char *thread_role = "";

const char *sandbox_role(void)
{
	return thread_role;
}

enum sandbox_mode sandbox_mode(void)
{
	return mode;
}

int sandbox_parse_mode(const char *s, enum sandbox_mode *m)
{
	if (!strcmp(s, "on"))
		*m = SANDBOX_ON;
	else if (!strcmp(s, "log"))
		*m = SANDBOX_LOG;
	else if (!strcmp(s, "off"))
		*m = SANDBOX_OFF;
	else
		return -EINVAL;
	return 0;
}

/* Async-signal-safe output of a string. */
static void say(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

static void say_number(long v)
{
	char buf[24], *p = buf + sizeof(buf);
	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	say(p);
}

/* The log mode's reporter: names the thread's role and the call, then dies by SIGSYS. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	int nr = si->si_syscall;
	(void)uc;
	say("vmm: seccomp: the ");
	say(thread_role[0] ? thread_role : "unconfined");
	say(" thread made a forbidden system call: ");
	say(nr >= 0 && nr < MAX_SYSCALL_NAMES && names[nr] ? names[nr] : "?");
	say(" (");
	say_number(nr);
	say(")\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

/* glibc's malloc opens /proc/sys/vm/overcommit_memory the first time free() shrinks a thread
 * arena's heap (shrink_heap -> check_may_shrink_heap), which a filtered thread may not do: a
 * device thread freeing a burst of buffers died by SIGSYS on openat. Heaps shrink only when the
 * free space at their top reaches M_TRIM_THRESHOLD, so a threshold no heap reaches keeps malloc
 * inside the filters (whole free heaps are still unmapped, and large blocks stay mmap()ed). */
#define SANDBOX_TRIM_THRESHOLD (1 << 30)

int sandbox_init(enum sandbox_mode m)
{
	mode = m;
	enabled = true;
	/* mallopt() fails only where malloc is not glibc's (a sanitizer's allocator): then there
	 * is nothing to keep from trimming. */
	if (m != SANDBOX_OFF && !mallopt(M_TRIM_THRESHOLD, SANDBOX_TRIM_THRESHOLD))
		log_debug("sandbox: mallopt(M_TRIM_THRESHOLD) refused; not glibc's malloc?");
	learn = getenv("VMM_SECCOMP_LEARN") && !strcmp(getenv("VMM_SECCOMP_LEARN"), "1");
	if (m != SANDBOX_LOG)
		return 0;
	for (int i = 0; i < MAX_SYSCALL_NAMES; i++)
		if (!names[i])
			names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *r)
{
	switch (r->cmp) {
	case SANDBOX_EQ:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_EQ, r->value, 0));
	case SANDBOX_MASKED_ZERO:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->value, 0));
	case SANDBOX_ANY:
		break;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
}

static int add_list(scmp_filter_ctx ctx, const struct sandbox_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		int err = add_rule(ctx, &l->rules[i]);
		/* -EEXIST: an unconditional rule for the call is there already: nothing to add */
		if (err && err != -EEXIST) {
			log_error("sandbox: %s: rule for system call %d: %s", l->name,
				  l->rules[i].nr, strerror(-err));
			return err;
		}
	}
	return 0;
}

static uint32_t default_action(void)
{
	if (learn)
		return SCMP_ACT_LOG;
	return mode == SANDBOX_LOG ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
}

/* How many distinct system calls the role allows (for the debug log and the README). */
static unsigned count_calls(const struct sandbox_list *const *lists, size_t n)
{
	bool seen[MAX_SYSCALL_NAMES] = {false};
	unsigned count = 0;
	for (size_t i = 0; i <= n; i++) {
		const struct sandbox_list *l = i == n ? &sandbox_base : lists[i];
		for (size_t j = 0; l && j < l->n; j++) {
			int nr = l->rules[j].nr;
			if (nr >= 0 && nr < MAX_SYSCALL_NAMES && !seen[nr]) {
				seen[nr] = true;
				count++;
			}
		}
	}
	return count;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int load_filter(const char *role, const struct sandbox_list *const *lists, size_t n)
{
	uint64_t t0 = now_us();
	scmp_filter_ctx ctx = seccomp_init(default_action());
	if (!ctx)
		return -ENOMEM;
	int err = add_list(ctx, &sandbox_base);
	for (size_t i = 0; !err && i < n; i++)
		err = lists[i] ? add_list(ctx, lists[i]) : 0;
	if (!err)
		err = seccomp_load(ctx); /* sets no_new_privs first (libseccomp's default) */
	if (err)
		log_error("sandbox: cannot install the %s filter: %s", role, strerror(-err));
	else
		log_debug(
		    "sandbox: %s: %u system calls allowed, filter built and loaded in %llu us",
		    role, count_calls(lists, n), (unsigned long long)(now_us() - t0));
	seccomp_release(ctx);
	return err;
}

/* True when the thread has no capability left (a thread created by a confined one). */
static bool no_capabilities(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return false;
	return true;
}

/* Every capability of this thread, and its bounding set (which threads it creates inherit),
 * gone. */
static int drop_capabilities(const char *role)
{
	if (no_capabilities())
		return 0;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		log_debug("sandbox: %s: the bounding set stays (no CAP_SETPCAP)", role);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0 || !no_capabilities()) {
		log_error("sandbox: %s: cannot drop capabilities", role);
		return -EPERM;
	}
	return 0;
}

int sandbox_enter(const char *role, const struct sandbox_list *const *lists, size_t nlists)
{
	if (!enabled)
		return 0; /* tests and fuzzers drive the same code unconfined */
	int err = drop_capabilities(role);
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = -errno;
	if (!err && mode != SANDBOX_OFF)
		err = load_filter(role, lists, nlists);
	if (!err)
		thread_role = role;
	sandbox_test_violation(role);
	return err;
}

void sandbox_test_violation(const char *role)
{
	const char *want = getenv("VMM_SANDBOX_TEST_VIOLATION");
	const char *test = getenv("VMM_SANDBOX_TEST");
	if (!want || !test || strcmp(test, "1") || strcmp(want, role))
		return;
	log_info("sandbox: test: the %s thread calls execve(/bin/true), which it may not", role);
	char *const argv[] = {"/bin/true", NULL};
	execve("/bin/true", argv, argv + 1);
}

int sandbox_parse_user(const char *s, unsigned *uid, unsigned *gid)
{
	char extra;
	if (sscanf(s, "%u:%u%c", uid, gid, &extra) != 2)
		return -EINVAL;
	return 0;
}

int sandbox_switch_user(unsigned uid, unsigned gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		int err = -errno;
		log_error("--user %u:%u: %s", uid, gid, strerror(-err));
		return err;
	}
	log_info("running as uid %u, gid %u", uid, gid);
	return 0;
}
