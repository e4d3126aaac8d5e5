/* The virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2): the register file of one
 * window. Pure device logic: KVM wiring (ioeventfd on QueueNotify, irqfd for the interrupt) is
 * done by the VMM (vmm/vm/vm_virtio.c), so tests and fuzzers drive these registers directly.
 */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H

#include <stdint.h>

#include "base/io_bus.h"
#include "virtio/core/device.h"

#define VIRTIO_MMIO_MAGIC	 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION	 2
#define VIRTIO_MMIO_VENDOR	 0x00564d4d /* "MMV": this VMM */
#define VIRTIO_MMIO_WINDOW	 0x200	    /* registers 0x000-0x0ff, config from 0x100 */
#define VIRTIO_MMIO_CONFIG	 0x100
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050

struct virtio_mmio {
	struct virtio_dev *dev;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
};

void virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *dev);

/* The window's own registers for a snapshot (the device's state is saved by the device). */
struct virtio_mmio_state {
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t reserved; /* zero */
};

void virtio_mmio_save(const struct virtio_mmio *t, struct virtio_mmio_state *s);
/* Any selector value is one a guest may write (reads past the features or the queues give 0), so
 * only the reserved word is checked. Returns 0 or -EINVAL. */
int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *s);

/* io_bus handlers (opaque = struct virtio_mmio *). */
extern const struct io_ops virtio_mmio_ops;

#endif
