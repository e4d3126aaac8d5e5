/* The VM with the device table's devices. See device_vm.h. */
#include "vmm/descriptors/device_vm.h"

#include "base/errors.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/device_table.h"

int device_vm_start(struct vm *vm)
{
	for (int i = 0; device_table[i]; i++) {
		int err = device_table[i]->start ? device_table[i]->start(vm) : 0;
		if (err)
			return err;
	}
	return 0;
}

void device_vm_destroy(struct vm *vm)
{
	int n = 0;
	while (device_table[n])
		n++;
	while (n-- > 0)
		if (device_table[n]->destroy)
			device_table[n]->destroy(vm);
	device_state_free_all(vm);
}

void device_vm_terminal_resized(struct vm *vm)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i]->terminal_resized)
			device_table[i]->terminal_resized(vm);
}

int device_vm_create(struct vm *vm)
{
	vm->hotplug_devices = &device_table_hotplug_devices;
	for (int i = 0; device_table[i]; i++) {
		if (!device_table[i]->create)
			continue;
		int err = device_table[i]->create(vm);
		if (err)
			return vmm_exit_status(err);
	}
	return 0;
}

/* --console's host side: COM1's (vmm/vm/vm_devices.c). */
static struct vm_console_host console_host(const struct vm_config *cfg)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	return (struct vm_console_host){.mode = c.mode, .path = c.path, .rate = c.rate};
}

const struct vm_device_ops device_vm_ops = {
    .check = device_table_check,
    .console = console_host,
    .create = device_vm_create,
    .start = device_vm_start,
    .terminal_resized = device_vm_terminal_resized,
    .destroy = device_vm_destroy,
    .shares_memory = device_table_shares_memory,
    .passes_through = device_table_passes_through,
};

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	return vm_build(vm, cfg, &device_vm_ops);
}

int vm_describe(struct vm *vm, const struct vm_config *cfg)
{
	return vm_build_description(vm, cfg, &device_vm_ops);
}

int vm_create_restored(struct vm *vm, const struct vm_config *cfg, int mem_fd)
{
	return vm_build_restored(vm, cfg, &device_vm_ops, mem_fd);
}

int vm_create_migrated(struct vm *vm, const struct vm_config *cfg, struct guest_mem *mem)
{
	return vm_build_migrated(vm, cfg, &device_vm_ops, mem);
}
