/* A virtqueue's and a virtio device's state as plain values that can be saved, stored, restored
 * and compared (rust-vmm virtio-queue's QueueState): what a snapshot or a live migration needs.
 *
 * Save only a quiescent device (virtio_dev_pause(), vCPUs stopped): no chain popped and not yet
 * pushed, no used element unpublished. The guest-memory contents (rings, buffers) belong to the
 * memory snapshot, not here. Device-model state (virtio-rng's token bucket, virtio-net's MAC
 * filters, ...) is each model's own business and not covered. */
#ifndef VIRTIO_QUEUE_STATE_H
#define VIRTIO_QUEUE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/queue/virtqueue.h"

struct vq_state {
	/* What the driver configured (4.2.2 / 4.1.4.3). */
	uint32_t num;
	uint64_t desc_addr, driver_addr, device_addr;
	/* Activated (ready and DRIVER_OK seen), and with which ring features. */
	bool active;
	bool packed, event_idx, indirect;
	/* Ring positions: split free-running indices; packed slots plus wrap counters (2.8.1). */
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
	/* Notification state (2.7.7, 2.7.10, 2.8.10). */
	bool kicks_enabled;
	uint16_t signalled_used;
	bool signalled_wrap;
	/* A queue the driver broke stays broken across a restore. */
	bool broken;
	int error;
};

/* Copies the queue's state. Returns 0, or -EBUSY when chains are in flight or used elements are
 * unpublished (pause the device first). */
int vq_save(const struct virtqueue *vq, struct vq_state *st);

struct virtio_dev_state {
	uint64_t driver_features;
	uint8_t status;
	uint32_t config_generation;
	uint32_t isr;
	uint16_t num_queues;
	bool queue_ready[VIRTIO_DEV_MAX_QUEUES];
	struct vq_state vqs[VIRTIO_DEV_MAX_QUEUES];
};

/* struct virtio_dev_state holds C booleans: a state read from a file (untrusted bytes) must have
 * 0 or 1 in each of them before it is read as the struct (another byte there is undefined
 * behaviour). `raw` points at sizeof(struct virtio_dev_state) bytes. */
bool virtio_dev_state_bools_ok(const void *raw);

/* The transport-independent device state (features, status, config generation, ISR, queues).
 * dev->lock held, device paused. Returns 0 or -EBUSY (a queue is not quiescent). */
int virtio_dev_save(const struct virtio_dev *dev, struct virtio_dev_state *st);

/* Restores it into a device of the same kind (same queue count), created and virtio_dev_init()ed
 * but not yet used by a driver. Does not call ops->activate: the device model restores its own
 * state. ISR bits other than VIRTIO_ISR_QUEUE and VIRTIO_ISR_CONFIG are refused, and so are an
 * active queue the driver did not make ready and, in a running device, a ready queue that is not
 * active. dev->lock held.
 * Returns 0, -EINVAL or a -VQ_E_* from a queue. */
int virtio_dev_restore(struct virtio_dev *dev, const struct virtio_dev_state *st);

#endif
