/* The arm64 platform devices of vm->arch_devices (vmm/vm/aarch64/vm_devices_arch.c), NULL when
 * not attached: for aarch64 code only (a snapshot saves them,
 * vmm/snapshot/aarch64/snapshot_devices_arch.c). */
#ifndef VMM_VM_AARCH64_VM_DEVICES_ARCH_H
#define VMM_VM_AARCH64_VM_DEVICES_ARCH_H

struct vm;
struct pl031;

struct pl031 *vm_devices_pl031(struct vm *vm);

#endif
