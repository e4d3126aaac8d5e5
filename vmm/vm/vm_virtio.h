/* The VM's virtio devices on virtio-mmio windows: window placement and KVM wiring. Each window
 * is added to the machine description (firmware/machine.h), which generates what tells the
 * guest about it: the kernel command-line entries, the MP-table interrupts, the device tree. */
#ifndef VMM_VM_VIRTIO_H
#define VMM_VM_VIRTIO_H

#include <stddef.h>

#include "base/layout.h"
#include "virtio/core/device.h"
#include "virtio/transport/virtio_mmio.h"
#include "vmm/vm/virtio_kvm.h"

struct vm;

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

/* Starts every device's I/O thread. */
int vm_virtio_start(struct vm *vm);
/* Stops and frees every device. */
void vm_virtio_destroy(struct vm *vm);

#endif
