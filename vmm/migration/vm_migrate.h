/* Live migration of a running VM (issue 31): the source side over vmm/migration/stream/mig_send.h,
 * and the destination side over mig_recv.h, both reusing the snapshot's save and restore
 * (vmm/snapshot/vm_snapshot.h) for the final state, so a migration carries exactly what a state
 * file holds.
 *
 * NOT RUN YET: this needs KVM, and the host it was written on has none; the stream, pre-copy,
 * local hand-over and endpoints under it are tested without KVM (test_mig_*), this glue only
 * compiled. See docs/migration.md. */
#ifndef VMM_VM_MIGRATE_H
#define VMM_VM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "host/sandbox/sandbox.h"
#include "vmm/migration/stream/mig_send.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/vm/vm.h"

struct vm_migration;

/* The system calls of the two sides that the API thread's own list lacks (vmm/api/api_http.c
 * adds them to its filter): vm_migrate_start()'s connection (the sender's thread inherits the
 * API thread's filter), and vm_migrate_receive()'s listening socket and RAM memfd (before a VM
 * exists only). */
extern const struct sandbox_list vm_migrate_send_sandbox;
extern const struct sandbox_list vm_migrate_recv_sandbox;

/* Connects to `url` (mig_url.h) and starts sending on a thread of its own; the guest keeps
 * running until the final round (vm_pause()), and after a failure runs on (vm_resume() if it was
 * paused for it). Of `limits` only max_downtime_ms, max_rounds and max_bandwidth are read (0:
 * the defaults, no cap). Returns 0 with *out set, or -errno with the reason (a refused check, no
 * destination). */
int vm_migrate_start(struct vm *vm, const char *url, bool local,
		     const struct mig_send_params *limits, struct vm_migration **out, char *err,
		     size_t errlen);

/* The counters (any thread), and once it failed, why (`err` may be NULL). */
void vm_migrate_progress(struct vm_migration *m, struct mig_progress *p, char *err, size_t errlen);

/* Asks the migration to stop; the guest runs on here. Any thread. */
void vm_migrate_cancel(struct vm_migration *m);

/* Waits for the thread and frees `m`. Returns 0 when the destination took the VM: this VM was
 * stopped (vm_stop(), status 0) and must never run again; else the migration's -errno. */
int vm_migrate_join(struct vm_migration *m);

/* A destination whose VM may run before the migration ends (--migrate-from: the main thread
 * waits for a VM to run): start() is called on the receiving thread once the VM is built during
 * the pre-copy, with vm->start_paused set; it has vm_run() called on another thread, which starts
 * the VM's threads, every vCPU parked before its first instruction (vm_pause_hold_start()). */
struct vm_migrate_early_start {
	void (*start)(void *opaque);
	void *opaque;
};

/* The destination: waits on `url` for one source (up to `timeout_ms`, -1: forever), receives
 * guest RAM (into a memfd, or the source's own memfd for a local migration) and the state, builds
 * the VM from the source's configuration (announced in its HELLO, replayed into `cfg` as
 * snapshot_open() does; the state's must be the same) and sets the state back
 * (snapshot_restore()), then tells the source and waits for its COMMIT. When every configured
 * device may be built beside its running source (device_desc.built_beside_source), the VM is
 * built as soon as HELLO (a local migration: its memfd) has come, during the pre-copy, and with
 * `early` (may be NULL) started paused too: then only setting the state and vm_resume() are left
 * for the guest's pause. Setting `*cancel` (may be NULL; any thread) ends the wait and the stream
 * within 100 ms. Returns 0 with the VM paused and ready for vm_run() (vm->start_paused false),
 * or, when early->start() was called, resumed; or the exit status to end with (the reason logged;
 * the source then keeps its guest): a VM that early->start() started is stopped (vm_stop(),
 * VMM_EXIT_ERROR) for its runner to tear down, else no VM is left (a half-built one is destroyed
 * here) and `vm` may be built again. */
int vm_migrate_receive(struct vm *vm, struct vm_config *cfg, const char *url, int timeout_ms,
		       const atomic_bool *cancel, const struct vm_migrate_early_start *early);

#endif
