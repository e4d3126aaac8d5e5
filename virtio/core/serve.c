/* The one virtqueue serve loop. See virtio/core/serve.h. */
#include "virtio/core/serve.h"

#include <errno.h>

/* Pops the next chain: 1, 0 when the ring is empty (kicks are then re-enabled and the ring is
 * looked at once more, 2.7.10, so a buffer added meanwhile is not lost), or a negative vq error. */
static int virtio_next_chain(struct virtio_dev *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	int p = vq_pop(vq, dev->mem, chain);

	if (p != 0)
		return p;
	p = virtio_dev_rearm_kicks(dev, vq);
	if (p <= 0)
		return p;
	return vq_pop(vq, dev->mem, chain);
}

/* What one call has done so far. */
struct serve_pass {
	unsigned served;  /* chains (and chainless requests) of the budget */
	unsigned pushed;  /* chains the loop completed (VIRTIO_CHAIN_PUSH) */
	uint64_t bytes;	  /* the budget's count of bytes */
	uint64_t counted; /* bytes of the chains not given back: the device's counter */
	bool popped;	  /* a chain was popped in this call (quiet: kicks are off) */
	bool more;	  /* the last chain asked for another one (VIRTIO_CHAIN_MORE) */
};

static bool budget_left(const struct virtio_server *s, const struct serve_pass *p)
{
	return p->served < s->max_chains && (!s->max_bytes || p->bytes < s->max_bytes);
}

/* virtio_next_chain(), with kicks suppressed while popping when the server is quiet (2.7.10):
 * off before the first pop of the call, and off again when the re-arm of an empty ring found a
 * buffer after all (it left kicks on: the driver would kick for every buffer meanwhile). */
static int next_chain(struct virtio_dev *dev, struct virtqueue *vq, const struct virtio_server *s,
		      struct serve_pass *p)
{
	int r;

	if (!s->quiet)
		return virtio_next_chain(dev, vq, s->chain);
	if (!p->popped)
		vq_disable_notify(vq, dev->mem); /* an error shows at the pop */
	p->popped = true;
	r = vq_pop(vq, dev->mem, s->chain);
	if (r != 0)
		return r;
	r = virtio_dev_rearm_kicks(dev, vq);
	if (r <= 0)
		return r;
	if (vq->kicks_enabled)
		vq_disable_notify(vq, dev->mem);
	return vq_pop(vq, dev->mem, s->chain);
}

/* One chain: 1 served (go on), 0 given back or held (stop), negative error. The bytes handle()
 * reports go to the budget and, unless the chain is given back to be served again, to the
 * device's bytes counter. */
static int serve_one(struct virtio_dev *dev, struct virtqueue *vq, const struct virtio_server *s,
		     struct serve_pass *p)
{
	uint64_t before = p->bytes;
	int v = s->handle(dev, s->chain, s->opaque, &p->bytes);
	int err;

	p->more = v == VIRTIO_CHAIN_MORE;
	if (v >= 0 && v != VIRTIO_CHAIN_WAIT)
		p->counted += p->bytes - before;
	switch (v) {
	case VIRTIO_CHAIN_PUSH:
		err = vq_add_used(vq, dev->mem, vq_chain_used(s->chain));
		if (err < 0)
			return err;
		p->pushed++;
		p->served++;
		return 1;
	case VIRTIO_CHAIN_TAKEN:
		p->served++;
		return 1;
	case VIRTIO_CHAIN_MORE:
		return 1;
	case VIRTIO_CHAIN_WAIT:
		err = vq_unpop(vq, dev->mem, s->chain);
		return err < 0 ? err : 0;
	case VIRTIO_CHAIN_HOLD:
		return 0;
	default:
		return v < 0 ? v : -EINVAL;
	}
}

/* Before a request: 1 pop a chain for it, 0 stop (*res set), -1 one more round (a chainless
 * request was done). Never asked in the middle of a request (VIRTIO_CHAIN_MORE). */
static int next_request(struct virtio_dev *dev, uint16_t q, const struct virtio_server *s,
			struct serve_pass *p, enum virtio_serve_result *res)
{
	int w;

	if (p->more)
		return 1;
	if (!budget_left(s, p)) {
		*res = VIRTIO_SERVE_YIELDED;
		if (!s->own_wakeup)
			virtio_dev_reschedule(dev, q);
		return 0;
	}
	w = s->has_work ? s->has_work(dev, s->opaque) : VIRTIO_WORK_CHAIN;
	if (w == VIRTIO_WORK_DONE) {
		p->served++;
		return -1;
	}
	return w == VIRTIO_WORK_CHAIN;
}

static enum virtio_serve_result serve_loop(struct virtio_dev *dev, uint16_t q,
					   const struct virtio_server *s, struct serve_pass *p)
{
	struct virtqueue *vq = &dev->vqs[q];
	enum virtio_serve_result res = VIRTIO_SERVE_IDLE;

	for (;;) {
		int r = next_request(dev, q, s, p, &res);

		if (r < 0)
			continue;
		if (r == 0)
			return res;
		r = next_chain(dev, vq, s, p);
		if (r == 0)
			return VIRTIO_SERVE_IDLE; /* empty ring, kicks enabled */
		if (r > 0)
			r = serve_one(dev, vq, s, p);
		if (r < 0) {
			virtio_dev_fail(dev, vq_strerror(r));
			return VIRTIO_SERVE_FAILED;
		}
		if (r == 0) {
			virtio_dev_count_stall(dev);
			return VIRTIO_SERVE_WAITING;
		}
	}
}

enum virtio_serve_result virtio_serve_queue(struct virtio_dev *dev, uint16_t q,
					    const struct virtio_server *s)
{
	struct serve_pass p = {0};
	enum virtio_serve_result res;

	if (q >= dev->num_queues)
		return VIRTIO_SERVE_NOT_READY;
	if (!virtio_dev_running(dev) || !vq_is_active(&dev->vqs[q])) {
		res = VIRTIO_SERVE_NOT_READY;
	} else {
		res = serve_loop(dev, q, s, &p);
		/* Chains the device completes itself it counts itself (TAKEN, HOLD). */
		if (p.pushed || p.counted)
			virtio_dev_count_requests(dev, p.pushed, p.counted);
	}
	if (p.pushed && vq_publish_used(&dev->vqs[q], dev->mem) == 0)
		virtio_dev_notify_used(dev, q);
	if (s->end_batch)
		s->end_batch(dev, q, s->opaque, res);
	return res;
}
