/* Saving and restoring virtqueue and device state. See virtio/core/queue_state.h. */
#include "virtio/core/queue_state.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
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

static bool bool_ok(const uint8_t *raw, size_t off)
{
	return raw[off] <= 1;
}

bool virtio_dev_state_bools_ok(const void *raw)
{
	const size_t vq_bools[] = {
	    offsetof(struct vq_state, active),	      offsetof(struct vq_state, packed),
	    offsetof(struct vq_state, event_idx),     offsetof(struct vq_state, indirect),
	    offsetof(struct vq_state, avail_wrap),    offsetof(struct vq_state, used_wrap),
	    offsetof(struct vq_state, kicks_enabled), offsetof(struct vq_state, signalled_wrap),
	    offsetof(struct vq_state, broken)};
	for (size_t q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++) {
		if (!bool_ok(raw, offsetof(struct virtio_dev_state, queue_ready) + q))
			return false;
		size_t vq = offsetof(struct virtio_dev_state, vqs) + q * sizeof(struct vq_state);
		for (size_t i = 0; i < sizeof(vq_bools) / sizeof(vq_bools[0]); i++) {
			if (!bool_ok(raw, vq + vq_bools[i]))
				return false;
		}
	}
	return true;
}

/* A queue is active only when the driver made it ready, and in a running device (DRIVER_OK, not
 * NEEDS_RESET) every ready queue is active: a state that breaks this would leave a ready queue
 * unserved. */
static bool queues_consistent(const struct virtio_dev_state *st, uint16_t n)
{
	bool running =
	    (st->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(st->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	for (uint16_t q = 0; q < n; q++) {
		if (st->vqs[q].active && !st->queue_ready[q])
			return false;
		if (running && st->queue_ready[q] && !st->vqs[q].active)
			return false;
	}
	return true;
}

int virtio_dev_restore(struct virtio_dev *dev, const struct virtio_dev_state *st)
{
	if (st->num_queues != dev->num_queues || st->driver_features & ~dev->host_features ||
	    st->isr & ~(uint32_t)(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG) ||
	    !queues_consistent(st, dev->num_queues))
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
