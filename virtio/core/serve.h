/* The serve loop of a virtqueue, written once: pop a chain, hand it to the device, complete it,
 * notify the driver, stop at a per-wakeup budget and come back later (virtio 1.2 2.7.10, 2.7.13).
 *
 * Every device model serves its queues through virtio_serve_queue(), the busy ones (blk, net)
 * included; what differs per device is only what happens to one chain (struct
 * virtio_server.handle), whether there is work for the next one (has_work), how much work one
 * wakeup may do (max_chains, max_bytes) and what the device does once per wakeup (end_batch:
 * virtio-blk submits its io_uring batch and publishes its completions there). When the budget runs
 * out with chains left, the queue is marked pending with virtio_dev_reschedule(): the I/O thread
 * serves its other events first and then this queue again, so a busy guest can neither starve the
 * vCPUs of the device lock nor lose work.
 *
 * Chains the loop completes itself (VIRTIO_CHAIN_PUSH) are added to the used ring one by one and
 * published together at the end of the call, with at most one notification (2.7.8, 2.7.7).
 *
 * Locking: dev->lock (or the queue's group lock) held: this runs inside device callbacks. See
 * base/lock_order.h. */
#ifndef VIRTIO_SERVE_H
#define VIRTIO_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/core/device.h"

/* What handle() decided for one chain. VIRTIO_CHAIN_MORE: the request needs another chain too
 * (net receive with mergeable buffers, 5.1.6.4); the device reserves this one (keeps its id) and
 * the next is popped for the same request at once, without a budget or has_work() check in
 * between. When the ring runs dry meanwhile the call ends (VIRTIO_SERVE_IDLE, kicks re-enabled)
 * with the chains still reserved: end_batch() gives them back (vq_unpop, newest first) or
 * completes them. */
enum virtio_chain_verdict {
	VIRTIO_CHAIN_PUSH = 0,	/* done: complete it with the bytes written (vq_chain_used) */
	VIRTIO_CHAIN_WAIT = 1,	/* not now: give it back (vq_unpop) and stop; the device's own
				 * event (a timer, a backend fd) serves the queue again */
	VIRTIO_CHAIN_HOLD = 2,	/* the device keeps the chain (a full backend) and pushes it
				 * itself later; stop serving this queue for now */
	VIRTIO_CHAIN_TAKEN = 3, /* the device took the chain and completes it itself, now (it
				 * added the used element) or later (async I/O), or gave it back
				 * itself; one chain of the budget; serve the next */
	VIRTIO_CHAIN_MORE = 4,	/* keep it for the same request and pop the next (see above) */
};

/* What has_work() found. */
enum virtio_work {
	VIRTIO_WORK_NONE = 0,  /* nothing for another chain: stop (queue left as it is) */
	VIRTIO_WORK_CHAIN = 1, /* a request is ready: pop a chain for it */
	VIRTIO_WORK_DONE = 2,  /* a request was finished without a chain (net: a frame dropped
				* before delivery): one chain of the budget; ask again */
};

enum virtio_serve_result {
	VIRTIO_SERVE_IDLE,	/* the ring is empty (kicks re-enabled) or has_work() said no */
	VIRTIO_SERVE_YIELDED,	/* budget spent with work left: rescheduled (see own_wakeup) */
	VIRTIO_SERVE_WAITING,	/* handle() returned VIRTIO_CHAIN_WAIT or VIRTIO_CHAIN_HOLD */
	VIRTIO_SERVE_FAILED,	/* the driver broke the queue or handle() failed: device failed */
	VIRTIO_SERVE_NOT_READY, /* device not running or queue not active: nothing done */
};

struct virtio_server {
	struct vq_chain *chain; /* where chains are popped into (the device's, lock-protected) */
	unsigned max_chains;	/* chains per wakeup (> 0; UINT_MAX: no budget) */
	uint64_t max_bytes;	/* bytes per wakeup as counted by handle(); 0: no byte budget */
	/* Kicks stay suppressed while the loop pops (2.7.10): disabled before the first pop of
	 * the call and again after a re-arm that found a buffer. For busy queues (blk requests,
	 * net transmit), where a kick per buffer would cost a VM exit each. */
	bool quiet;
	/* A spent budget is left to the device: the queue is not rescheduled and no stall is
	 * counted; end_batch() sees VIRTIO_SERVE_YIELDED and decides (net receive: a readable
	 * backend fd calls again by itself). */
	bool own_wakeup;
	/* Optional (NULL: always VIRTIO_WORK_CHAIN): asked before each request, with the budget
	 * left; returns an enum virtio_work. VIRTIO_WORK_NONE leaves the queue as it is: kicks
	 * enabled, unless `quiet` disabled them for a pop earlier in this call. */
	int (*has_work)(struct virtio_dev *dev, void *opaque);
	/* Serves one chain. Adds the bytes of work it did to *bytes (what max_bytes counts).
	 * Returns a verdict, or a negative error that fails the device (virtio_dev_fail, unless
	 * handle() failed it already with its own reason). */
	int (*handle)(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
		      uint64_t *bytes);
	/* Optional: once at the end of every call for an existing queue, whatever the result, after
	 * the loop's own chains were published and notified: the device finishes the batch there
	 * (submits queued I/O, publishes what it completed itself, gives back reserved chains). */
	void (*end_batch)(struct virtio_dev *dev, uint16_t q, void *opaque,
			  enum virtio_serve_result result);
	void *opaque;
};

/* Serves queue q until it is empty, the budget is spent, or has_work() says no, or handle()
 * waits or fails. Completes each VIRTIO_CHAIN_PUSH chain, publishes them once at the end and
 * notifies the driver once if any; then calls end_batch(). Adds no allocation, lock or system
 * call of its own per chain. */
enum virtio_serve_result virtio_serve_queue(struct virtio_dev *dev, uint16_t q,
					    const struct virtio_server *s);

#endif
