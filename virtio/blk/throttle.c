/* A disk's rate limiter (see throttle.h). */
#include "virtio/blk/throttle.h"

#include <sys/epoll.h>

#include "base/log.h"

#define BLK_HDR_BYTES 16 /* struct virtio_blk_outhdr */

int blk_throttle_init(struct blk_throttle *t, const struct rate_limiter_cfg *cfg)
{
	return rate_limiter_init(&t->rl, cfg, NULL, NULL);
}

void blk_throttle_destroy(struct blk_throttle *t)
{
	rate_limiter_destroy(&t->rl);
}

/* Payload bytes: everything but the header and the status byte (0 for a malformed chain, which
 * the decoder then refuses). */
static uint64_t chain_cost(const struct vq_chain *c)
{
	uint64_t all = (uint64_t)c->readable_len + c->writable_len;

	return all > BLK_HDR_BYTES + 1 ? all - BLK_HDR_BYTES - 1 : 0;
}

bool blk_throttle_admit(struct blk_throttle *t, struct rl_timer *timer, struct virtio_dev *dev,
			uint16_t q, const struct vq_chain *c)
{
	uint64_t wait;

	if (rate_limiter_consume(&t->rl, chain_cost(c), 1, &wait))
		return true;
	if (!timer->watched || rl_timer_arm(timer, wait))
		virtio_dev_reschedule(dev, q); /* no timer: try again on the next pass */
	return false;
}
