/* Split virtqueue, device side (virtio 1.2 section 2.7).
 *
 * Layout (N = queue size, all little-endian):
 *   avail (Driver Area): le16 flags, le16 idx, le16 ring[N], le16 used_event   (2.7.6)
 *   used  (Device Area): le16 flags, le16 idx, {le32 id, le32 len} ring[N], le16 avail_event
 * Indices are free-running 16-bit counters; ring slots are idx & (N - 1) (N is a power of two).
 *
 * Ordering: the driver writes descriptors, then the avail ring entry, then (after a write
 * barrier) avail->idx (2.7.13). Loading avail->idx with acquire makes everything it published
 * visible before we read ring entries or descriptors. Symmetrically we write used elements, then
 * store used->idx with release (2.7.8), so the driver sees complete elements. */
#include "virtio/queue/vq_internal.h"

static uint64_t avail_idx_gpa(const struct virtqueue *vq)
{
	return vq->driver_addr + 2;
}

static uint64_t avail_ring_gpa(const struct virtqueue *vq, uint32_t slot)
{
	return vq->driver_addr + 4 + 2 * (uint64_t)slot;
}

/* 2.7.7.2: with VIRTIO_F_EVENT_IDX, used_event sits right after avail->ring[N - 1]. */
static uint64_t used_event_gpa(const struct virtqueue *vq)
{
	return avail_ring_gpa(vq, vq->size);
}

static uint64_t used_ring_gpa(const struct virtqueue *vq, uint32_t slot)
{
	return vq->device_addr + 4 + 8 * (uint64_t)slot;
}

/* 2.7.10: with VIRTIO_F_EVENT_IDX, avail_event sits right after used->ring[N - 1]. */
static uint64_t avail_event_gpa(const struct virtqueue *vq)
{
	return used_ring_gpa(vq, vq->size);
}

/* Keeps avail_event at the next index we will read, so the driver kicks for the next buffer it
 * adds after those we have seen (2.7.10). Only while kicks are wanted. */
static int update_avail_event(const struct virtqueue *vq, const struct guest_mem *mem)
{
	if (!vq->event_idx || !vq->kicks_enabled)
		return 0;
	return ring_store16(mem, avail_event_gpa(vq), __ATOMIC_RELAXED, vq->last_avail);
}

int split_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain)
{
	uint16_t avail_idx, head;
	int err = ring_load16(mem, avail_idx_gpa(vq), __ATOMIC_ACQUIRE, &avail_idx);
	if (err)
		return err;
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return -VQ_E_AVAIL_IDX; /* the driver cannot have more than N buffers out */

	/* Read the ring entry once; it is validated and used from this copy. */
	err = ring_load16(mem, avail_ring_gpa(vq, vq->last_avail & (vq->size - 1)),
			  __ATOMIC_RELAXED, &head);
	if (err)
		return err;
	if (head >= vq->size)
		return -VQ_E_HEAD;

	struct chain_builder b;
	chain_begin(&b, chain, mem, vq);
	err = chain_walk_split_table(&b, vq->desc_addr, vq->size, head, false);
	if (err)
		return err;
	chain_finish(&b);
	chain->id = head;
	if (vq->inflight + chain->ndescs > vq->size)
		return -VQ_E_OVERRUN; /* descriptors offered again while still in flight */
	vq->inflight += chain->ndescs;
	vq->last_avail++;
	return update_avail_event(vq, mem) ? -VQ_E_RING_RANGE : 1;
}

void split_unpop(struct virtqueue *vq, const struct guest_mem *mem)
{
	vq->last_avail--;
	update_avail_event(vq, mem);
}

int split_add_used(struct virtqueue *vq, const struct guest_mem *mem, struct vq_used used)
{
	if (used.id >= vq->size)
		return -VQ_E_BAD_ID;
	struct vring_used_elem elem = {.id = htole32(used.id), .len = htole32(used.len)};
	uint64_t gpa = used_ring_gpa(vq, vq->used_idx & (vq->size - 1));
	if (guest_mem_write(mem, gpa, &elem, sizeof(elem)))
		return -VQ_E_RING_RANGE;
	vq->used_idx++;
	return 0;
}

int split_publish_used(struct virtqueue *vq, const struct guest_mem *mem)
{
	/* Release: the elements written above are visible before the new idx (2.7.8). */
	int err = ring_store16(mem, vq->device_addr + 2, __ATOMIC_RELEASE, vq->used_idx);
	if (!err)
		vq->pub_used = vq->used_idx;
	return err;
}

bool split_should_notify(struct virtqueue *vq, const struct guest_mem *mem)
{
	uint16_t old = vq->signalled_used, new = vq->pub_used, v;

	/* Our used->idx store must be globally visible before we read the driver's suppression
	 * state; the driver does the mirror image (write used_event / flags, barrier, re-read
	 * used->idx), so one of us always sees the other (2.7.7.2). */
	ring_full_fence();
	vq->signalled_used = new;
	if (vq->event_idx) {
		/* Notify iff used_event lies in [old, new) modulo 2^16 (2.7.7.2). */
		if (ring_load16(mem, used_event_gpa(vq), __ATOMIC_RELAXED, &v))
			return true;
		return vring_need_event(v, new, old);
	}
	if (new == old)
		return false;
	if (ring_load16(mem, vq->driver_addr, __ATOMIC_RELAXED, &v))
		return true;
	return !(v & VRING_AVAIL_F_NO_INTERRUPT);
}

int split_set_kicks(struct virtqueue *vq, const struct guest_mem *mem, bool enable)
{
	/* With EVENT_IDX the flag is not used (2.7.10). Disabling points avail_event just behind
	 * the next index we read: the driver kicks when its index crosses avail_event, which it
	 * cannot do again before 2^16 more buffers, so a device that polls the ring gets no kicks
	 * at all (leaving avail_event where it was would still cost one kick, an exit, per
	 * disable). Enabling moves it back to the next index; vq_enable_notify() re-checks. */
	if (vq->event_idx && !enable)
		return ring_store16(mem, avail_event_gpa(vq), __ATOMIC_RELAXED,
				    (uint16_t)(vq->last_avail - 1));
	if (vq->event_idx)
		return update_avail_event(vq, mem);
	return ring_store16(mem, vq->device_addr, __ATOMIC_RELAXED,
			    enable ? 0 : VRING_USED_F_NO_NOTIFY);
}

int split_has_avail(const struct virtqueue *vq, const struct guest_mem *mem)
{
	uint16_t avail_idx;
	int err = ring_load16(mem, avail_idx_gpa(vq), __ATOMIC_ACQUIRE, &avail_idx);
	return err ? err : avail_idx != vq->last_avail;
}
