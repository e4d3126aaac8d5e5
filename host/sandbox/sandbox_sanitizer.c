/* What the AddressSanitizer / UndefinedBehaviorSanitizer / LeakSanitizer runtime calls behind
 * the code's back, allowed in sanitized builds only (-DVMM_SANITIZE=ON; sandbox.h). A release
 * build compiles an empty list: none of these calls reaches a production filter.
 *
 * Every role gets this list, because the runtime runs in whichever thread happens to need it:
 *   - a thread's exit (ASan removes the thread's alternate signal stack);
 *   - the process's exit, in the thread that calls exit(): LeakSanitizer stops the world
 *     (sanitizer_stoptheworld_linux_libcdep.cpp): it clones a tracer task that lists
 *     /proc/self/task, attaches to each thread with ptrace and reads its registers, while the
 *     exiting thread waits for it, then it reads /proc/self/maps to find the roots;
 *   - a report: written to stderr, or to the log_path file opened here in advance (the runtime
 *     would open it only at the first report, inside a filter that forbids it).
 * Symbolization (decided: allowed, without opening anything inside a filter): GCC's runtime
 * symbolizes in-process with libbacktrace, which the first time opens, stats and reads the
 * executable and every library (measured: ~100 openat calls from the reporting thread), so
 * sandbox_sanitizer_prepare() symbolizes one address while no filter exists yet; a report in a
 * confined thread then finds the debug information loaded and is symbolized with the calls
 * below. symbolize=0 would also work, but leaves the reports of a CI run as bare addresses.
 * (clang's runtime would fork llvm-symbolizer at that first symbolization and talk to it over
 * pipes, which these rules do not allow: a clang-sanitized VMM needs ASAN_OPTIONS=symbolize=0.)
 * What this costs: a sanitized VMM's threads may also open files read-only (legacy open only),
 * read and close any fd and trace their own process. A list missing such a call in the real
 * code is therefore caught by the ordinary (unsanitized) integration tests, not by this run. */
#include "host/sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"

#if SANDBOX_SANITIZED
#include <sanitizer/common_interface_defs.h>

/* LeakSanitizer's tracer task: clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED) and no
 * exit signal; a thread (CLONE_THREAD) or a process of its own cannot be made with it. */
#define LSAN_TRACER_CLONE (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED)

/* The report file's write rule: its fd is known only once sandbox_sanitizer_prepare() opened
 * it (until then fd 2, which base allows anyway). */
#define REPORT_RULE 0

static struct sandbox_rule sanitizer_rules[] = {
    [REPORT_RULE] = SB_ARG_EQ(SYS_write, 0, STDERR_FILENO),
    /* ASan: a thread's exit removes its alternate signal stack; the tracer sets its own */
    SB_ALLOW(SYS_sigaltstack),
    /* LeakSanitizer at exit, in the exiting thread: dumpable (so the tracer may attach; set
     * again after --user made the process undumpable), the tracer allowed (Yama), the tracer
     * made and waited for */
    SB_ARG_EQ(SYS_prctl, 0, PR_GET_DUMPABLE),
    SB_ARG_EQ(SYS_prctl, 0, PR_SET_DUMPABLE),
    SB_ARG_EQ(SYS_prctl, 0, PR_SET_PTRACER),
    SB_ARG_EQ(SYS_clone, 0, LSAN_TRACER_CLONE),
    SB_ALLOW(SYS_wait4),
    /* ... in the tracer: dies with its parent, checks it still has one, lists the threads
     * (/proc/self/task with the legacy open and getdents on x86_64), attaches to each, reads
     * its registers (they may hold the only pointer to a block), detaches */
    SB_ARG_EQ(SYS_prctl, 0, PR_SET_PDEATHSIG),
    SB_ALLOW(SYS_getppid),
    SB_ARG_NOT(SYS_open, 1, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND),
    SB_ALLOW(SYS_getdents),
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_close),
    SB_ARG_EQ(SYS_ptrace, 0, PTRACE_ATTACH),
    SB_ARG_EQ(SYS_ptrace, 0, PTRACE_DETACH),
    SB_ARG_EQ(SYS_ptrace, 0, PTRACE_GETREGSET),
    SB_ALLOW(SYS_sched_getaffinity), /* the runtime's CPU count, asked again at exit */
};

static struct sandbox_list sanitizer_list = SANDBOX_LIST("sanitizer", sanitizer_rules);

const struct sandbox_list *sandbox_sanitizer(void)
{
	return &sanitizer_list;
}

/* ASAN_OPTIONS=log_path=P: the runtime names (and opens) its file P.PID when asked for it;
 * open it once more and make that the report fd, known to the write rule, so that a report
 * inside a filter is a plain write. The file exists from the start: an empty one means no
 * report. */
static int open_report_file(void)
{
	const char *path = __sanitizer_get_report_path();
	if (!path || !*path || !strcmp(path, "stderr") || !strcmp(path, "stdout"))
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error("sandbox: sanitizer log %s: %s", path, strerror(errno));
		return -errno;
	}
	__sanitizer_set_report_fd((void *)(intptr_t)fd);
	sanitizer_rules[REPORT_RULE].value = (uint64_t)fd;
	return 0;
}

int sandbox_sanitizer_prepare(void)
{
	char where[256];
	/* start the symbolizer (see above) while the process may still do anything */
	__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", where, sizeof(where));
	return open_report_file();
}

int sandbox_sanitizer_test_overflow(void)
{
	char *volatile block = malloc(8);
	volatile char past = block[8];
	(void)past;
	free(block);
	return 0;
}

#else

static const struct sandbox_list sanitizer_list = {"sanitizer", NULL, 0};

const struct sandbox_list *sandbox_sanitizer(void)
{
	return &sanitizer_list;
}

int sandbox_sanitizer_prepare(void)
{
	return 0;
}

int sandbox_sanitizer_test_overflow(void)
{
	return -ENOTSUP;
}

#endif
