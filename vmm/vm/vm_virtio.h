/* The VM's virtio devices on virtio-mmio windows: window placement and KVM wiring. Each window
 * is added to the machine description (firmware/machine.h), which generates what tells the
 * guest about it: the kernel command-line entries, the MP-table interrupts, the device tree. */
#ifndef VMM_VM_VIRTIO_H
#define VMM_VM_VIRTIO_H

#include <stddef.h>

#include "base/layout.h"
#include "virtio/core/device.h"
#include "virtio/transport/virtio_mmio.h"
#include "virtio/vhost_user/vu_frontend.h"
#include "vmm/config/vm_config.h"
#include "vmm/vm/virtio_kvm.h"

struct vm;
struct vm_hotplug_kind;

struct virtio_mmio_slot {
	struct virtio_dev *dev;
	struct virtio_mmio regs;
	struct virtio_kvm_irq irq;
	uint64_t base;
	unsigned gsi;
	bool on_bus, kicks_bound, started;
};

struct vm_virtio {
	struct virtio_mmio_slot slots[VIRTIO_MMIO_MAX];
	int count;
};

/* Puts an initialised device (virtio_dev_init done) in the next free window: registers the
 * window on the MMIO bus, binds its kicks to ioeventfds and its interrupt to an irqfd. Takes
 * ownership of `dev` (destroyed with the VM, also on failure). Returns 0 or -errno (logged). */
int vm_virtio_add(struct vm *vm, struct virtio_dev *dev);

/* Frees a device's allocation after virtio_dev_destroy(): the one place the VMM frees a virtio
 * device it owns (placed devices, and devices that failed before being placed). Device models
 * are one allocation that starts with their struct virtio_dev (virtio/blk/blk.h, net.h, ...); when
 * ops->destroy frees its own device instead, this is the only VMM line that changes. */
void vm_virtio_dev_free(struct virtio_dev *dev);

/* ---- Placing a device a descriptor created (vmm/vm/vm_virtio_devices.c) ---- */

/* Puts an initialised virtio device on transport `t`, creating the PCI bus when the first
 * device asks for it. Takes ownership of `dev` (freed with the VM, also on failure). Returns 0
 * or -errno (logged). */
int vm_virtio_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t);

/* Creates PCI bus 0 and its description (ECAM, window) if no device did yet: for a function that
 * is not virtio (a passed-through device). Returns 0 or -errno (logged). */
int vm_pci_ensure(struct vm *vm);

/* Initialises a device created without guest memory (virtio_dev_init()), then places it.
 * Takes ownership of `dev` in every case. Returns 0 or -errno (logged). */
int vm_virtio_init_and_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t);

/* As vm_virtio_init_and_place() for a boot device of a kept kind (kind->kept, vm/hotplug.h: an
 * rng, a balloon) that is never removed but keeps its PCI slot when an earlier boot device goes
 * (docs/hotplug.md): `slot` 0 places it in order, and on PCI enters it in the hotplug slot table
 * (vm_hotplug_boot_kept()); `slot` N (its record's hotplug-slot=N) puts it at device number N
 * once the boot devices are placed (vm_hotplug_boot_device()). 0 or -errno (logged). */
int vm_virtio_place_kept(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t,
			 const struct vm_hotplug_kind *kind, int slot);

/* Starts every device's I/O thread. */
int vm_virtio_start(struct vm *vm);
/* Stops and frees every device. */
void vm_virtio_destroy(struct vm *vm);

/* How long a vhost-user device (disk, NIC, virtio-fs share) waits for its back-end in one
 * sequence: --vhost-user-timeout, else VU_DEFAULT_TIMEOUT_MS. */
static inline int vm_vu_timeout_ms(const struct vm_config *cfg)
{
	return cfg->vu_timeout_ms ? (int)cfg->vu_timeout_ms : VU_DEFAULT_TIMEOUT_MS;
}

#endif
