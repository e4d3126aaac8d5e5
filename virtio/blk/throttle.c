/* A disk's rate limiter (see throttle.h). */
#include "virtio/blk/throttle.h"

#include <sys/epoll.h>

#include "vmm/base/log.h"

#define BLK_HDR_BYTES 16 /* struct virtio_blk_outhdr */

int blk_throttle_init(struct blk_throttle *t, const struct rate_limiter_cfg *cfg,
		      void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents))
{
	t->ready = ready;
	int r = rate_limiter_init(&t->rl, cfg, NULL, NULL);

	if (r)
		return r;
	r = rl_timer_init(&t->timer);
	if (r)
		rate_limiter_destroy(&t->rl);
	return r;
}

void blk_throttle_destroy(struct blk_throttle *t)
{
	rl_timer_destroy(&t->timer);
	rate_limiter_destroy(&t->rl);
}

/* Payload bytes: everything but the header and the status byte (0 for a malformed chain, which
 * the decoder then refuses). */
static uint64_t chain_cost(const struct vq_chain *c)
{
	uint64_t all = (uint64_t)c->readable_len + c->writable_len;

	return all > BLK_HDR_BYTES + 1 ? all - BLK_HDR_BYTES - 1 : 0;
}

bool blk_throttle_admit(struct blk_throttle *t, struct virtio_dev *dev, uint16_t q,
			const struct vq_chain *c)
{
	uint64_t wait;
	int r;

	if (rate_limiter_consume(&t->rl, chain_cost(c), 1, &wait))
		return true;
	r = vq_unpop(&dev->vqs[q], dev->mem, c);
	if (r) {
		virtio_dev_fail(dev, vq_strerror(r));
		return false;
	}
	virtio_dev_count_stall(dev);
	if (!t->timer.watched && virtio_dev_add_fd(dev, t->timer.fd, EPOLLIN, t->ready) == 0)
		t->timer.watched = true;
	if (!t->timer.watched || rl_timer_arm(&t->timer, wait))
		virtio_dev_reschedule(dev, q); /* no timer: try again on the next pass */
	return false;
}
