/* Per-thread seccomp filters and dropped capabilities. See sandbox.h. */
#include "host/sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "host/sandbox/filter_cache.h"

#define MAX_SYSCALL_NAMES 512

static enum sandbox_mode mode = SANDBOX_ON;
static bool enabled; /* sandbox_init() ran: the VMM, not a unit test or fuzzer */
static bool learn;
bool sandbox_enabled(void)
{
	return enabled;
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

/* glibc's malloc opens /proc/sys/vm/overcommit_memory the first time free() shrinks a thread
 * arena's heap (shrink_heap -> check_may_shrink_heap), which a filtered thread may not do: a
 * device thread freeing a burst of buffers died by SIGSYS on openat. Heaps shrink only when the
 * free space at their top reaches M_TRIM_THRESHOLD, so a threshold no heap reaches keeps malloc
 * inside the filters (whole free heaps are still unmapped, and large blocks stay mmap()ed). */
#define SANDBOX_TRIM_THRESHOLD (1 << 30)

/* True when the kernel logs calls that a filter lets through with SECCOMP_RET_LOG (the "log"
 * word in /proc/sys/kernel/seccomp/actions_logged; on by default). */
static bool kernel_logs_log_action(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/kernel/seccomp/actions_logged", "r");
	if (!f)
		return true; /* cannot tell: assume the default */
	bool yes = fgets(buf, sizeof(buf), f) && strstr(buf, "log");
	fclose(f);
	return yes;
}

/* The log mode's one message: nothing is enforced, and where the kernel reports each call a
 * thread's list lacks (comm= is the thread, named after its role; syscall= the number). */
static void say_where_logged(void)
{
	log_warn(
	    "sandbox: --seccomp log: calls outside a thread's list are allowed, and the kernel "
	    "logs each: dmesg | grep 'type=1326.*pid=%d' (comm=THREAD syscall=NUMBER; "
	    "scmp_sys_resolver NUMBER names it)",
	    (int)getpid());
	if (!kernel_logs_log_action())
		log_warn("sandbox: this kernel does not log them: add \"log\" to "
			 "/proc/sys/kernel/seccomp/actions_logged");
}

/* The bounding set, process-wide: called before any thread exists, so every thread starts
 * without one (it limits what an execve() could grant; the VMM executes nothing, and a thread
 * that switched to another user can no longer drop it: PR_CAPBSET_DROP needs CAP_SETPCAP). A
 * VMM started without CAP_SETPCAP (by an unprivileged user) keeps it: nothing can drop it
 * there, and no_new_privs with no execve in any list makes it moot. */
static void drop_bounding_set(void)
{
	int cap;

	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			log_debug("sandbox: the bounding set stays (%s)", strerror(errno));
			return;
		}
	}
}

int sandbox_init(enum sandbox_mode m)
{
	mode = m;
	enabled = true;
	drop_bounding_set();
	/* mallopt() fails only where malloc is not glibc's (a sanitizer's allocator): then there
	 * is nothing to keep from trimming. */
	if (m != SANDBOX_OFF && !mallopt(M_TRIM_THRESHOLD, SANDBOX_TRIM_THRESHOLD))
		log_debug("sandbox: mallopt(M_TRIM_THRESHOLD) refused; not glibc's malloc?");
	learn = getenv("VMM_SECCOMP_LEARN") && !strcmp(getenv("VMM_SECCOMP_LEARN"), "1");
	if (m == SANDBOX_LOG || learn)
		say_where_logged();
	return sandbox_sanitizer_prepare();
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
		if (l->rules[i].nr == SANDBOX_NO_CALL)
			continue; /* not a call of this architecture (sandbox.h) */
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
	/* log: libseccomp's SCMP_ACT_LOG, as everywhere else: the call is made, the kernel logs it
	 */
	if (learn || mode == SANDBOX_LOG)
		return SCMP_ACT_LOG;
	return SCMP_ACT_KILL_PROCESS;
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

/* libseccomp's filter of sandbox_base, the sanitizer's list and `lists` (NULL entries skipped),
 * or NULL with *err set. */
static scmp_filter_ctx build_filter(const struct sandbox_list *const *lists, size_t n, int *err)
{
	scmp_filter_ctx ctx = seccomp_init(default_action());
	*err = ctx ? 0 : -ENOMEM;
	/* A binary tree of system call numbers, not a list: installing a filter has the kernel
	 * run it for every call number (its cache of always-allowed calls), which a list makes
	 * cost ~0.08 ms a thread on kvm_pvm. Best effort: the same filter either way. */
	if (ctx)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (!*err)
		*err = add_list(ctx, &sandbox_base);
	if (!*err)
		*err = add_list(ctx, sandbox_sanitizer());
	for (size_t i = 0; !*err && i < n; i++)
		*err = lists[i] ? add_list(ctx, lists[i]) : 0;
	if (*err && ctx) {
		seccomp_release(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* A program compiled ahead (filter_cache.h): what seccomp_load() does with the same program,
 * no_new_privs first (libseccomp's default; the callers set it already). */
static int install_prepared(const struct sock_fprog *prog)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return -errno;
	return 0;
}

static int load_filter(const char *role, const struct sandbox_list *const *lists, size_t n)
{
	uint64_t t0 = mono_us();
	const struct sock_fprog *prog = filter_cache_get(lists, n);
	int err = 0;
	if (prog) {
		err = install_prepared(prog);
	} else {
		scmp_filter_ctx ctx = build_filter(lists, n, &err);
		if (ctx) {
			err =
			    seccomp_load(ctx); /* sets no_new_privs first (libseccomp's default) */
			seccomp_release(ctx);
		}
	}
	if (err)
		log_error("sandbox: cannot install the %s filter: %s", role, strerror(-err));
	else
		log_debug("sandbox: %s: %u system calls allowed, filter %s in %llu us", role,
			  count_calls(lists, n),
			  prog ? "compiled ahead, loaded" : "built and loaded",
			  (unsigned long long)(mono_us() - t0));
	return err;
}

/* The BPF program of `ctx` as libseccomp would load it, into the cache for `lists`: exported
 * into a memfd (libseccomp 2.5 exports only to a file descriptor) and read back. */
static int cache_filter(scmp_filter_ctx ctx, const struct sandbox_list *const *lists, size_t n)
{
	int fd = memfd_create("vmm-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = seccomp_export_bpf(ctx, fd);
	off_t len = err ? 0 : lseek(fd, 0, SEEK_END);
	struct sock_filter *insns = NULL;
	if (!err &&
	    (len <= 0 || len % (off_t)sizeof(*insns) || len / (off_t)sizeof(*insns) > BPF_MAXINSNS))
		err = -EINVAL;
	if (!err && !(insns = malloc((size_t)len)))
		err = -ENOMEM;
	if (!err && pread(fd, insns, (size_t)len, 0) != len)
		err = -EIO;
	if (!err)
		err = filter_cache_put(lists, n, insns,
				       (unsigned short)(len / (off_t)sizeof(*insns)));
	free(insns);
	close(fd);
	return err == -EEXIST ? 0 : err;
}

int sandbox_prepare(const char *role, const struct sandbox_list *const *lists, size_t n)
{
	if (!enabled || mode == SANDBOX_OFF || filter_cache_get(lists, n))
		return 0;
	uint64_t t0 = mono_us();
	int err;
	scmp_filter_ctx ctx = build_filter(lists, n, &err);
	if (ctx) {
		err = cache_filter(ctx, lists, n);
		seccomp_release(ctx);
	}
	if (err)
		log_debug("sandbox: %s: the filter is not compiled ahead (%s): built when the "
			  "thread confines itself",
			  role, strerror(-err));
	else
		log_debug("sandbox: %s: filter compiled ahead in %llu us", role,
			  (unsigned long long)(mono_us() - t0));
	return err;
}

/* The calling thread's effective and permitted capabilities (bit n: capability n), and
 * whether it has inheritable ones (capget() of pid 0: this thread). */
static int get_capabilities(uint64_t *eff, uint64_t *prm, bool *inh)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	*eff = data[0].effective | (uint64_t)data[1].effective << 32;
	*prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	*inh = data[0].inheritable || data[1].inheritable;
	return 0;
}

/* Every capability of this thread gone but those of `keep` (bits) it has; none inheritable.
 * The bounding set went at sandbox_init(). */
static int keep_capabilities(const char *role, uint64_t keep)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	uint64_t eff, prm;
	bool inh;

	if (get_capabilities(&eff, &prm, &inh) == 0 && !(eff & ~keep) && !(prm & ~keep) && !inh)
		return 0; /* nothing to drop (a thread created by a confined one) */
	prm &= keep;
	eff &= prm;
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)prm;
	data[1].permitted = (uint32_t)(prm >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0 || get_capabilities(&eff, &prm, &inh) || inh ||
	    (eff | prm) & ~keep) {
		log_error("sandbox: %s: cannot drop capabilities", role);
		return -EPERM;
	}
	return 0;
}

/* glibc's setresuid() & co. make every thread of the process run the call itself (SIGSETXID),
 * a thread confined before the switch included. */
static const struct sandbox_rule setxid_rules[] = {
    SB_ALLOW(SYS_setgroups),
    SB_ALLOW(SYS_setresgid),
    SB_ALLOW(SYS_setresuid),
};
static const struct sandbox_list setxid_list = SANDBOX_LIST("setxid", setxid_rules);

static bool user_switch_announced;

void sandbox_announce_user_switch(void)
{
	user_switch_announced = true;
}

/* What a thread that takes part in the announced user switch keeps until then. */
static uint64_t switch_caps(void)
{
	return user_switch_announced ? SANDBOX_CAP(CAP_SETUID) | SANDBOX_CAP(CAP_SETGID) : 0;
}

int sandbox_keep_only(const char *role, uint64_t keep)
{
	if (!enabled)
		return 0;
	int err = keep_capabilities(role, keep | switch_caps());
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = -errno;
	return err;
}

int sandbox_enter_before_vm(const char *role, const struct sandbox_list *const *lists,
			    size_t nlists, uint64_t keep, bool landlock)
{
	if (!enabled)
		return 0;
	const struct sandbox_list *all[nlists + 1];
	for (size_t i = 0; i < nlists; i++)
		all[i] = lists[i];
	all[nlists] = &setxid_list;
	int err = sandbox_keep_only(role, keep);
	if (!err && landlock && (err = sandbox_landlock_apply_base()))
		log_error("sandbox: %s: cannot apply Landlock: %s", role, strerror(-err));
	if (!err && mode != SANDBOX_OFF)
		err = load_filter(role, all, nlists + (user_switch_announced ? 1 : 0));
	if (!err && (keep | switch_caps()))
		log_debug("sandbox: %s keeps capabilities 0x%llx until the VM exists", role,
			  (unsigned long long)(keep | switch_caps()));
	sandbox_test_violation(role);
	return err;
}

int sandbox_enter_early(const char *role, const struct sandbox_list *const *lists, size_t nlists)
{
	return sandbox_enter_before_vm(role, lists, nlists, 0, true);
}

int sandbox_enter(const char *role, const struct sandbox_list *const *lists, size_t nlists)
{
	if (!enabled)
		return 0; /* tests and fuzzers drive the same code unconfined */
	int err = keep_capabilities(role, 0);
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = -errno;
	/* Landlock before this entry's filter; the set once the VM exists (sandbox_landlock.c) */
	if (!err && (err = sandbox_landlock_apply()))
		log_error("sandbox: %s: cannot apply the Landlock set: %s", role, strerror(-err));
	if (!err && mode != SANDBOX_OFF)
		err = load_filter(role, lists, nlists);
	sandbox_test_violation(role);
	return err;
}

static void *volatile leak_sink;

/* The forbidden acts of sandbox_test_violation(), each harmless if it is let through. */
static void test_act(const char *role, const char *kind)
{
	if (!strcmp(kind, "ioctl")) {
		int n = 0; /* FIONREAD on stderr: in no role's list */
		long r = syscall(SYS_ioctl, STDERR_FILENO, FIONREAD, &n);
		log_info("sandbox: test: the %s thread's ioctl(FIONREAD) returned %ld", role, r);
	} else if (!strcmp(kind, "open")) {
		long r = syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY | O_CLOEXEC);
		log_info("sandbox: test: the %s thread's open(/etc/shadow): %s", role,
			 r < 0 ? strerror(errno) : "opened");
		if (r >= 0)
			close((int)r);
	} else if (!strcmp(kind, "leak")) {
		leak_sink = malloc(4096); /* LeakSanitizer must report it at exit */
		log_info("sandbox: test: the %s thread leaks 4096 bytes at %p", role, leak_sink);
		leak_sink = NULL;
	} else if (!strcmp(kind, "overflow")) {
		if (sandbox_sanitizer_test_overflow() < 0)
			log_info("sandbox: test: not a sanitized build: no overflow");
	} else {
		long r = syscall(SANDBOX_TEST_CALL); /* in no role's list */
		log_info("sandbox: test: the %s thread's getpgrp() returned %ld", role, r);
	}
}

void sandbox_test_violation(const char *role)
{
	const char *want = getenv("VMM_SANDBOX_TEST_VIOLATION");
	const char *test = getenv("VMM_SANDBOX_TEST");
	if (!want || !test || strcmp(test, "1"))
		return;
	const char *colon = strchr(want, ':');
	size_t len = colon ? (size_t)(colon - want) : strlen(want);
	if (strlen(role) != len || strncmp(want, role, len))
		return;
	const char *kind = colon ? colon + 1 : "syscall";
	log_info("sandbox: test: the %s thread makes a forbidden call (%s)", role, kind);
	test_act(role, kind);
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
	int pdeath = 0;
	(void)prctl(PR_GET_PDEATHSIG, &pdeath);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		int err = -errno;
		log_error("--user %u:%u: %s", uid, gid, strerror(-err));
		return err;
	}
	/* the kernel clears the parent-death signal when the credentials change: a rebooting
	 * VM's process (vmm/vm/reboot.h) keeps it */
	if (pdeath && prctl(PR_SET_PDEATHSIG, pdeath) < 0)
		log_warn("--user: cannot keep the parent-death signal: %s", strerror(errno));
	log_info("running as uid %u, gid %u", uid, gid);
	return 0;
}
