/* The x86 platform devices of vm->arch_devices (vmm/vm/x86/vm_devices_arch.c), NULL when not
 * attached: for x86 code only (a snapshot saves them, vmm/snapshot/x86/snapshot_devices_arch.c;
 * the firmware boot tells the RTC the RAM size, vmm/vm/x86/vm_firmware.c). */
#ifndef VMM_VM_X86_VM_DEVICES_ARCH_H
#define VMM_VM_X86_VM_DEVICES_ARCH_H

struct vm;
struct i8042;
struct rtc_cmos;
struct post_port;
struct acpi_pm1;
struct piix4_pm;

struct i8042 *vm_devices_i8042(struct vm *vm);
struct rtc_cmos *vm_devices_rtc(struct vm *vm);
struct post_port *vm_devices_post(struct vm *vm);
/* A legacy BIOS boot's fixed-hardware block (its full FADT's PM1 and PM timer). */
struct acpi_pm1 *vm_devices_acpi_pm1(struct vm *vm);
/* A UEFI boot's PIIX4 PM function (vmm/vm/x86/vm_firmware.c has it). */
struct piix4_pm *vm_firmware_piix4_pm(struct vm *vm);

#endif
