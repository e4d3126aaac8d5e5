/* The VMM's confinement from inside: each thread, once its setup is done and before it serves
 * the guest, drops every capability, sets no_new_privs and installs a seccomp filter that allows
 * only the system calls its role makes (sandbox_enter()). Filters are per thread and stack: a
 * thread created later inherits its creator's filter and adds its own, so what it may do is
 * the intersection.
 *
 * Each role's list lives next to the code that needs it (vcpu.c, virtio/core/io_thread.c, each
 * device model for what its backend calls, vmm/api/, ...), as a struct sandbox_list; every
 * role also gets sandbox_base (what any thread needs: futex, exit, memory for malloc, the
 * signal path that reports a violation).
 *
 * Modes (--seccomp): on (default): a forbidden call kills the process (SECCOMP_RET_KILL_PROCESS:
 * SIGSYS; the kernel's audit log names the call); log: a SIGSYS handler first prints which role
 * made which call, then the process dies by SIGSYS; off: no filter (capabilities are still
 * dropped). The environment variable VMM_SECCOMP_LEARN=1 turns every filter's default into
 * "allow and log" (the kernel log then lists each call a role makes that its list lacks, with the
 * thread's name): how the lists are kept complete. */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

enum sandbox_mode { SANDBOX_ON, SANDBOX_LOG, SANDBOX_OFF };

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

/* Turns the sandbox on for this process in `mode` (before any sandbox_enter(); until then,
 * as in unit tests and fuzzers, sandbox_enter() does nothing). Prepares the SIGSYS reporter
 * for the log mode, and keeps libc's malloc from opening files behind the filters' back (see
 * sandbox.c). Call before any thread exists. Returns 0 or -errno. */
int sandbox_init(enum sandbox_mode mode);
enum sandbox_mode sandbox_mode(void);

/* Parses "on", "log" or "off". Returns 0 or -EINVAL. */
int sandbox_parse_mode(const char *s, enum sandbox_mode *mode);

/* Confines the calling thread as `role`: capabilities dropped, no_new_privs, and (unless off) a
 * filter allowing sandbox_base plus the given lists. A thread may enter several times; each
 * entry narrows it further. Returns 0 or -errno (logged). */
int sandbox_enter(const char *role, const struct sandbox_list *const *lists, size_t nlists);

/* Parses "UID:GID" (numbers). Returns 0 or -EINVAL. */
int sandbox_parse_user(const char *s, unsigned *uid, unsigned *gid);

/* Switches the whole process (every thread, as glibc's set*id do) to uid:gid with no
 * supplementary groups: once /dev/kvm, the taps and the disks are open, before any thread
 * confines itself. Returns 0 or -errno (logged). */
int sandbox_switch_user(unsigned uid, unsigned gid);

/* The role the calling thread entered last ("" if none). */
const char *sandbox_role(void);

/* Test builds only: when VMM_SANDBOX_TEST_VIOLATION names this role, the calling thread makes a
 * forbidden call (execve of /bin/true) right after entering, so a test sees the filter act.
 * Refused (ignored) unless the variable VMM_SANDBOX_TEST=1 is set too. */
void sandbox_test_violation(const char *role);

#endif
