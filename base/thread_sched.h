/* The VMM's control threads (the API thread, the broker, the main thread of a VMM with an API)
 * ask the kernel's fair scheduler for a short time slice, so that a request's answer does not
 * wait behind a vCPU thread running its guest. Since Linux 6.12 (EEVDF with per-task slices,
 * sched_attr.sched_runtime) a woken thread whose slice is shorter than the running one's
 * preempts it at once; before, it waited for the running thread's slice to end, which on a
 * kernel with a 250 Hz tick and every CPU running a guest is up to 4 ms (docs/sandboxes.md,
 * "Where a restore's time goes"). The threads these create start with the default slice
 * (SCHED_FLAG_RESET_ON_FORK): the vCPU and device threads are not affected. */
#ifndef VMM_THREAD_SCHED_H
#define VMM_THREAD_SCHED_H

#include <stdint.h>

/* The slice the control threads ask for: the kernel's smallest (0.1 ms). */
#define THREAD_SCHED_CONTROL_SLICE_NS 100000ull

/* The calling thread's slice set to `slice_ns` (the kernel clamps it to 0.1-100 ms), its
 * policy and nice value kept. Left alone, returning 1, when the thread is not SCHED_OTHER or
 * has a negative nice value (the operator's choice, which SCHED_FLAG_RESET_ON_FORK would undo
 * in the threads it creates). 0 when set; -errno when the kernel refuses, nothing changed then
 * (a kernel without per-task slices may accept the call and keep its own slice:
 * thread_sched_slice() tells). */
int thread_sched_short_slice(uint64_t slice_ns);

/* The calling thread's slice in ns (the default, or what was asked), or -errno. */
int64_t thread_sched_slice(void);

#endif
