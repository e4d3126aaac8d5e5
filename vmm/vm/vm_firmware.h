/* --firmware: the image mapped below 4 GiB (loaders/x86/firmware_image.h) and what a PC firmware
 * reads the machine from: fw_cfg (devices/fw_cfg) with the memory map and the CPU count, and
 * the debug console it logs to. The boot vCPU stays in KVM's reset state. */
#ifndef VMM_VM_FIRMWARE_H
#define VMM_VM_FIRMWARE_H

#include <stdbool.h>

struct vm;
struct fw_cfg;

/* Reads and checks vm->cfg->firmware (before KVM: a bad image is the user's mistake, exit 2).
 * Returns 0 or -errno, the reason logged. */
int vm_firmware_open(struct vm *vm);

/* Once RAM, the vCPUs and the legacy devices exist: the ROM slot (`with_kvm`), the shadow copy
 * at 0xE0000, fw_cfg and the debug console on the port bus. Returns 0 or the exit status. */
int vm_firmware_setup(struct vm *vm, bool with_kvm);

/* The fw_cfg device after vm_firmware_setup(), NULL without --firmware: where the ACPI tables
 * go (fw_cfg_add_acpi() in devices/fw_cfg/fw_cfg_machine.h) before the vCPUs run. */
struct fw_cfg *vm_firmware_fw_cfg(struct vm *vm);

/* With --kernel (vm_firmware_boot.c): the kernel, initrd and command line as fw_cfg items, the
 * option ROM that boots them under SeaBIOS and a `bootorder` naming it first; frees vm->boot.
 * Without, nothing. Returns 0 or -errno (logged where it is the user's image). */
int vm_firmware_add_boot(struct vm *vm, struct fw_cfg *c);

/* Releases the devices and the image (after the vCPUs are gone). */
void vm_firmware_destroy(struct vm *vm);

#endif
