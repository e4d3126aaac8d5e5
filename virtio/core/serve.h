/* The serve loop of a virtqueue, written once: pop a chain, hand it to the device, push it,
 * notify the driver, stop at a per-wakeup budget and come back later (virtio 1.2 2.7.10, 2.7.13).
 *
 * Every device model serves its queues through virtio_serve_queue(); what differs per device is
 * only what happens to one chain (struct virtio_server.handle) and how much work one wakeup may
 * do (max_chains, max_bytes). When the budget runs out with chains left, the queue is marked
 * pending with virtio_dev_reschedule(): the I/O thread serves its other events first and then
 * this queue again, so a busy guest can neither starve the vCPUs of the device lock nor lose
 * work.
 *
 * Locking: dev->lock held (this runs inside device callbacks). See vmm/base/lock_order.h. */
#ifndef VIRTIO_SERVE_H
#define VIRTIO_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/core/device.h"

/* What handle() decided for one chain. */
enum virtio_chain_verdict {
	VIRTIO_CHAIN_PUSH = 0, /* done: push it with the bytes written (vq_chain_used) */
	VIRTIO_CHAIN_WAIT = 1, /* not now: give it back (vq_unpop) and stop; the device's own
				* event (a timer, a backend fd) serves the queue again */
	VIRTIO_CHAIN_HOLD = 2, /* the device keeps the chain (async I/O, a full backend) and
				* pushes it itself later; stop serving this queue for now */
};

struct virtio_server {
	struct vq_chain *chain; /* where chains are popped into (the device's, lock-protected) */
	unsigned max_chains;	/* chains per wakeup (> 0) */
	uint64_t max_bytes;	/* bytes per wakeup as counted by handle(); 0: no byte budget */
	/* Optional: false stops the loop before popping (no work for another chain, e.g. no held
	 * input); the queue is then left as it is, with kicks enabled. */
	bool (*has_work)(struct virtio_dev *dev, void *opaque);
	/* Serves one chain. Adds the bytes of work it did to *bytes (what max_bytes counts).
	 * Returns a verdict, or a negative error that fails the device (virtio_dev_fail). */
	int (*handle)(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
		      uint64_t *bytes);
	void *opaque;
};

enum virtio_serve_result {
	VIRTIO_SERVE_IDLE,	/* the ring is empty (kicks re-enabled) or has_work() said no */
	VIRTIO_SERVE_YIELDED,	/* budget spent with chains left: rescheduled */
	VIRTIO_SERVE_WAITING,	/* handle() returned VIRTIO_CHAIN_WAIT or VIRTIO_CHAIN_HOLD */
	VIRTIO_SERVE_FAILED,	/* the driver broke the queue or handle() failed: device failed */
	VIRTIO_SERVE_NOT_READY, /* device not running or queue not active: nothing done */
};

/* Serves queue q until it is empty, the budget is spent, or handle() waits or fails. Pushes each
 * handled chain, and notifies the driver once at the end if anything was pushed. */
enum virtio_serve_result virtio_serve_queue(struct virtio_dev *dev, uint16_t q,
					    const struct virtio_server *s);

/* Pops the next chain: 1, 0 when the ring is empty (kicks are then re-enabled and the ring is
 * looked at once more, 2.7.10, so a buffer added meanwhile is not lost), or a negative vq error. */
int virtio_next_chain(struct virtio_dev *dev, struct virtqueue *vq, struct vq_chain *chain);

#endif
