/* Packed virtqueue, device side (virtio 1.2 section 2.8).
 *
 * One ring of N 16-byte descriptors {le64 addr, le32 len, le16 id, le16 flags} shared by both
 * sides, plus two 4-byte event suppression structs {le16 off_wrap, le16 flags}: the driver's
 * (Driver Area, read by us) and the device's (Device Area, written by us) (2.8.10, 2.8.14).
 * N need not be a power of two. Slots run 0..N-1; each side keeps a wrap counter that starts at
 * 1 and flips each time it passes the end of the ring (2.8.1).
 *
 * A descriptor is available when its AVAIL bit equals our avail wrap counter and its USED bit
 * does not; we mark a used one by setting both bits to our used wrap counter. The flags word is
 * the only synchronisation: the driver writes a list's descriptors, then (after a barrier) the
 * first one's flags, so we load that flags word with acquire before reading anything else; we
 * write id and len, then the flags with release (2.8.21). */
#include "virtio/queue/vq_internal.h"

#define EVENT_WRAP_SHIFT VRING_PACKED_EVENT_F_WRAP_CTR

static uint64_t desc_gpa(const struct virtqueue *vq, uint16_t slot)
{
	return vq->desc_addr + (uint64_t)slot * VQ_DESC_SIZE;
}

static uint64_t flags_gpa(const struct virtqueue *vq, uint16_t slot)
{
	return desc_gpa(vq, slot) + 14;
}

static bool desc_is_avail(uint16_t flags, bool wrap)
{
	bool avail = flags & VQ_PACKED_F_AVAIL, used = flags & VQ_PACKED_F_USED;
	return avail == wrap && used != wrap;
}

/* Moves a slot forward by n (<= N) descriptors, flipping the wrap counter at the end. */
static void slot_advance(const struct virtqueue *vq, uint16_t *slot, bool *wrap, uint32_t n)
{
	uint32_t s = *slot + n;
	if (s >= vq->size) {
		s -= vq->size;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)s;
}

/* Position of (slot, wrap) on a circle of 2N positions: wrap counter 1 is the first lap. */
static uint32_t lap_pos(const struct virtqueue *vq, uint16_t slot, bool wrap)
{
	return slot + (wrap ? 0u : vq->size);
}

/* With EVENT_IDX, ask for a kick when the driver makes the next slot we will read available. */
static int write_kick_event(const struct virtqueue *vq, const struct guest_mem *mem)
{
	uint16_t off_wrap = vq->last_avail | (uint16_t)(vq->avail_wrap << EVENT_WRAP_SHIFT);
	return ring_store16(mem, vq->device_addr, __ATOMIC_RELAXED, off_wrap);
}

static int update_kick_event(const struct virtqueue *vq, const struct guest_mem *mem)
{
	if (!vq->event_idx || !vq->kicks_enabled)
		return 0;
	return write_kick_event(vq, mem);
}

static int read_ring_desc(const struct virtqueue *vq, const struct guest_mem *mem, uint16_t slot,
			  struct vq_desc *d)
{
	uint8_t raw[VQ_DESC_SIZE];
	if (guest_mem_read(mem, desc_gpa(vq, slot), raw, sizeof(raw)))
		return -VQ_E_RING_RANGE;
	desc_decode_packed(raw, d);
	return 0;
}

/* Walks the NEXT-linked list starting at the available slot whose flags were loaded already. */
static int walk_list(struct virtqueue *vq, struct chain_builder *b, uint16_t first_flags,
		     uint16_t *slot, bool *wrap)
{
	struct vq_desc d;
	do {
		/* 2.8.17: "A driver MUST NOT create a descriptor list longer than the Queue Size"
		 */
		if (b->ring_descs == vq->size)
			return -VQ_E_LOOP;
		int err = read_ring_desc(vq, b->mem, *slot, &d);
		if (err)
			return err;
		if (b->ring_descs == 0)
			d.flags = first_flags; /* judge and use the one value we checked */
		err = chain_add_ring_desc(b, &d);
		if (err)
			return err;
		slot_advance(vq, slot, wrap, 1);
	} while (d.flags & VRING_DESC_F_NEXT);
	b->chain->id = d.id; /* 2.8.6: "Buffer ID is included in the last descriptor in the list" */
	return 0;
}

int packed_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain)
{
	uint16_t slot = vq->last_avail, flags;
	bool wrap = vq->avail_wrap;
	int err = ring_load16(mem, flags_gpa(vq, slot), __ATOMIC_ACQUIRE, &flags);
	if (err)
		return err;
	if (!desc_is_avail(flags, wrap))
		return 0;

	struct chain_builder b;
	chain_begin(&b, chain, mem, vq);
	err = walk_list(vq, &b, flags, &slot, &wrap);
	if (err)
		return err;
	chain_finish(&b);
	if (vq->inflight + chain->ndescs > vq->size)
		return -VQ_E_OVERRUN; /* in-flight descriptors made available again */
	vq->inflight += chain->ndescs;
	vq->last_avail = slot;
	vq->avail_wrap = wrap;
	return update_kick_event(vq, mem) ? -VQ_E_RING_RANGE : 1;
}

void packed_unpop(struct virtqueue *vq, const struct guest_mem *mem, uint16_t ndescs)
{
	if (vq->last_avail >= ndescs) {
		vq->last_avail -= ndescs;
	} else {
		vq->last_avail = (uint16_t)(vq->last_avail + vq->size - ndescs);
		vq->avail_wrap = !vq->avail_wrap;
	}
	update_kick_event(vq, mem);
}

int packed_add_used(struct virtqueue *vq, const struct guest_mem *mem, struct vq_used used)
{
	uint64_t gpa = desc_gpa(vq, vq->used_idx);
	/* 2.8.1: a used descriptor has AVAIL == USED == our wrap counter. 2.8.3: WRITE says
	 * whether the device wrote anything (len is reserved without it). */
	uint16_t flags = (vq->used_wrap ? VQ_PACKED_F_AVAIL | VQ_PACKED_F_USED : 0) |
			 (used.len ? VRING_DESC_F_WRITE : 0);

	if (ring_store32(mem, gpa + 8, used.len) ||
	    ring_store16(mem, gpa + 12, __ATOMIC_RELAXED, used.id))
		return -VQ_E_RING_RANGE;
	if (!vq->batch_pending) {
		/* The driver polls only this slot: holding its flags back until publish keeps the
		 * whole batch invisible, then reveals it at once (2.8.9). */
		vq->batch_slot = vq->used_idx;
		vq->batch_flags = flags;
		vq->batch_pending = true;
	} else if (ring_store16(mem, gpa + 14, __ATOMIC_RELEASE, flags)) {
		return -VQ_E_RING_RANGE;
	}
	/* 2.8.6: one used descriptor stands for the whole list; skip the rest of its slots. */
	slot_advance(vq, &vq->used_idx, &vq->used_wrap, used.ndescs);
	return 0;
}

int packed_publish_used(struct virtqueue *vq, const struct guest_mem *mem)
{
	if (vq->batch_pending) {
		/* Release: id/len of every element of the batch before the first one's flags. */
		if (ring_store16(mem, flags_gpa(vq, vq->batch_slot), __ATOMIC_RELEASE,
				 vq->batch_flags))
			return -VQ_E_RING_RANGE;
		vq->batch_pending = false;
	}
	vq->pub_used = vq->used_idx;
	vq->pub_wrap = vq->used_wrap;
	return 0;
}

/* 2.8.10: driver event suppression. DESC asks for a notification when the descriptor at
 * (off, wrap) is used, i.e. when it lies in the slots published since the last decision; the
 * test is 2.7.7.2's (u16)(new - event - 1) < (u16)(new - old) on a circle of 2N positions. */
bool packed_should_notify(struct virtqueue *vq, const struct guest_mem *mem)
{
	uint32_t m = 2u * vq->size;
	uint32_t old = lap_pos(vq, vq->signalled_used, vq->signalled_wrap);
	uint32_t new = lap_pos(vq, vq->pub_used, vq->pub_wrap);
	uint16_t flags, off_wrap;

	ring_full_fence(); /* used flags stores before the driver-event loads (see split) */
	vq->signalled_used = vq->pub_used;
	vq->signalled_wrap = vq->pub_wrap;
	if (ring_load16(mem, vq->driver_addr + 2, __ATOMIC_RELAXED, &flags) ||
	    ring_load16(mem, vq->driver_addr, __ATOMIC_RELAXED, &off_wrap))
		return true;
	uint32_t published = (new + m - old) % m;
	flags &= 3;
	if (published == 0 || flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true; /* ENABLE; DESC without EVENT_IDX and reserved 3 read as ENABLE */
	uint16_t off = off_wrap & ((1u << EVENT_WRAP_SHIFT) - 1);
	if (off >= vq->size)
		return false; /* names no slot: such a descriptor is never used */
	uint32_t event = lap_pos(vq, off, off_wrap >> EVENT_WRAP_SHIFT);
	return (new + m - event - 1) % m < published;
}

int packed_set_kicks(struct virtqueue *vq, const struct guest_mem *mem, bool enable)
{
	uint16_t flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	if (enable && vq->event_idx) {
		int err = write_kick_event(vq, mem);
		if (err)
			return err;
		flags = VRING_PACKED_EVENT_FLAG_DESC;
	} else if (enable) {
		flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	}
	/* Release: with DESC, off_wrap is visible no later than the flags that make it count. */
	return ring_store16(mem, vq->device_addr + 2, __ATOMIC_RELEASE, flags);
}

int packed_has_avail(const struct virtqueue *vq, const struct guest_mem *mem)
{
	uint16_t flags;
	int err = ring_load16(mem, flags_gpa(vq, vq->last_avail), __ATOMIC_ACQUIRE, &flags);
	return err ? err : desc_is_avail(flags, vq->avail_wrap);
}
