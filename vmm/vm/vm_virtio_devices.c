/* Where the VM's virtio devices land: each instance a device descriptor creates
 * (vmm/descriptors/device_table.h) goes on the transport the command line chose for it. The PCI
 * bus exists only once a device asks for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/layout.h"
#include "base/log.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/guest_cpu.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/io_poll.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_virtio.h"

/* The 64-bit window (base/layout.h) where the guest can address it and the RAM stays below it
 * (RAM past 767 GiB: none); every other range above 4 GiB ends by LAYOUT_MEM_MAX. */
static int set_mem64(struct vm *vm)
{
	unsigned bits = vm_arch_guest_phys_bits(vm);
	if (bits < 64 && (1ull << bits) < LAYOUT_PHYS_MAX) {
		log_debug("PCI: no 64-bit window: the guest addresses %u bits", bits);
		return 0;
	}
	if (layout_ram_end(vm->cfg->mem_size) > LAYOUT_MMIO64_BASE) {
		log_debug("PCI: no 64-bit window: the RAM reaches it");
		return 0;
	}
	vm->pci->bus.mmio64_next = LAYOUT_MMIO64_BASE;
	vm->pci->bus.mmio64_end = LAYOUT_MMIO64_BASE + LAYOUT_MMIO64_SIZE;
	return machine_set_pci_mem64(&vm->machine, LAYOUT_MMIO64_BASE, LAYOUT_MMIO64_SIZE);
}

int vm_pci_ensure(struct vm *vm)
{
	if (vm->pci)
		return 0;
	vm_arch_pci_before_create(vm);
	vm->pci = vm_pci_create(&vm->kvm, &vm->pio, &vm->mmio);
	if (!vm->pci)
		return -ENOMEM; /* vm_pci_create() logged why */
	vm_arch_pci_created(vm);
	int err = machine_set_pci(&vm->machine, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
				  PCI_MMIO32_SIZE, 0, 0);
	return err ? err : set_mem64(vm);
}

static int place_on_pci(struct vm *vm, struct virtio_dev *dev)
{
	int err = vm_pci_ensure(vm);
	if (err) {
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	err = vm_pci_add_virtio(vm->pci, dev);
	if (err)
		return err;
	const struct vm_pci_dev *d = vm->pci->devs[vm->pci->ndevs - 1];
	return machine_add_pci_intx(&vm->machine, (uint8_t)d->slot, 0, d->intx_gsi);
}

int vm_virtio_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t)
{
	vm_io_poll_attach(vm, dev);
	int err = t == TRANSPORT_PCI ? place_on_pci(vm, dev) : vm_virtio_add(vm, dev);
	/* Wiring a transport fails only on our side (KVM ioctls, memory, full windows), whatever
	 * errno KVM picked: report it as internal (base/errors.h). The reason was logged. */
	return err ? VMM_ERR_INTERNAL : 0;
}

int vm_virtio_init_and_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t)
{
	int err = virtio_dev_init(dev, &vm->mem);
	if (err) {
		log_error("%s: device init failed: %s", dev->name, strerror(-err));
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	return vm_virtio_place(vm, dev, t);
}

int vm_virtio_place_kept(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t,
			 const struct vm_hotplug_kind *kind, int slot)
{
	if (!slot) {
		int err = vm_virtio_init_and_place(vm, dev, t);
		if (!err && t == TRANSPORT_PCI) /* docs/hotplug.md */
			vm_hotplug_boot_kept(vm, kind, dev);
		return err;
	}
	int err = virtio_dev_init(dev, &vm->mem);
	if (!err)
		err = vm_pci_ensure(vm);
	if (err) {
		log_error("%s: device init failed: %s", dev->name, strerror(-err));
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	return vm_hotplug_boot_device(vm, kind->name, kind, dev, slot);
}

int vm_for_each_virtio_dev(struct vm *vm, int (*fn)(struct virtio_dev *dev, void *opaque),
			   void *opaque)
{
	int r = 0;
	for (int i = 0; vm->virtio && !r && i < vm->virtio->count; i++)
		r = vm->virtio->slots[i].dev ? fn(vm->virtio->slots[i].dev, opaque) : 0;
	/* PCI devices by device number: the boot devices in their order, then the hot-added ones
	 * by slot, which a restore builds again in the same slots (a snapshot's devices follow
	 * this order, vm_snapshot_devices.h) whatever order they were added in */
	int npci = vm->pci ? __atomic_load_n(&vm->pci->ndevs, __ATOMIC_ACQUIRE) : 0;
	for (int slot = 0; !r && npci && slot < 32; slot++)
		for (int i = 0; !r && i < npci; i++) /* a hot-unplugged device is no more */
			if (vm->pci->devs[i]->slot == slot && !vm->pci->devs[i]->gone)
				r = fn(vm->pci->devs[i]->dev, opaque);
	return r;
}

static int count_io_threads(struct virtio_dev *dev, void *opaque)
{
	*(unsigned *)opaque += virtio_dev_groups(dev);
	return 0;
}

static int set_poll_max(struct virtio_dev *dev, void *opaque)
{
	dev->poll_max_ns = *(const uint32_t *)opaque;
	return 0;
}

void vm_virtio_choose_io_poll(struct vm *vm)
{
	unsigned us = vm->cfg->io_poll_us, threads = 0, cpus;

	if (us != VM_IO_POLL_AUTO) {
		log_debug("virtio: I/O threads poll up to %u us (--io-poll)", us);
	} else {
		vm_for_each_virtio_dev(vm, count_io_threads, &threads);
		cpus = host_usable_cpus();
		us = io_poll_default_us(cpus, vm->cfg->ncpus, threads);
		log_debug(
		    "virtio: I/O threads poll up to %u us (default: %u I/O threads, %u vCPUs, "
		    "%u host CPUs)",
		    us, threads, vm->cfg->ncpus, cpus);
	}
	uint32_t ns = us * 1000u;
	vm_for_each_virtio_dev(vm, set_poll_max, &ns);
}
