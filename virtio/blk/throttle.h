/* A disk's rate limiter (virtio/core/rate_limiter.h) and the timer a throttled queue waits on.
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
	struct rl_timer timer; /* armed: the queue waits for it and pops nothing */
	/* The timer's callback on the I/O thread; registered at the first wait (a disk that is
	 * never throttled watches no extra fd). */
	void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents);
};

/* Limiter (cfg NULL: unlimited) and timer, served by `ready`. Returns 0 or -errno. */
int blk_throttle_init(struct blk_throttle *t, const struct rate_limiter_cfg *cfg,
		      void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents));
void blk_throttle_destroy(struct blk_throttle *t);

/* The chain just popped from queue q may go on: true. Else it was given back to the ring, the
 * timer armed, and the stall counted: false (stop popping; -errno from vq_unpop fails the
 * device and also returns false). dev->lock held. */
bool blk_throttle_admit(struct blk_throttle *t, struct virtio_dev *dev, uint16_t q,
			const struct vq_chain *c);

/* The queue waits for the timer. */
static inline bool blk_throttle_waiting(const struct blk_throttle *t)
{
	return t->timer.armed;
}

#endif
