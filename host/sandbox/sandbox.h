/* The VMM's confinement from inside: each thread, once its setup is done and before it serves
 * the guest, drops every capability, sets no_new_privs and installs a seccomp filter that allows
 * only the system calls its role makes (sandbox_enter()). Filters are per thread and stack: a
 * thread created later inherits its creator's filter and adds its own, so what it may do is
 * the intersection.
 *
 * Each role's list lives next to the code that needs it (vcpu.c, virtio/core/io_thread.c, each
 * device model for what its backend calls, vmm/api/, ...), as a struct sandbox_list; every
 * role also gets sandbox_base (what any thread needs: futex, exit, memory for malloc, signals)
 * and, in sanitized builds only, sandbox_sanitizer (what the ASan/UBSan/LSan runtime calls).
 *
 * Modes (--seccomp): on (default): a forbidden call kills the process (SECCOMP_RET_KILL_PROCESS:
 * SIGSYS; the kernel's audit log names the call); log: libseccomp's SCMP_ACT_LOG, as elsewhere:
 * the call is allowed and the kernel logs it (dmesg: "audit: type=1326 ... comm=THREAD ...
 * syscall=NR"), so a user learns what a list lacks without the VMM dying; off: no filter
 * (capabilities are still dropped). The environment variable VMM_SECCOMP_LEARN=1 is the log mode
 * whatever --seccomp says (kept for scripts that set it). Running the tests in that mode is how
 * the lists are kept complete. */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <linux/capability.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

/* 1 in an AddressSanitizer build (gcc's __SANITIZE_ADDRESS__, clang's __has_feature), where every
 * role also allows what the sanitizer runtime calls (sandbox_sanitizer.c); else 0. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif

enum sandbox_mode { SANDBOX_ON, SANDBOX_LOG, SANDBOX_OFF };

/* The calls of x86_64's table that the asm-generic architectures (aarch64) never had: there glibc
 * makes the *at, p*, epoll_pwait and getdents64 forms, which the lists allow beside these. A
 * rule for one of them names SANDBOX_NO_CALL there and is skipped. */
#define SANDBOX_NO_CALL (-1)
#ifndef SYS_open
#define SYS_access     SANDBOX_NO_CALL
#define SYS_alarm      SANDBOX_NO_CALL
#define SYS_epoll_wait SANDBOX_NO_CALL
#define SYS_getdents   SANDBOX_NO_CALL
#define SYS_lstat      SANDBOX_NO_CALL
#define SYS_open       SANDBOX_NO_CALL
#define SYS_pause      SANDBOX_NO_CALL
#define SYS_poll       SANDBOX_NO_CALL
#define SYS_readlink   SANDBOX_NO_CALL
#define SYS_rename     SANDBOX_NO_CALL
#define SYS_select     SANDBOX_NO_CALL
#define SYS_time       SANDBOX_NO_CALL
#define SYS_unlink     SANDBOX_NO_CALL
#endif
/* A call in no role's list, which sandbox_test_violation() makes: getpgrp(), or where there is
 * no such call (aarch64), getpgid(), which glibc's getpgrp() makes there. */
#ifdef SYS_getpgrp
#define SANDBOX_TEST_CALL SYS_getpgrp
#else
#define SANDBOX_TEST_CALL SYS_getpgid
#endif

/* How an argument is compared; SANDBOX_ANY allows every value of the call. */
enum sandbox_cmp { SANDBOX_ANY, SANDBOX_EQ, SANDBOX_MASKED_ZERO /* (arg & value) == 0 */ };

/* One allowed system call, optionally only with argument `arg` matching. A call may appear in
 * several rules (several allowed values). */
struct sandbox_rule {
	int nr; /* SYS_xxx */
	enum sandbox_cmp cmp;
	unsigned arg;
	uint64_t value;
};

struct sandbox_list {
	const char *name; /* for messages: "vcpu", "virtio-blk", ... */
	const struct sandbox_rule *rules;
	size_t n;
};

#define SANDBOX_LIST(name_, array_)                                                                \
	{                                                                                          \
		(name_), (array_), sizeof(array_) / sizeof((array_)[0])                            \
	}
#define SB_ALLOW(nr_)                                                                              \
	{                                                                                          \
		(nr_), SANDBOX_ANY, 0, 0                                                           \
	}
#define SB_ARG_EQ(nr_, arg_, v_)                                                                   \
	{                                                                                          \
		(nr_), SANDBOX_EQ, (arg_), (uint64_t)(v_)                                          \
	}
#define SB_ARG_NOT(nr_, arg_, bits_)                                                               \
	{                                                                                          \
		(nr_), SANDBOX_MASKED_ZERO, (arg_), (uint64_t)(bits_)                              \
	}

/* What every role allows. */
extern const struct sandbox_list sandbox_base;

/* What the sanitizer runtime calls (sandbox_sanitizer.c), appended to every role in a build with
 * -fsanitize=address; an empty list in any other build. */
const struct sandbox_list *sandbox_sanitizer(void);

/* Sanitized builds: starts the symbolizer and opens ASAN_OPTIONS' log_path file, while no filter
 * exists yet (sandbox_init() calls it). Does nothing in other builds. Returns 0 or -errno. */
int sandbox_sanitizer_prepare(void);

/* Sanitized builds: reads one byte past a heap block, which AddressSanitizer must report (the
 * test hook "overflow"). Returns -ENOTSUP in other builds, where it does nothing. */
int sandbox_sanitizer_test_overflow(void);

/* Turns the sandbox on for this process in `mode` (before any sandbox_enter(); until then,
 * as in unit tests and fuzzers, sandbox_enter() does nothing). Says where the log mode's reports
 * go, and keeps libc's malloc from opening files behind the filters' back (see
 * sandbox.c). Call before any thread exists. Returns 0 or -errno. */
int sandbox_init(enum sandbox_mode mode);

/* Parses "on", "log" or "off". Returns 0 or -EINVAL. */
int sandbox_parse_mode(const char *s, enum sandbox_mode *mode);

/* Confines the calling thread as `role`: capabilities dropped, no_new_privs, and (unless off) a
 * filter allowing sandbox_base plus the given lists. A thread may enter several times; each
 * entry narrows it further. Returns 0 or -errno (logged). */
int sandbox_enter(const char *role, const struct sandbox_list *const *lists, size_t nlists);

/* Compiles now the filter a thread entering with exactly `lists` (sandbox_enter(): the same
 * lists in the same order) will install, and keeps it: that thread then loads the program at once
 * instead of building it (libseccomp's generation is most of a filter's cost, ~0.2 ms each). The
 * filter is the same either way: the same lists, the same default action. For a thread that
 * waits anyway (a VMM waiting on its API socket for a snapshot to load prepares the filters of
 * the threads a restore starts). Call from a thread without a filter (the export needs
 * memfd_create()); nothing happens before sandbox_init() or with --seccomp off. Returns 0 or
 * -errno (logged at debug level: the thread then builds its filter itself, as without it). */
int sandbox_prepare(const char *role, const struct sandbox_list *const *lists, size_t nlists);

/* A capability (CAP_xxx of <linux/capability.h>) as a bit of a `keep` mask. */
#define SANDBOX_CAP(cap) (1ull << (cap))

/* What building a VM needs of root's capabilities, and all the thread that builds it (the main
 * thread, or the broker for the API: host/sandbox/broker.h) keeps until the VM exists: a tap
 * (TUNSETIFF creates one: CAP_NET_ADMIN, 12), the operator's files whatever their owner and
 * mode, as root opens them (CAP_DAC_OVERRIDE, 1; CAP_DAC_READ_SEARCH, 2). */
#define SANDBOX_BUILD_CAPS                                                                         \
	(SANDBOX_CAP(CAP_NET_ADMIN) | SANDBOX_CAP(CAP_DAC_OVERRIDE) |                              \
	 SANDBOX_CAP(CAP_DAC_READ_SEARCH))

/* Confines the calling thread as `role` before the VM exists: every capability dropped but
 * those of `keep` (SANDBOX_CAP bits) it has, no_new_privs, with `landlock` the Landlock set
 * every confined thread gets whatever the VM (sandbox_landlock_apply_base(): nothing but the
 * few files libc and the libraries read), and (unless off) the filter of `lists`. While a user
 * switch is announced (sandbox_announce_user_switch()) the thread also keeps CAP_SETUID and
 * CAP_SETGID and may make the set*id calls with which glibc moves every thread to the new user.
 * The thread enters again with sandbox_enter() once the VM exists, losing all of it. Returns 0
 * or -errno (logged). */
int sandbox_enter_before_vm(const char *role, const struct sandbox_list *const *lists,
			    size_t nlists, uint64_t keep, bool landlock);

/* The API thread's first entry, before its first request: sandbox_enter_before_vm() with no
 * capability kept and Landlock from the start (it opens nothing itself: the broker does,
 * host/sandbox/broker.h). Returns 0 or -errno (logged). */
int sandbox_enter_early(const char *role, const struct sandbox_list *const *lists, size_t nlists);

/* Capabilities only: every one of the calling thread's dropped but those of `keep` (and those a
 * user switch needs while it is announced), and no_new_privs; no filter. For the main thread
 * while it waits for the API to build the VM. Returns 0 or -errno (logged). */
int sandbox_keep_only(const char *role, uint64_t keep);

/* Says that sandbox_switch_user() will run later (--user), for sandbox_enter_early(). */
void sandbox_announce_user_switch(void);

/* Parses "UID:GID" (numbers). Returns 0 or -EINVAL. */
int sandbox_parse_user(const char *s, unsigned *uid, unsigned *gid);

/* Switches the whole process (every thread, as glibc's set*id do) to uid:gid with no
 * supplementary groups: once /dev/kvm, the taps and the disks are open, before any thread
 * confines itself. Returns 0 or -errno (logged). */
int sandbox_switch_user(unsigned uid, unsigned gid);

/* True once sandbox_init() ran (the VMM, not a unit test or fuzzer). */
bool sandbox_enabled(void);

/* Landlock (landlock.h): once the VM is set up, the process may open only the paths that
 * setup allowed. Modules allow what they will open later as they set up (a disk's directory
 * for a drive swap, a socket's directory); sandbox_landlock_seal() freezes the set when the VM
 * exists, before any thread that serves the guest starts, and each sandbox_enter() from then on
 * applies it to its thread (see sandbox_landlock.c for why per thread). On by default; off
 * with --landlock off; a kernel without Landlock gets a warning and no restriction. */
void sandbox_landlock_set(bool on);

/* Allows the directory that holds `path`, and everything beneath it, with `access`
 * (LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE; a relative path is taken from the working
 * directory). Returns 0, -EBUSY once sealed, or -errno (logged). */
int sandbox_landlock_allow_dir_of(const char *path, unsigned access);

/* --landlock-rules "PATH:ro|rw,...": paths the API will name later (a snapshot directory).
 * Returns 0 or -EINVAL. */
int sandbox_landlock_add_rules(const char *spec);

/* Freezes the set and builds the ruleset (once; later calls do nothing). Logs at debug level
 * every path allowed. Returns 0 (also when off or unsupported) or -errno. */
int sandbox_landlock_seal(void);

/* Restricts the calling thread to the sealed set (nothing before the seal). 0 or -errno. */
int sandbox_landlock_apply(void);

/* Restricts the calling thread to what every confined thread may open whatever the VM (the
 * time zone file, /dev/urandom, the CPU count glibc reads; /proc/self in sanitized builds), at
 * any time: for a thread confined before the VM exists. Nothing when Landlock is off or the
 * kernel lacks it. 0 or -errno. */
int sandbox_landlock_apply_base(void);

/* False when Landlock is in force and `path` is not covered with `access` by the set (a
 * lexical check: see landlock_paths_cover()), so a request can be refused with a clear
 * message before the kernel would refuse its open. */
bool sandbox_landlock_allows(const char *path, unsigned access);

/* Test hook: when VMM_SANDBOX_TEST_VIOLATION is ROLE or ROLE:KIND and ROLE is `role`, the
 * calling thread does something its filter forbids right after entering, so a test sees the
 * filter act: KIND "syscall" (the default) calls getpgrp(), "ioctl" makes an ioctl (FIONREAD on
 * stderr) that no role lists, "open" opens /etc/shadow (for Landlock; the result is logged).
 * Each is harmless where it is let through (--seccomp log). Two more check the sanitizers in a
 * confined thread: "leak" loses a 4 KiB block (LeakSanitizer reports it at exit), "overflow"
 * reads past a heap block (AddressSanitizer reports it; sanitized builds only). Ignored unless
 * VMM_SANDBOX_TEST=1 is set too. */
void sandbox_test_violation(const char *role);

#endif
