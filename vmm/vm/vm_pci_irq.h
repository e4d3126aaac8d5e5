/* KVM wiring of one virtio-pci device (vmm/vm/vm_pci_irq.c): MSI-X vectors as GSI routes +
 * irqfds, INTx as an irqfd with resample, queue notifications as ioeventfds. Internal to
 * vmm/vm/vm_pci.c. */
#ifndef VMM_VM_PCI_IRQ_H
#define VMM_VM_PCI_IRQ_H

#include "vmm/vm/vm_pci.h"

/* The callbacks virtio_pci_init() gets for `d`. */
struct virtio_pci_host vm_pci_irq_host(struct vm_pci_dev *d);
/* The vectors' irqfds for virtio_pci_set_irqfds() (call vm_pci_irq_init() before the device
 * starts): a vector's irqfd, its GSI routed to the guest's message first. */
struct virtio_pci_irqfds vm_pci_irq_irqfds(struct vm_pci_dev *d);

/* Creates and assigns the irqfds: vectors on GSIs routes[v].gsi (set by the caller), INTx on
 * d->intx_gsi with a resample fd served by the device's I/O thread. Returns 0 or -errno. */
int vm_pci_irq_init(struct vm_pci_dev *d);
/* Deassigns and closes them (after the device's I/O thread has stopped). */
void vm_pci_irq_destroy(struct vm_pci_dev *d);
/* Every irqfd of the device deassigned and assigned again: a signal still on its way into the
 * interrupt controller (KVM's injection worker) is in it after this (virtio_kvm_irq_flush()
 * says why a save needs it). Device parked, VM paused. */
void vm_pci_irq_flush(struct vm_pci_dev *d);

/* After a snapshot restore of the function (virtio_pci_restore()) and of its device: every MSI-X
 * vector the guest programmed (a non-zero address) gets its GSI route again, in one
 * KVM_SET_GSI_ROUTING, as the first message on it would have done (on failure MSIs go through
 * KVM_SIGNAL_MSI, as at run time); INTx is driven to the level the state implies. Call without
 * dev->lock. Returns 0. */
int vm_pci_irq_restore(struct vm_pci_dev *d);

/* Removes the notify ioeventfds (before the device's kick fds are closed). */
void vm_pci_unbind_notify(struct vm_pci_dev *d);

#endif
