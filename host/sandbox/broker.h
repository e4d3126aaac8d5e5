/* The broker: the thread that opens files (and builds the VM) for the API thread, so that the
 * API thread can be under Landlock from its first request.
 *
 * Landlock only narrows: a thread restricted from the start can never open the kernel, the disks,
 * the log or a snapshot that a later request names. So the API thread parses requests and calls
 * the broker for what touches the file system; the broker, a thread started before any thread
 * confines itself, runs that call (the request's own code, with its own checks: host_path_open()
 * and the Landlock lexical checks) and returns its result. One call at a time.
 *
 * Its confinement: from its start a seccomp filter (the lists given: what building a VM and
 * serving the file requests call), no_new_privs, and only the capabilities a root VMM needs to
 * build a VM for the API (CAP_NET_ADMIN for a tap, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH for
 * the operator's files; CAP_SETUID and CAP_SETGID too while a --user switch is announced); no
 * Landlock until the VM exists, as the files are not known before. Once the VM exists,
 * sandbox_broker_confine() has it enter again like any other thread: no capability, the sealed
 * Landlock set, the narrower filter. So before the VM exists a request may name any file its
 * checks accept; after, only the paths the Landlock set covers, the kernel checking each open.
 *
 * In one process every thread can write every other's memory: the broker is a boundary against
 * a request that names a file (the API thread cannot open it itself, only have it opened by the
 * checks a request goes through), not against code that took over the API thread. */
#ifndef VMM_SANDBOX_BROKER_H
#define VMM_SANDBOX_BROKER_H

#include <stdbool.h>
#include <stddef.h>

#include "host/sandbox/sandbox.h"

/* Starts the broker thread (named "broker"), confined with `lists` (plus sandbox_base) as above.
 * Call while no thread is confined. Without sandbox_init() (unit tests) or when `lists` is NULL
 * no thread is started and sandbox_broker_run() runs its calls on the caller's thread.
 * Returns 0 or -errno (logged). */
int sandbox_broker_start(const struct sandbox_list *const *lists, size_t n);

/* Runs fn(arg) on the broker and returns its result; on the calling thread when there is no
 * broker, or when the caller is the broker itself. */
int sandbox_broker_run(int (*fn)(void *arg), void *arg);

/* Once the VM exists: the broker runs first(arg) when given (the Landlock set's sealing, which
 * needs the broker's capabilities), then, unless it failed, enters again as role "broker" with
 * `lists` (sandbox_enter(): no capabilities, the sealed Landlock set): one call, not two, on
 * the way to the guest running. Returns the first failure's result or 0; without a broker,
 * first(arg) runs here and nothing enters. */
int sandbox_broker_confine(int (*first)(void *arg), void *arg,
			   const struct sandbox_list *const *lists, size_t n);

/* Ends the broker thread (after the last call) and joins it. */
void sandbox_broker_stop(void);

#endif
