/* A disk's rate limiter (virtio/core/rate_limiter.h), shared by its request queues, and how a
 * throttled queue waits on its own timer (each queue may be served by its own I/O thread).
 *
 * What a request costs: one operation, and its payload in bandwidth tokens, taken as the chain's
 * bytes without the 16-byte header and the status byte (the data of a read or a write; a
 * FLUSH costs nothing but its operation; DISCARD, WRITE_ZEROES and GET_ID their few bytes of
 * segments or ID). The cost is known from the chain alone, before the request is decoded, so a
 * refused chain goes back to the ring untouched (vq_unpop) and is popped again when the timer
 * fires. */
#ifndef VIRTIO_BLK_THROTTLE_H
#define VIRTIO_BLK_THROTTLE_H

#include <stdbool.h>

#include "virtio/core/device.h"
#include "virtio/core/rate_limiter.h"

struct blk_throttle {
	struct rate_limiter rl;
};

/* Limiter (cfg NULL: unlimited). Each queue's timer is registered with its queue's I/O thread
 * when the disk is created (a PATCH may limit a disk that started unlimited; registering from
 * the queue threads later would race on the device's fd table). Returns 0 or -errno. */
int blk_throttle_init(struct blk_throttle *t, const struct rate_limiter_cfg *cfg);
void blk_throttle_destroy(struct blk_throttle *t);

/* The chain just popped from queue q may go on: true. Else q's `timer` (registered, `watched`)
 * is armed, or q rescheduled when it cannot be, and false: the serve loop gives the chain back
 * to the ring untouched (VIRTIO_CHAIN_WAIT: vq_unpop) and counts the stall. The lock of q's
 * group held. */
bool blk_throttle_admit(struct blk_throttle *t, struct rl_timer *timer, struct virtio_dev *dev,
			uint16_t q, const struct vq_chain *c);

#endif
