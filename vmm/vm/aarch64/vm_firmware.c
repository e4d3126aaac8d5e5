/* --firmware on aarch64 (vmm/vm/vm_firmware.h): not built yet. An arm64 firmware (EDK2's
 * ArmVirtQemu, as Debian's qemu-efi-aarch64 ships it) needs a flash device pair and an ACPI or
 * device-tree hand-off of its own; until then the option is refused before KVM is opened. */
#include "vmm/vm/vm_firmware.h"

#include <errno.h>
#include <stddef.h>

#include "base/log.h"
#include "vmm/vm/vm.h"

int vm_firmware_open(struct vm *vm, bool boot)
{
	(void)vm, (void)boot;
	log_error("--firmware: booting through a firmware is not supported on aarch64 yet; boot "
		  "the kernel directly (--kernel Image)");
	return -ENOTSUP;
}

bool vm_firmware_legacy_bios(const struct vm *vm)
{
	(void)vm;
	return false;
}

int vm_firmware_setup(struct vm *vm, bool with_kvm)
{
	(void)vm, (void)with_kvm;
	return VMM_EXIT_ERROR; /* not reached: vm_firmware_open() refused */
}

int vm_firmware_restore(struct vm *vm, bool with_kvm)
{
	(void)vm, (void)with_kvm;
	return VMM_EXIT_ERROR;
}

struct fw_cfg *vm_firmware_fw_cfg(struct vm *vm)
{
	(void)vm;
	return NULL;
}

int vm_firmware_add_boot(struct vm *vm, struct fw_cfg *c)
{
	(void)vm, (void)c;
	return 0;
}

struct pflash *vm_firmware_flash(struct vm *vm)
{
	(void)vm;
	return NULL;
}

void vm_firmware_destroy(struct vm *vm)
{
	(void)vm;
}

uint64_t vm_firmware_vmgenid_addr(struct vm *vm)
{
	(void)vm;
	return 0;
}
