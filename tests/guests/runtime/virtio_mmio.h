/* The virtio-mmio transport (virtio 1.2 section 4.2, version 2 "modern" only) of the guest-side
 * virtio driver (virtio_dev.h holds the transport-neutral part: negotiation, status, config).
 *
 * Discovery: the VMM (and QEMU microvm with acpi=off) lists its windows on the kernel command
 * line the way Linux's virtio_mmio driver reads them: `virtio_mmio.device=<size>@<base>:<irq>`
 * (size with an optional K/M/G suffix, base in hex or decimal, irq = IOAPIC pin). Windows whose
 * DeviceID reads 0 have no device behind them.
 *
 * Interrupts: vdev_irq_enable() routes the device's pin to a vector, level-triggered and
 * active high (our VMM's MP table and QEMU's virtio-mmio lines), and installs a handler that
 * reads InterruptStatus and writes it to InterruptACK before the runtime's EOI, so the level
 * drops (KVM's resampling irqfd, or QEMU's line) before the next interrupt can be taken. */
#ifndef GUEST_VIRTIO_MMIO_H
#define GUEST_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_mmio.h>

#include "platform.h"
#include "virtio_dev.h"

#define VIRTIO_MMIO_MAX_DEVS 32		/* QEMU virt's transports, our arm64 layout's windows */
#define VIRTIO_MMIO_MAGIC    0x74726976 /* "virt" */

/* Parses the command line's virtio_mmio.device= words and probes each window (magic, version,
 * IDs). Windows with a bad magic are skipped with a message. Repeated bases are kept once.
 * Returns the number of windows found (idempotent: later calls return the same). */
unsigned virtio_mmio_scan(void);
struct vdev *virtio_mmio_dev(unsigned i);
/* The nth (0-based) device with this DeviceID among the scanned windows, or NULL. */
struct vdev *virtio_mmio_find(uint32_t device_id, unsigned nth);

/* Register access of an MMIO window (d->base + a VIRTIO_MMIO_* offset). */
static inline uint32_t vdev_read(const struct vdev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

static inline void vdev_write(const struct vdev *d, uint32_t reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

#endif
