/* The VM with the device table's devices. The VM (vmm/vm/vm.h) never walks the table: its
 * builders take the hooks of struct vm_device_ops (vmm/vm/vm_device_ops.h), and the table's are
 * here, with vm_create() and its variants, which hand them over. Whatever builds a VM calls
 * these (vmm/main.c, the API, a restore, a live migration's destination). */
#ifndef VMM_DESCRIPTORS_DEVICE_VM_H
#define VMM_DESCRIPTORS_DEVICE_VM_H

#include "vmm/config/vm_config.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_device_ops.h"

/* The device table's answers to the VM: the functions below, device_table_check(),
 * device_table_shares_memory(), device_table_passes_through() and --console's host side. */
extern const struct vm_device_ops device_vm_ops;

/* Builds the whole VM from `cfg`: KVM, RAM, devices, kernel and boot state, vCPUs. Returns 0, or
 * the exit status to end with, chosen by the errno class of the failure (base/errors.h:
 * VMM_EXIT_USAGE for a bad image, file or device option, VMM_EXIT_ERROR for resources and
 * KVM); the reason was logged. vm_destroy() is safe after a failed vm_create(). */
int vm_create(struct vm *vm, const struct vm_config *cfg);

/* vm_create() without KVM, for --dump-dtb: the same checks of every input, the devices (their
 * KVM notifications going nowhere) and the kernel loaded, so vm->machine describes exactly the
 * VM vm_create() would build; no vCPUs, nothing to run. vm_destroy() after, in every case. */
int vm_describe(struct vm *vm, const struct vm_config *cfg);

/* vm_create() for a snapshot being restored (vmm/snapshot/vm_snapshot.h): guest RAM is the memory
 * file `mem_fd` mapped copy-on-write, and no kernel is loaded; the caller then sets the saved state
 * back with snapshot_restore(). Same return values as vm_create(). With guest RAM a page-fault
 * handler serves: vm_create_restored_uffd() (vmm/snapshot/vm_uffd.h). */
int vm_create_restored(struct vm *vm, const struct vm_config *cfg, int mem_fd);

/* vm_create_restored() for a live migration's destination (vmm/migration/vm_migrate.h): guest RAM
 * is `mem`, already received (a memfd mapped shared, or the source's own memfd for a local
 * migration), taken over by the VM (zeroed here; vm_destroy() frees it, on failure too). */
int vm_create_migrated(struct vm *vm, const struct vm_config *cfg, struct guest_mem *mem);

/* The virtio devices the configuration asks for, created by walking the device table. Returns 0,
 * or the exit status for the failure's errno class (base/errors.h): VMM_EXIT_USAGE for what the
 * user gave (a missing or locked disk file, a tap that cannot be opened), VMM_EXIT_ERROR for the
 * rest (out of memory, KVM wiring). */
int device_vm_create(struct vm *vm);
/* The table's start hooks, in order (0 or -errno). */
int device_vm_start(struct vm *vm);
/* The table's destroy hooks, in reverse order, then every run-time block freed
 * (device_state_free_all()). */
void device_vm_destroy(struct vm *vm);
/* The host terminal changed size (SIGWINCH, read from the signalfd by the main thread): the
 * table's terminal_resized hooks, in order. Never blocks and takes no device lock. */
void device_vm_terminal_resized(struct vm *vm);

#endif
