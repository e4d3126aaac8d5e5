/* The devices' part of a snapshot: every legacy device and every virtio device with its transport,
 * saved as sections (base/snapshot_io.h) and restored into a new VM built from the same
 * configuration.
 *
 * Sections (instance 0 unless said):
 *   the console UART: SNAP_DEV_UART (COM1, struct uart8250_state) or SNAP_DEV_PL011 (struct
 *   pl011_state), the architecture's own devices (vmm/snapshot/<arch>/: x86's i8042 and RTC, and
 *   a firmware boot's ACPI PM block, optional on restore; aarch64's PL031), SNAP_DEV_MISC (struct
 * vm_misc_state: POST code, boot timer hits), SNAP_DEV_ACPI (struct vm_acpi_state) with the Generic
 * Event Device (not --acpi off; optional on restore: snapshots older than it have none, and nothing
 * pending then), and in instance 1 the 8-byte little-endian address a firmware placed the VM
 * generation ID at
 *   (--firmware only, once placed; a restore has no firmware run to ask);
 *   per virtio device, instance = its position in vm_for_each_virtio_dev() order:
 *   SNAP_VIRTIO_DEV (struct virtio_dev_state), SNAP_VIRTIO_DEV_PRIV (struct virtio_dev_priv_hdr +
 *   the model's state), and SNAP_VIRTIO_MMIO (struct virtio_mmio_state) or SNAP_VIRTIO_PCI
 *   (struct virtio_pci_state) by transport. The MSI routes are not saved: they follow from the
 *   MSI-X table (SNAP_VIRTIO_PCI_ROUTES stays unused). */
#ifndef VMM_VM_SNAPSHOT_DEVICES_H
#define VMM_VM_SNAPSHOT_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "base/snapshot_io.h"
#include "vmm/vm/vm.h"

/* What the small legacy devices keep. */
struct vm_misc_state {
	uint8_t post_code;	  /* last POST code written to port 0x80 */
	uint8_t reserved[3];	  /* zero */
	uint32_t boot_timer_hits; /* 0 without --boot-timer */
};

/* The ACPI devices' state: the GED's events not read yet, the VM generation ID. */
#define VM_ACPI_HAS_VMGENID 1u
struct vm_acpi_state {
	uint32_t ged_pending; /* ACPI_GED_* bits */
	uint32_t flags;	      /* VM_ACPI_HAS_VMGENID: vmgenid holds the ID; other bits zero */
	uint8_t vmgenid[16];
};

/* Saves every device of a paused VM (vm_pause(): vCPUs parked, virtio devices parked with their
 * I/O completed): the legacy devices, then each virtio device in vm_for_each_virtio_dev() order.
 * Refuses (-ENOTSUP) a VM with a device that cannot be snapshotted (virtio-gpu, virtio-input),
 * -EBUSY when a device still has work in flight, or put's error; `err` says which device. */
int vm_devices_save(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen);

/* Restores them into a VM built by vm_create() from the same configuration (same devices in the
 * same order on the same transports, disks re-opened, guest RAM already holding the snapshot's
 * memory), after the KVM VM and vCPU state (irqchip, LAPICs) are restored, and before the
 * devices' I/O threads (device_vm_start(), vm_virtio_start(), vm_pci_start()) and the
 * vCPUs start. Each device is checked against its sections (kind, queue count, transport, every
 * length and value); a missing section, a mismatch or a hostile value is refused with a message
 * naming the device (-EINVAL); the VM must then be destroyed. A restored virtio device whose
 * driver had it running is live again (virtio_dev_snapshot_restore()); PCI BARs decode at their
 * saved addresses with their notify ioeventfds, MSI-X routes are programmed, INTx and the legacy
 * IRQ lines are driven to their saved levels.
 * The virtio-mem device is restored first (its plugged blocks mapped again), then `ready` (when
 * not NULL) fills that memory, then the other virtio devices follow: their rings and buffers may
 * lie in it. */
typedef int (*vm_memory_ready_fn)(struct vm *vm, void *opaque, char *err, size_t errlen);
int vm_devices_restore(struct vm *vm, snap_get_fn get, void *r, vm_memory_ready_fn ready,
		       void *opaque, char *err, size_t errlen);

#endif
