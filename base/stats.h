/* Boot-time phases of one VMM process, for `--boot-timer` and tools/bench.
 *
 * "Process start" here is the CLOCK_MONOTONIC time stats_init() reads as the first statement of
 * main(): it leaves out the kernel's execve() and the dynamic loader (their cost shows up only in
 * a launcher's wall-clock measurement; tools/bench measures that too). Firecracker does the same
 * when no jailer passes it a start time. The report also prints that start time as an absolute
 * CLOCK_MONOTONIC value so a launcher that read the same clock just before fork() can compute
 * its launch-to-main time.
 *
 * Each phase is recorded once, at its first occurrence (later marks are ignored), from any
 * thread; every time is kept in nanoseconds since process start. One recorder per process. */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum stats_phase {
	STATS_FIRST_RUN,  /* the boot vCPU's first KVM_RUN */
	STATS_BOOT_TIMER, /* the guest's first write of 123 to the boot timer */
	STATS_RUN_INIT,	  /* the console first showed "Run /init" (Linux starts user space) */
	STATS_EXIT,	  /* the VM has stopped and is torn down: the VMM is about to exit */
	STATS_NPHASES,
};

/* The text stats_scan_console() looks for: Linux prints "Run /init as init process". */
#define STATS_RUN_INIT_TEXT "Run /init"

/* Reads the process start time (call first thing in main()) and forgets every mark. */
void stats_init(void);

/* Records `phase` now, unless it was already recorded. Any thread. */
void stats_mark(enum stats_phase phase);

/* Counts one boot-timer hit and marks STATS_BOOT_TIMER (first hit). Returns the microseconds
 * since process start. */
uint64_t stats_boot_timer_hit(void);

/* The CLOCK_MONOTONIC time of process start, in nanoseconds. */
uint64_t stats_start_monotonic_ns(void);

/* Feeds console output to a matcher for STATS_RUN_INIT_TEXT that keeps its state across calls
 * (the text may be split over any number of buffers). Once found it marks STATS_RUN_INIT and
 * every later call returns at once. Calls must be serialised (one console output path). */
void stats_scan_console(const uint8_t *buf, size_t n);

/* Writes the report, one line:
 *   boot-timer: setup-to-first-run-us=A first-run-to-timer-us=B to-run-init-us=C total-us=D
 *               to-timer-us=E timer-hits=N start-monotonic-ns=S
 * A: process start to first KVM_RUN; B: first KVM_RUN to first boot-timer hit; C: process start
 * to "Run /init"; D: process start to STATS_EXIT (marked now if it was not); E: process start to
 * the first boot-timer hit. A phase never reached prints "-". Returns what fprintf returns. */
int stats_report(FILE *out);

#endif
