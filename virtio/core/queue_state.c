/* Saving and restoring virtqueue and device state. See virtio/core/queue_state.h. */
#include "virtio/core/queue_state.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <string.h>

int vq_save(const struct virtqueue *vq, struct vq_state *st)
{
	if (vq->inflight || vq->batch_pending || vq->pub_used != vq->used_idx ||
	    vq->pub_wrap != vq->used_wrap)
		return -EBUSY;
	memset(st, 0, sizeof(*st)); /* padding too: states compare with memcmp */
	st->num = vq->num;
	st->desc_addr = vq->desc_addr;
	st->driver_addr = vq->driver_addr;
	st->device_addr = vq->device_addr;
	st->active = vq->active;
	st->packed = vq->packed;
	st->event_idx = vq->event_idx;
	st->indirect = vq->indirect;
	st->next_avail = vq->last_avail;
	st->avail_wrap = vq->avail_wrap;
	st->next_used = vq->used_idx;
	st->used_wrap = vq->used_wrap;
	st->kicks_enabled = vq->kicks_enabled;
	st->signalled_used = vq->signalled_used;
	st->signalled_wrap = vq->signalled_wrap;
	st->broken = vq->broken;
	st->error = vq->error;
	return 0;
}

static uint64_t ring_features(const struct vq_state *st)
{
	return (st->packed ? 1ull << VIRTIO_F_RING_PACKED : 0) |
	       (st->event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
	       (st->indirect ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0);
}

/* Packed positions are slots inside the ring; split indices run free (any value is valid). */
static bool positions_ok(const struct virtqueue *vq, const struct vq_state *st)
{
	if (!st->packed)
		return true;
	return st->next_avail < vq->size && st->next_used < vq->size &&
	       st->signalled_used < vq->size;
}

int vq_restore(struct virtqueue *vq, const struct guest_mem *mem, const struct vq_state *st)
{
	vq_reset(vq);
	vq->num = st->num;
	vq->desc_addr = st->desc_addr;
	vq->driver_addr = st->driver_addr;
	vq->device_addr = st->device_addr;
	if (!st->active)
		return 0;
	int err = vq_activate(vq, mem, ring_features(st));
	if (!err && !positions_ok(vq, st))
		err = -EINVAL;
	if (err) {
		vq_reset(vq);
		return err;
	}
	vq->last_avail = st->next_avail;
	vq->avail_wrap = st->avail_wrap;
	vq->used_idx = vq->pub_used = st->next_used;
	vq->used_wrap = vq->pub_wrap = st->used_wrap;
	vq->kicks_enabled = st->kicks_enabled;
	vq->signalled_used = st->signalled_used;
	vq->signalled_wrap = st->signalled_wrap;
	vq->broken = st->broken;
	vq->error = st->error;
	return 0;
}

int virtio_dev_save(const struct virtio_dev *dev, struct virtio_dev_state *st)
{
	memset(st, 0, sizeof(*st)); /* padding too: states compare with memcmp */
	st->driver_features = dev->driver_features;
	st->status = dev->status;
	st->config_generation = dev->config_generation;
	st->isr = dev->isr;
	st->num_queues = dev->num_queues;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		st->queue_ready[q] = dev->queue_ready[q];
		int err = vq_save(&dev->vqs[q], &st->vqs[q]);
		if (err)
			return err;
	}
	return 0;
}

int virtio_dev_restore(struct virtio_dev *dev, const struct virtio_dev_state *st)
{
	if (st->num_queues != dev->num_queues || st->driver_features & ~dev->host_features)
		return -EINVAL;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		int err = vq_restore(&dev->vqs[q], dev->mem, &st->vqs[q]);
		if (err)
			return err;
		dev->queue_ready[q] = st->queue_ready[q];
	}
	dev->driver_features = st->driver_features;
	dev->status = st->status;
	dev->config_generation = st->config_generation;
	dev->isr = st->isr;
	dev->pending = 0;
	return 0;
}
