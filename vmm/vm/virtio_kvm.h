/* Binding a virtio device's notifications to KVM: each queue's kick eventfd becomes an
 * ioeventfd on its notify address (the vCPU never exits to us for a kick), and the device's
 * interrupt becomes an irqfd on its IOAPIC pin, level-triggered with a resample fd. */
#ifndef VMM_VIRTIO_KVM_H
#define VMM_VIRTIO_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kvm/kvm.h"
#include "virtio/core/device.h"

struct virtio_kvm_irq {
	struct kvm *kvm;
	struct virtio_dev *dev;
	unsigned gsi;
	int irq_fd;
	int resample_fd; /* -1 when KVM cannot resample: then the irqfd pulses like an edge */
};

/* Registers an ioeventfd for each queue q: a 4-byte write of the value q at `notify_addr`
 * signals dev->kick_fd[q]. `pio` selects port I/O instead of MMIO. Returns 0 or -errno. */
int virtio_kvm_bind_kicks(struct kvm *kvm, struct virtio_dev *dev, uint64_t notify_addr, bool pio);
/* Removes what virtio_kvm_bind_kicks() registered. */
void virtio_kvm_unbind_kicks(struct kvm *kvm, struct virtio_dev *dev, uint64_t notify_addr,
			     bool pio);

/* Creates the irqfd for `gsi` and points dev->irq at it. With KVM_CAP_IRQFD_RESAMPLE the pin is
 * level-triggered: KVM lowers it at the guest's EOI and signals the resample fd, on which the
 * device's I/O thread raises it again while InterruptStatus is still non-zero (4.2.2: the
 * interrupt stays pending until acknowledged). Returns 0 or -errno. */
int virtio_kvm_irq_init(struct virtio_kvm_irq *irq, struct kvm *kvm, struct virtio_dev *dev,
			unsigned gsi);
void virtio_kvm_irq_destroy(struct virtio_kvm_irq *irq);
/* After a snapshot restore: raises the pin again while InterruptStatus is non-zero (the new VM's
 * irqfd starts deasserted). Takes dev->lock. */
void virtio_kvm_irq_resync(struct virtio_kvm_irq *irq);
/* Waits until a signal the device gave before is in the interrupt controller: KVM injects an
 * irqfd's signal on an IOAPIC pin from a kernel worker, some time after the eventfd write, and
 * deassigning the irqfd waits for that worker; it is assigned again at once. For the pause that
 * precedes a save: the interrupt controllers and the vCPUs' local APICs must be read after it
 * (else the IOAPIC may say "delivered, awaiting EOI" for a vector no saved local APIC holds, and
 * the restored guest never gets this pin's interrupt again). Device parked, VM paused. */
void virtio_kvm_irq_flush(struct virtio_kvm_irq *irq);

#endif
