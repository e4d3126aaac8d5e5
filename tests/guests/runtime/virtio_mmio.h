/* A guest-side virtio-mmio driver core (virtio 1.2 section 4.2, version 2 "modern" only):
 * discovery from the command line, device initialisation (3.1.1), feature negotiation, status,
 * configuration space with the generation check (2.5.1), and the device's interrupt.
 *
 * Discovery: the VMM (and QEMU microvm with acpi=off) lists its windows on the kernel command
 * line the way Linux's virtio_mmio driver reads them: `virtio_mmio.device=<size>@<base>:<irq>`
 * (size with an optional K/M/G suffix, base in hex or decimal, irq = IOAPIC pin). Windows whose
 * DeviceID reads 0 have no device behind them.
 *
 * Interrupts: vdev_irq_enable() routes the device's pin to a vector, level-triggered and
 * active high (our VMM's MP table and QEMU's virtio-mmio lines), and installs a handler that
 * reads InterruptStatus and writes it to InterruptACK before the runtime's EOI, so the level
 * drops (KVM's resampling irqfd, or QEMU's line) before the next interrupt can be taken.
 * d->irqs counts the interrupts that found InterruptStatus bits set (d->isr_seen ORs them);
 * d->spurious those that found none (an irqfd is injected asynchronously, so a level interrupt
 * may arrive after an earlier handler acknowledged its cause); irq_count(d->vector) both.
 *
 * Everything here except vdev_irq_enable() is plain MMIO and works in ring 3 too. */
#ifndef GUEST_VIRTIO_MMIO_H
#define GUEST_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "io.h"

#define VIRTIO_MMIO_MAX_DEVS 16
#define VIRTIO_MMIO_MAGIC    0x74726976 /* "virt" */

/* vdev_negotiate() errors. */
#define VDEV_ERR_NO_VERSION_1  (-1) /* the device does not offer VIRTIO_F_VERSION_1 */
#define VDEV_ERR_FEATURES      (-2) /* FEATURES_OK did not stick: features refused */
#define VDEV_ERR_MISSING       (-3) /* a required feature is not offered */
#define VDEV_ERR_RESET_TIMEOUT (-4) /* status never read back 0 after the reset */

struct vdev {
	uint64_t base;
	uint64_t size;
	unsigned irq;	    /* IOAPIC pin, from the command line */
	uint32_t version;   /* Version register: 2 for modern windows */
	uint32_t device_id; /* 0: empty window */
	uint32_t vendor_id;
	uint64_t offered;  /* device features, read by vdev_negotiate() */
	uint64_t features; /* negotiated */
	uint8_t vector;	   /* 0 until vdev_irq_enable() */
	volatile uint32_t isr_seen;
	volatile uint64_t irqs;
	volatile uint64_t spurious;
};

/* Parses the command line's virtio_mmio.device= words and probes each window (magic, version,
 * IDs). Windows with a bad magic are skipped with a message. Repeated bases are kept once.
 * Returns the number of windows found (idempotent: later calls return the same). */
unsigned virtio_mmio_scan(void);
struct vdev *virtio_mmio_dev(unsigned i);
/* The nth (0-based) device with this DeviceID among the scanned windows, or NULL. */
struct vdev *virtio_mmio_find(uint32_t device_id, unsigned nth);

static inline uint32_t vdev_read(const struct vdev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

static inline void vdev_write(const struct vdev *d, uint32_t reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

static inline uint8_t vdev_status(const struct vdev *d)
{
	return (uint8_t)vdev_read(d, VIRTIO_MMIO_STATUS);
}

/* Writes 0 to Status and waits (bounded) until it reads back 0 (4.2.3.1: the reset may take a
 * while). Returns 0 or VDEV_ERR_RESET_TIMEOUT. */
int vdev_reset(struct vdev *d);
/* Adds bits to the status (never clears). */
void vdev_add_status(struct vdev *d, uint8_t bits);

/* Device initialisation steps 1-6 (3.1.1): reset, ACKNOWLEDGE, DRIVER, read the offered
 * features, accept offered & `wanted` (VIRTIO_F_VERSION_1 always; fails unless every bit of
 * `required` is offered), FEATURES_OK, and read it back. d->features holds the result. On an
 * error the device is left with FAILED set. Returns 0 or a VDEV_ERR_*. */
int vdev_negotiate(struct vdev *d, uint64_t wanted, uint64_t required);
/* Step 8: DRIVER_OK, after the queues are set up. */
void vdev_driver_ok(struct vdev *d);

static inline bool vdev_has(const struct vdev *d, unsigned bit)
{
	return (d->features >> bit) & 1;
}

/* Device configuration space reads, each retried until ConfigGeneration is the same before and
 * after (2.5.1; 4.2.2.2 gives the access widths: 8/16-bit fields by 8/16-bit accesses, 32- and
 * 64-bit fields by 32-bit accesses). `off` is relative to the config space (0x100). */
uint8_t vdev_config8(struct vdev *d, uint32_t off);
uint16_t vdev_config16(struct vdev *d, uint32_t off);
uint32_t vdev_config32(struct vdev *d, uint32_t off);
uint64_t vdev_config64(struct vdev *d, uint32_t off);

/* Routes d->irq to `vector` on this CPU (level, active high) with the acknowledging handler.
 * Ring 0 only. False if the pin is not on the IOAPIC. */
bool vdev_irq_enable(struct vdev *d, uint8_t vector);
/* Reads and acknowledges InterruptStatus by hand (polling drivers); returns the bits. */
uint32_t vdev_ack_isr(struct vdev *d);

#endif
