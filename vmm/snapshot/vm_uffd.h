/* A restored VM whose RAM a page-fault handler fills (vmm/snapshot/format/snap_uffd.h): the
 * registration and hand-off as its RAM is mapped, and the thread that watches the handler for
 * as long as the VM exists. */
#ifndef VMM_VM_UFFD_H
#define VMM_VM_UFFD_H

#include <stdbool.h>
#include <stddef.h>

#include "host/sandbox/sandbox.h"

struct vm;
struct vm_config;

/* vm_create_restored() (vmm/descriptors/device_vm.h) with guest RAM anonymous and filled by the
 * page-fault handler listening at `uffd_path` (vm_uffd_start(): registered and handed over before
 * anything touches it). */
int vm_create_restored_uffd(struct vm *vm, const struct vm_config *cfg, const char *uffd_path);

/* What the thread that restores a snapshot (the API thread) calls for it: the userfaultfd and
 * its ioctls, the connection to the handler. In that thread's list before it is confined; the
 * watch thread it starts inherits them and narrows itself to its own list. */
extern const struct sandbox_list vm_uffd_setup_sandbox;

/* Maps vm->mem anonymous for vm->cfg->mem_size bytes, registers it, hands it to the handler at
 * `path` and starts the watch, which stops the VM (VM_STOP_ERROR) with a logged reason if the
 * handler dies, talks, leaves a fault unread, or the restore is not done within
 * SNAP_UFFD_RESTORE_MS (vm_uffd_restored() ends that clock). Nothing may touch guest RAM
 * before this. Returns 0 or -errno, the reason logged (log_last_error()). */
int vm_uffd_start(struct vm *vm, const char *path);

/* The restore is complete: ends its deadline. Returns 0, or -EIO with the watch's reason in err
 * when the handler has already failed (the restore must then be refused). */
int vm_uffd_restored(struct vm *vm, char *err, size_t errlen);

/* True, with the reason in err, when vm's handler failed (its RAM may then hold zero pages the
 * snapshot did not have: nothing may be saved from it). False for a VM without a handler. */
bool vm_uffd_failed(struct vm *vm, char *err, size_t errlen);

/* Ends the watch, which unregisters the guest RAM as it goes (from then on nothing waits for
 * the handler), and closes the userfaultfd and the socket: first thing in vm_destroy(), before
 * the vCPUs and the RAM go (vm_uffd_start() has it called there: vm_on_destroy()); from any
 * thread (the main thread's filter needs nothing for it but write, futex and close). Does nothing
 * for a VM without a handler. */
void vm_uffd_stop(struct vm *vm);

#endif
