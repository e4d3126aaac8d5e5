/* The VM's virtio devices on virtio-mmio windows: window placement, KVM wiring, the kernel
 * command-line entries and MP-table interrupts that describe them to the guest. */
#ifndef VMM_VM_VIRTIO_H
#define VMM_VM_VIRTIO_H

#include <stddef.h>

#include "firmware/mptable.h"
#include "virtio/device.h"
#include "virtio/mmio.h"
#include "vmm/layout.h"
#include "vmm/virtio_kvm.h"

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
	struct mp_irq irqs[VIRTIO_MMIO_MAX]; /* MP-table entries for the windows in use */
};

/* Puts an initialised device (virtio_dev_init done) in the next free window: registers the
 * window on the MMIO bus, binds its kicks to ioeventfds and its interrupt to an irqfd. Takes
 * ownership of `dev` (destroyed with the VM, also on failure). Returns 0 or -errno (logged). */
int vm_virtio_add(struct vm *vm, struct virtio_dev *dev);

/* Appends " virtio_mmio.device=4K@0x...:IRQ" for each window to `cmdline` (size `cap`).
 * Returns 0 or -E2BIG. */
int vm_virtio_cmdline(const struct vm_virtio *v, char *cmdline, size_t cap);

/* Starts every device's I/O thread. */
int vm_virtio_start(struct vm *vm);
/* Stops and frees every device. */
void vm_virtio_destroy(struct vm *vm);

#endif
