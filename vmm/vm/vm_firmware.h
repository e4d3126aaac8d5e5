/* --firmware: the image mapped below 4 GiB (loaders/x86/firmware_image.h) and what a PC firmware
 * reads the machine from: fw_cfg (devices/fw_cfg) with the memory map and the CPU count, and
 * the debug console it logs to. The boot vCPU stays in KVM's reset state. */
#ifndef VMM_VM_FIRMWARE_H
#define VMM_VM_FIRMWARE_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct fw_cfg;

/* Reads and checks vm->cfg->firmware (before KVM: a bad image is the user's mistake, exit 2),
 * and for a `boot` opens --firmware-log (a restore leaves the first run's log alone). Returns 0
 * or -errno, the reason logged. */
int vm_firmware_open(struct vm *vm, bool boot);

/* After vm_firmware_open(): whether --firmware is a legacy BIOS (SeaBIOS: an image that fits the
 * BIOS window below 1 MiB), not UEFI. A BIOS boot's machine gets ACPI fixed hardware, because a
 * BIOS leaves the 8259s unmasked (firmware/acpi/acpi.h says why); false without --firmware. */
bool vm_firmware_legacy_bios(const struct vm *vm);

/* Once RAM, the vCPUs and the legacy devices exist: the ROM slot (`with_kvm`), the shadow copy
 * at 0xE0000, fw_cfg and the debug console on the port bus. Returns 0 or the exit status. */
int vm_firmware_setup(struct vm *vm, bool with_kvm);

/* A restored or migrated firmware VM (its RAM, with the firmware's shadow and tables, comes from
 * the snapshot): the platform as the firmware found it at boot, so the guest sees the same
 * machine: the ROM slot (`with_kvm`) and a UEFI image's PIIX4 PM function. No fw_cfg and no
 * debug console: nothing runs the firmware again (a guest reset ends the VMM). Returns 0 or the
 * exit status. */
int vm_firmware_restore(struct vm *vm, bool with_kvm);

/* The fw_cfg device after vm_firmware_setup(), NULL without --firmware: where the ACPI tables
 * go (fw_cfg_add_acpi() in devices/fw_cfg/fw_cfg_machine.h) before the vCPUs run. */
struct fw_cfg *vm_firmware_fw_cfg(struct vm *vm);

/* With --kernel (x86/vm_firmware_boot.c): the kernel, initrd and command line as fw_cfg items, the
 * option ROM that boots them under SeaBIOS and a `bootorder` naming it first; frees vm->boot.
 * Without, nothing. Returns 0 or -errno (logged where it is the user's image). */
int vm_firmware_add_boot(struct vm *vm, struct fw_cfg *c);

/* Releases the devices and the image (after the vCPUs are gone). */
/* The flash of --firmware-vars once set up (its array is the variable store's file), else NULL:
 * for snapshots. */
struct pflash *vm_firmware_flash(struct vm *vm);

void vm_firmware_destroy(struct vm *vm);

/* Where the firmware put the VM generation ID, as it wrote back to etc/vmgenid_addr; 0: not
 * yet, or no firmware (or no fw_cfg: a restored VM). Guest input: vmgenid_place() checks it. */
uint64_t vm_firmware_vmgenid_addr(struct vm *vm);

#endif
