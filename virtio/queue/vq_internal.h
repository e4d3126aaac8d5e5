/* Internal interface between the virtqueue files; devices use virtio/queue/virtqueue.h only.
 *
 *   virtqueue.c   setup, validation of ring extents, dispatch, broken-queue handling
 *   split_ring.c  split ring indices, avail/used rings, split notification rules (2.7)
 *   packed_ring.c packed descriptor ring, wrap counters, event suppression (2.8)
 *   desc_chain.c  the one chain walker: descriptor validation and indirect tables (2.7.5, 2.8.6)
 *   chain_io.c    byte-stream reader / writer over a chain */
#ifndef VIRTIO_VQ_INTERNAL_H
#define VIRTIO_VQ_INTERNAL_H

#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdint.h>

#include "virtio/queue/virtqueue.h"

/* Packed descriptor flags (2.8.1); linux/virtio_ring.h gives their bit numbers only. */
#define VQ_PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define VQ_PACKED_F_USED  (1u << VRING_PACKED_DESC_F_USED)

/* Both descriptor formats are 16 bytes (struct vring_desc, struct vring_packed_desc). */
#define VQ_DESC_SIZE 16u

/* One descriptor, copied out of guest memory once and converted to host byte order. Split and
 * packed descriptors both become this; fields a format lacks are 0. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next; /* split only */
	uint16_t id;   /* packed only */
};

/* State of one walk over a chain (desc_chain.c). */
struct chain_builder {
	struct vq_chain *chain;
	const struct guest_mem *mem;
	bool packed;	     /* ring format: decides the indirect table layout */
	bool indirect_ok;    /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool seen_write;     /* a device-writable descriptor was seen: no readable one may follow */
	uint32_t total;	     /* sum of all descriptor lengths, overflow-checked */
	uint32_t ring_descs; /* descriptors taken from the ring itself (not from a table) */
};

void chain_begin(struct chain_builder *b, struct vq_chain *chain, const struct guest_mem *mem,
		 const struct virtqueue *vq);

/* Validates one ring descriptor (copy) and appends its buffer, or walks the indirect table it
 * points to. Returns 0 or -VQ_E_*. */
int chain_add_ring_desc(struct chain_builder *b, const struct vq_desc *d);

/* Completes the chain after a successful walk (writer cursor, descriptor count). */
void chain_finish(struct chain_builder *b);

/* Walks a next-linked split descriptor table of `count` entries from `first`: the descriptor
 * table of the ring itself (in_table false) or an indirect table (in_table true). */
int chain_walk_split_table(struct chain_builder *b, uint64_t base, uint32_t count, uint16_t first,
			   bool in_table);

void desc_decode_packed(const uint8_t raw[VQ_DESC_SIZE], struct vq_desc *d);

/* ---- ring field access: all ring indices / flags shared with the driver go through these ----
 * The rings were checked to be RAM and naturally aligned by vq_activate(), so the host pointers
 * are aligned and __atomic accesses on them are single, untorn loads and stores. A NULL pointer
 * (guest memory changed under us) is reported as -VQ_E_RING_RANGE. */

static inline int ring_load16(const struct guest_mem *mem, uint64_t gpa, int order, uint16_t *v)
{
	uint16_t *p = guest_mem_ptr(mem, gpa, sizeof(*p));
	if (!p)
		return -VQ_E_RING_RANGE;
	*v = le16toh(__atomic_load_n(p, order));
	return 0;
}

static inline int ring_store16(const struct guest_mem *mem, uint64_t gpa, int order, uint16_t v)
{
	uint16_t *p = guest_mem_ptr(mem, gpa, sizeof(*p));
	if (!p)
		return -VQ_E_RING_RANGE;
	__atomic_store_n(p, htole16(v), order);
	guest_mem_mark_dirty(mem, gpa, sizeof(*p));
	return 0;
}

static inline int ring_store32(const struct guest_mem *mem, uint64_t gpa, uint32_t v)
{
	uint32_t *p = guest_mem_ptr(mem, gpa, sizeof(*p));
	if (!p)
		return -VQ_E_RING_RANGE;
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
	guest_mem_mark_dirty(mem, gpa, sizeof(*p));
	return 0;
}

/* Full barrier between our store to a ring field and our next load of a driver field
 * (store->load ordering, which acquire/release does not give): the "suitable memory barrier" of
 * 2.7.7.2 / 2.7.10 / 2.8.10 that keeps a notification or a kick from being lost. */
static inline void ring_full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- per-format operations (split_ring.c, packed_ring.c) ---- */
int split_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain);
void split_unpop(struct virtqueue *vq, const struct guest_mem *mem);
int split_add_used(struct virtqueue *vq, const struct guest_mem *mem, struct vq_used used);
int split_publish_used(struct virtqueue *vq, const struct guest_mem *mem);
bool split_should_notify(struct virtqueue *vq, const struct guest_mem *mem);
int split_set_kicks(struct virtqueue *vq, const struct guest_mem *mem, bool enable);
int split_has_avail(const struct virtqueue *vq, const struct guest_mem *mem);

int packed_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain);
void packed_unpop(struct virtqueue *vq, const struct guest_mem *mem, uint16_t ndescs);
int packed_add_used(struct virtqueue *vq, const struct guest_mem *mem, struct vq_used used);
int packed_publish_used(struct virtqueue *vq, const struct guest_mem *mem);
bool packed_should_notify(struct virtqueue *vq, const struct guest_mem *mem);
int packed_set_kicks(struct virtqueue *vq, const struct guest_mem *mem, bool enable);
int packed_has_avail(const struct virtqueue *vq, const struct guest_mem *mem);

#endif
