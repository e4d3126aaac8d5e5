/* What every thread role may do (sandbox.h): memory for malloc, locks, time, its own exit, the
 * signal path (a vCPU kick, the log mode's SIGSYS report), and writing to stderr. */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "host/sandbox/sandbox.h"

static const struct sandbox_rule base_rules[] = {
    /* malloc and thread stacks; never executable mappings (argument 2: prot) */
    SB_ARG_NOT(SYS_mmap, 2, PROT_EXEC),
    SB_ARG_NOT(SYS_mprotect, 2, PROT_EXEC),
    SB_ALLOW(SYS_munmap),
    SB_ALLOW(SYS_brk),
    SB_ALLOW(SYS_madvise),
    SB_ALLOW(SYS_mremap),
    /* locks, condition variables, thread exit */
    SB_ALLOW(SYS_futex),
    SB_ALLOW(SYS_exit),
    SB_ALLOW(SYS_exit_group),
    SB_ALLOW(SYS_set_robust_list),
    SB_ALLOW(SYS_rseq),
    SB_ALLOW(SYS_sched_yield),
    SB_ALLOW(SYS_getpid),
    SB_ALLOW(SYS_gettid),
    /* time (the vDSO usually answers without a call) */
    SB_ALLOW(SYS_clock_gettime),
    SB_ALLOW(SYS_clock_nanosleep),
    SB_ALLOW(SYS_nanosleep),
    SB_ALLOW(SYS_gettimeofday),
    /* a sleep (poll, nanosleep, futex with a timeout...) that a stop interrupted goes on through
     * restart_syscall once the process continues: Ctrl-Z and fg, SIGSTOP/SIGCONT, a debugger,
     * a frozen cgroup */
    SB_ALLOW(SYS_restart_syscall),
    /* signals: masks, the kick handler's return, the SIGSYS report and its raise() */
    SB_ALLOW(SYS_rt_sigprocmask),
    SB_ALLOW(SYS_rt_sigreturn),
    SB_ALLOW(SYS_rt_sigaction),
    SB_ALLOW(SYS_tgkill),
    /* a thread names itself, then confines itself: capabilities (capget/capset), no_new_privs, its
     * own filter on top of the one it inherited (a filter can only narrow) */
    SB_ARG_EQ(SYS_prctl, 0, PR_SET_NAME),
    SB_ARG_EQ(SYS_prctl, 0, PR_GET_NAME),
    SB_ARG_EQ(SYS_prctl, 0, PR_SET_NO_NEW_PRIVS),
    SB_ARG_EQ(SYS_prctl, 0, PR_CAPBSET_DROP),
    SB_ARG_EQ(SYS_prctl, 0, PR_CAPBSET_READ),
    SB_ARG_EQ(SYS_prctl, 0, PR_GET_SECUREBITS),
    SB_ARG_EQ(SYS_prctl, 0, PR_CAP_AMBIENT),
    SB_ARG_EQ(SYS_prctl, 0, PR_SET_SECCOMP),
    SB_ALLOW(SYS_capget),
    SB_ALLOW(SYS_capset),
    SB_ALLOW(SYS_seccomp),
    /* and, once the VM exists, the Landlock set (sandbox_landlock.c); restricting itself
     * further is all a taken-over thread could do with it */
    SB_ALLOW(SYS_landlock_restrict_self),
    SB_ALLOW(SYS_getrandom),	     /* glibc's malloc and hash seeds */
    SB_ARG_EQ(SYS_ioctl, 1, TCGETS), /* isatty(): is stderr a terminal (log.c) */
    /* messages */
    SB_ARG_EQ(SYS_write, 0, 2),
};

const struct sandbox_list sandbox_base = SANDBOX_LIST("base", base_rules);
