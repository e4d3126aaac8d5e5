/* libc's lazy initialisation done once, at start, before any thread is confined.
 *
 * Several library calls initialise themselves on their first use in the process, and that
 * first use opens a file or makes a system call that a confined thread's filter forbids. Which
 * thread comes first depends on what happened before (a guest reading the clock killed the VMM
 * only when nothing had logged a timestamp yet), so each such dependency is removed here or at
 * its call site; docs/security.md ("libc inside the sandbox") lists them all. */
#ifndef VMM_LIBC_INIT_H
#define VMM_LIBC_INIT_H

/* Called first thing in main(), single-threaded, unconfined:
 *   - jansson seeds its hash function from /dev/urandom (an open()) when the first JSON object
 *     is made: seeded here from getrandom() instead (json_object_seed());
 *   - glibc's malloc counts the CPUs (a file in /sys, or sched_getaffinity) the first time a
 *     thread needs a new arena past the eighth: the limit glibc would compute, 8 per online
 *     CPU, is set here (M_ARENA_MAX), so malloc never asks. */
void libc_init_early(void);

#endif
