/* What every layer needs to take part in a snapshot, without depending on the file format
 * (vmm/snapshot/): a section is (tag, instance, bytes). Savers call `put` once per section;
 * restorers ask `get` for the sections they need and refuse (with a message) a section that is
 * missing or has the wrong length. The state in a section is a plain struct of fixed layout
 * (or a kernel UAPI struct) copied byte for byte; a restorer validates every value it takes from
 * it as it would a guest's write, since a snapshot file is untrusted input.
 *
 * Tags are stable numbers (the file format depends on them): append, never renumber. */
#ifndef VMM_BASE_SNAPSHOT_IO_H
#define VMM_BASE_SNAPSHOT_IO_H

#include <stddef.h>
#include <stdint.h>

/* Tag numbers. The generic tags below are the same on every architecture. An architecture's own
 * tags (the hypervisor's vCPU and VM state, its CPU model, its legacy devices) live in its base
 * folder (x86's: base/x86/snapshot_tags.h), and only in the numbers SNAP_TAG_IS_ARCH() accepts:
 *   4-15    the VMM's arch state (x86: SNAP_CPU_MODEL = 4)
 *   16-47   the hypervisor's per-vCPU and per-VM state (x86: 16-25 per vCPU, 32-34 per VM)
 *   49-50   x86's i8042 and RTC (numbered among the legacy devices before the split)
 *   96-127  further arch devices (x86: 96-97, the ACPI PM blocks of firmware boots)
 * Generic tags take the other numbers below 128 (54-63 for devices, 69-95 for virtio) and any
 * from 128 up, so that no architecture's tag collides with a generic one. Two architectures may
 * use the same number for different state: a snapshot is restored on the architecture that
 * wrote it. */
#define SNAP_TAG_IS_ARCH(t)                                                                        \
	(((t) >= 4 && (t) <= 47) || (t) == 49 || (t) == 50 || ((t) >= 96 && (t) <= 127))

enum snap_tag {
	/* the VMM */
	SNAP_CONFIG = 1, /* JSON: the options the VM was built from (vmm/snapshot/vm_snapshot.c) */
	SNAP_INFO = 2,	 /* JSON: what was snapshotted, for people and tools */
	SNAP_MMDS = 3,	 /* JSON: the MMDS configuration and store (vmm/mmds/mmds_state.h) */
	/* 4-47: the architecture's */
	/* legacy devices (49, 50: the architecture's) */
	SNAP_DEV_UART = 48,
	SNAP_DEV_MISC = 51, /* debug-exit, boot timer, POST port: whatever they keep */
	SNAP_DEV_ACPI = 52, /* the GED's pending events, the VM generation ID */
	SNAP_DEV_FLASH =
	    53, /* the firmware's variable store: struct pflash_state, then its array */
	SNAP_DEV_PL011 = 54, /* the console UART where it is a PL011 (aarch64) */
	/* virtio (instance = the device's position in vm_for_each_virtio_dev() order) */
	SNAP_VIRTIO_DEV = 64,	    /* struct virtio_dev_state (virtio/core/queue_state.h) */
	SNAP_VIRTIO_DEV_PRIV = 65,  /* the device model's own state (config space, buckets...) */
	SNAP_VIRTIO_MMIO = 66,	    /* the virtio-mmio transport's registers */
	SNAP_VIRTIO_PCI = 67,	    /* the virtio-pci function: config space, BARs, MSI-X */
	SNAP_VIRTIO_PCI_ROUTES = 68 /* the VM's MSI routes of that function */
};

/* Adds one section. Returns 0 or -errno. */
typedef int (*snap_put_fn)(void *w, uint32_t tag, uint32_t instance, const void *data, size_t len);

/* The section's bytes and length, or NULL when the snapshot has no such section. The bytes stay
 * valid until the restore ends. */
typedef const void *(*snap_get_fn)(void *r, uint32_t tag, uint32_t instance, size_t *len);

#endif
