/* The one virtqueue serve loop. See virtio/core/serve.h. */
#include "virtio/core/serve.h"

#include <errno.h>

int virtio_next_chain(struct virtio_dev *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	int p = vq_pop(vq, dev->mem, chain);

	if (p != 0)
		return p;
	p = virtio_dev_rearm_kicks(dev, vq);
	if (p <= 0)
		return p;
	return vq_pop(vq, dev->mem, chain);
}

static bool budget_left(const struct virtio_server *s, unsigned chains, uint64_t bytes)
{
	return chains < s->max_chains && (!s->max_bytes || bytes < s->max_bytes);
}

/* One chain: 1 pushed, 0 given back or held by the device, negative error. The bytes handle()
 * reports go to *bytes (the budget) and, unless the chain is given back to be served again, to
 * *counted (the device's bytes counter). */
static int serve_one(struct virtio_dev *dev, struct virtqueue *vq, const struct virtio_server *s,
		     uint64_t *bytes, uint64_t *counted)
{
	uint64_t before = *bytes;
	int v = s->handle(dev, s->chain, s->opaque, bytes);

	if (v < 0)
		return v;
	if (v != VIRTIO_CHAIN_WAIT)
		*counted += *bytes - before;
	if (v == VIRTIO_CHAIN_WAIT) {
		int err = vq_unpop(vq, dev->mem, s->chain);
		return err < 0 ? err : 0;
	}
	if (v == VIRTIO_CHAIN_HOLD)
		return 0;
	int err = vq_push(vq, dev->mem, s->chain);
	return err < 0 ? err : 1;
}

enum virtio_serve_result virtio_serve_queue(struct virtio_dev *dev, uint16_t q,
					    const struct virtio_server *s)
{
	struct virtqueue *vq;
	enum virtio_serve_result res = VIRTIO_SERVE_IDLE;
	unsigned pushed = 0;
	uint64_t bytes = 0, counted = 0; /* the budget's count; the counter's (see serve_one) */

	if (q >= dev->num_queues || !virtio_dev_running(dev) || !vq_is_active(&dev->vqs[q]))
		return VIRTIO_SERVE_NOT_READY;
	vq = &dev->vqs[q];
	for (;;) {
		int p;

		if (!budget_left(s, pushed, bytes)) {
			res = VIRTIO_SERVE_YIELDED;
			virtio_dev_reschedule(dev, q);
			break;
		}
		if (s->has_work && !s->has_work(dev, s->opaque))
			break;
		p = virtio_next_chain(dev, vq, s->chain);
		if (p > 0)
			p = serve_one(dev, vq, s, &bytes, &counted);
		else if (p == 0)
			break; /* empty ring, kicks enabled */
		if (p < 0) {
			res = VIRTIO_SERVE_FAILED;
			virtio_dev_fail(dev, vq_strerror(p));
			break;
		}
		if (p == 0) {
			res = VIRTIO_SERVE_WAITING;
			virtio_dev_count_stall(dev);
			break;
		}
		pushed++;
	}
	/* A held chain is counted as a request by the device when it pushes it. */
	virtio_dev_count_requests(dev, pushed, counted);
	if (pushed)
		virtio_dev_notify_used(dev, q);
	return res;
}
