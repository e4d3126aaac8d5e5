/* A whole virtio device in a snapshot: the transport-independent state (queue_state.h) plus the
 * device model's own state (ops->save / ops->restore), and the device made live again after a
 * restore. Transports save their own registers (virtio/transport/virtio_mmio.h, pci.h).
 *
 * The model's part travels behind a small header naming the device kind, so a restore into a
 * device of another kind (or another queue count) is refused before anything is touched:
 *   struct virtio_dev_priv_hdr, then hdr.len bytes of the model's fixed-layout struct. */
#ifndef VIRTIO_DEV_SNAPSHOT_H
#define VIRTIO_DEV_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/core/queue_state.h"

#define VIRTIO_DEV_PRIV_MAX 8192 /* header + the model state of devices without ops->save_size */
/* The largest model state any device may save: virtio-gpu's resources (pixels and backing lists)
 * within its default host-memory cap (256 MiB, virtio/gpu/res.h), plus room for their headers.
 * A device that needs more is refused ("too large to snapshot"). The state file's own limit
 * (SNAP_MAX_FILE) leaves room for it. */
#define VIRTIO_DEV_PRIV_LIMIT ((256u << 20) + (1u << 20))

struct virtio_dev_priv_hdr {
	uint32_t device_id;
	uint16_t num_queues;
	uint16_t reserved; /* zero */
	uint32_t len;	   /* bytes of model state that follow */
	uint32_t reserved2;
};

/* Saves `dev` (paused at its safe point: virtio_dev_pause(), vCPUs stopped) into `st` and `priv`
 * (room for `cap` bytes; header + model state, length in *priv_len). Takes dev->lock. Returns 0
 * or -errno with a message in `err`: -ENOTSUP for a device without ops->save ("virtio-gpu cannot
 * be snapshotted yet"), -EBUSY when a queue has work in flight. */
int virtio_dev_snapshot_save(struct virtio_dev *dev, struct virtio_dev_state *st, void *priv,
			     size_t cap, size_t *priv_len, char *err, size_t errlen);

/* The room virtio_dev_snapshot_save() needs for `dev` now (header included): VIRTIO_DEV_PRIV_MAX,
 * or more for a device with ops->save_size; at most VIRTIO_DEV_PRIV_LIMIT + the header (a larger
 * answer makes the save fail with -E2BIG). Device paused. Takes dev->lock. */
size_t virtio_dev_snapshot_size(struct virtio_dev *dev);

/* Restores a device created by the normal path (virtio_dev_init()ed, on its transport, I/O thread
 * not started yet, never touched by a driver) from `st` and `priv`:
 *   1. the header must name this device's kind and queue count, the lengths must agree;
 *   2. virtio_dev_restore() (queues checked against guest RAM), then ops->restore;
 *   3. a device whose status has DRIVER_OK (and not NEEDS_RESET) is made live: ops->activate runs
 *      as at the driver's DRIVER_OK (net registers and reads its tap, console and rng register
 *      their fds, blk picks its write mode), and every active queue gets one kick, so work the
 *      driver queued before the snapshot (a kick recorded while paused) is looked at again
 *      (a spurious kick is harmless, 2.7.7).
 * Takes dev->lock. Runs ops->activate, which may deliver buffers and raise interrupts: restore the
 * VM's interrupt controllers first. Returns 0 or -EINVAL / -VQ_E_* with a message in `err`; on
 * failure the device is in no defined state (throw the VM away). */
int virtio_dev_snapshot_restore(struct virtio_dev *dev, const struct virtio_dev_state *st,
				const void *priv, size_t priv_len, char *err, size_t errlen);

#endif
