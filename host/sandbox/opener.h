/* The opener: the thread that creates and opens the files a request names for writing (a
 * snapshot's state and memory files, the logger's and the metrics' files) once the rest of the
 * process is under Landlock, and hands their descriptors back.
 *
 * Why: Landlock only narrows, and the set is sealed when the VM exists, so a client that asks
 * for a snapshot in a directory the operator never named (--landlock-rules) would be refused,
 * while Firecracker's clients expect the file where they asked. The opener is started with the
 * broker, before any thread confines itself, and never takes the Landlock set; what it does
 * is bounded otherwise:
 *   - no capability at all, ever (it writes only where the VMM's user may: with --user or
 *     inside vmm-jail, the jail's files);
 *   - a seccomp filter of the few calls that open, create, rename, remove and sync files, and
 *     nothing else (no read, no exec, no socket, no ioctl);
 *   - the paths go through host_path_open()'s rules (base/host_path.h): regular files (or a
 *     FIFO for a log), nothing under /proc or /sys, no symbolic link for a snapshot's
 *     temporary file.
 * The descriptors come back to the caller, which writes through them under its own filter and
 * Landlock. One call at a time. */
#ifndef VMM_SANDBOX_OPENER_H
#define VMM_SANDBOX_OPENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Starts the opener thread (named "opener") with its own filter (opener.c). Call while no
 * thread is confined (with the broker). Without sandbox_init() (unit tests) no thread is
 * started and the calls below run on the caller. Returns 0 or -errno (logged). */
int sandbox_opener_start(void);

/* True on the opener, or when there is none. */
bool sandbox_opener_here(void);

/* Runs fn(arg) on the opener (on the caller when there is none) and returns its result. fn may
 * make only the calls of the opener's filter: openat, fstat, lstat, fstatfs, fcntl, close,
 * rename and renameat2 (host_path_replace_commit(): a written file goes only over a regular file
 * or nothing), unlink, fsync. */
int sandbox_opener_run(int (*fn)(void *arg), void *arg);

/* host_path_open() run on the opener: the descriptor, or -errno with err set. */
int sandbox_opener_open(const char *path, int flags, mode_t mode, unsigned kinds, char *err,
			size_t errlen);

/* Ends the opener thread and joins it. */
void sandbox_opener_stop(void);

#endif
