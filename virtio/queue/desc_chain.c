/* The one descriptor-chain walker for both ring formats (virtio 1.2 2.7.5, 2.7.5.3, 2.8.6, 2.8.7).
 *
 * The ring code (split_ring.c / packed_ring.c) decides which ring descriptor comes next; every
 * descriptor, from the ring or from an indirect table, is copied out of guest memory exactly once
 * into a struct vq_desc and validated here before its buffer is stored in the chain. Later
 * changes to guest memory cannot change the chain (no double fetch).
 *
 * Rules enforced (each failure is a named error that breaks the queue):
 *  - next < table length, and a chain is at most as long as its table: a loop is caught by the
 *    hop count (2.7.5.2: "A driver MUST NOT create a descriptor chain longer than the Queue Size");
 *  - the sum of all lengths fits in 32 bits (2.7.5.2 "longer than 2^32 bytes in total");
 *  - no device-readable descriptor after a device-writable one (2.7.4.2, 2.8.17);
 *  - every buffer lies entirely inside one guest RAM region;
 *  - INDIRECT only when VIRTIO_RING_F_INDIRECT_DESC was negotiated, never with NEXT, never inside
 *    an indirect table, and (packed, 2.8.19) never inside a NEXT-linked list; its table is
 *    non-empty, a multiple of 16 bytes, at most VQ_CHAIN_MAX_SEGS entries, inside guest RAM. The
 *    WRITE flag of the INDIRECT descriptor itself is ignored (2.7.5.3.2);
 *  - at most VQ_CHAIN_MAX_SEGS non-empty buffers.
 *
 * Zero-length descriptors: the spec does not forbid them, so they are accepted and skipped. They
 * carry no bytes, so their address is not checked and they are not stored as segments, but they
 * still count as hops (a loop of empty descriptors is still caught) and still obey the
 * readable-before-writable order.
 *
 * In a packed indirect table only WRITE is a valid flag (2.8.7); NEXT is ignored as the spec
 * says, but INDIRECT is refused as nesting rather than ignored, since only a broken driver sets it.
 */
#include <string.h>

#include "virtio/queue/vq_internal.h"

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint16_t le16_at(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

/* struct vring_desc: le64 addr, le32 len, le16 flags, le16 next (2.7.5). */
static void desc_decode_split(const uint8_t raw[VQ_DESC_SIZE], struct vq_desc *d)
{
	*d = (struct vq_desc){.addr = le64_at(raw),
			      .len = le32_at(raw + 8),
			      .flags = le16_at(raw + 12),
			      .next = le16_at(raw + 14)};
}

/* struct vring_packed_desc: le64 addr, le32 len, le16 id, le16 flags (2.8.13). */
void desc_decode_packed(const uint8_t raw[VQ_DESC_SIZE], struct vq_desc *d)
{
	*d = (struct vq_desc){.addr = le64_at(raw),
			      .len = le32_at(raw + 8),
			      .id = le16_at(raw + 12),
			      .flags = le16_at(raw + 14)};
}

void chain_begin(struct chain_builder *b, struct vq_chain *chain, const struct guest_mem *mem,
		 const struct virtqueue *vq)
{
	*b = (struct chain_builder){
	    .chain = chain, .mem = mem, .packed = vq->packed, .indirect_ok = vq->indirect};
	/* Only the header: segs[] is filled up to nsegs and never read past it. */
	chain->id = 0;
	chain->ndescs = 0;
	chain->nsegs = 0;
	chain->nreadable = 0;
	chain->readable_len = 0;
	chain->writable_len = 0;
	chain->rd = (struct vq_cursor){0};
	chain->wr = (struct vq_cursor){0};
	chain->written = 0;
}

void chain_finish(struct chain_builder *b)
{
	b->chain->ndescs = (uint16_t)b->ring_descs;
	b->chain->wr.seg = b->chain->nreadable; /* writable segments follow the readable ones */
}

/* Copies descriptor `idx` of the 16-byte-entry table at `base` (whose extent was checked). */
static int read_desc(const struct chain_builder *b, uint64_t base, uint32_t idx, int range_err,
		     struct vq_desc *d)
{
	uint8_t raw[VQ_DESC_SIZE];
	if (guest_mem_read(b->mem, base + (uint64_t)idx * VQ_DESC_SIZE, raw, sizeof(raw)))
		return range_err;
	if (b->packed)
		desc_decode_packed(raw, d);
	else
		desc_decode_split(raw, d);
	return 0;
}

/* Validates a plain (non-INDIRECT) descriptor and stores its buffer. */
static int chain_add_buffer(struct chain_builder *b, const struct vq_desc *d)
{
	struct vq_chain *c = b->chain;
	bool writable = d->flags & VRING_DESC_F_WRITE;

	if (!writable && b->seen_write)
		return -VQ_E_ORDER;
	b->seen_write |= writable;
	if (__builtin_add_overflow(b->total, d->len, &b->total))
		return -VQ_E_CHAIN_LEN;
	if (d->len == 0)
		return 0;
	if (!guest_mem_valid(b->mem, d->addr, d->len))
		return -VQ_E_BUF_RANGE;
	if (c->nsegs == VQ_CHAIN_MAX_SEGS)
		return -VQ_E_TOO_MANY_SEGS;
	c->segs[c->nsegs++] = (struct vq_seg){d->addr, d->len, writable};
	if (writable) {
		c->writable_len += d->len; /* cannot wrap: bounded by b->total */
	} else {
		c->readable_len += d->len;
		c->nreadable++;
	}
	return 0;
}

static int chain_add_table_desc(struct chain_builder *b, const struct vq_desc *d)
{
	if (d->flags & VRING_DESC_F_INDIRECT)
		return -VQ_E_INDIRECT_NESTED;
	return chain_add_buffer(b, d);
}

/* 2.8.7: a packed indirect table is a plain array; every entry is used, in order. */
static int walk_packed_table(struct chain_builder *b, uint64_t base, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		struct vq_desc d;
		int err = read_desc(b, base, i, -VQ_E_INDIRECT_RANGE, &d);
		if (!err)
			err = chain_add_table_desc(b, &d);
		if (err)
			return err;
	}
	return 0;
}

/* 2.7.5.3 / 2.8.7: checks the descriptor that points to an indirect table, then walks it. */
static int walk_indirect(struct chain_builder *b, const struct vq_desc *d)
{
	if (!b->indirect_ok)
		return -VQ_E_INDIRECT_FEATURE;
	if (d->flags & VRING_DESC_F_NEXT)
		return -VQ_E_INDIRECT_NEXT;
	if (d->len == 0 || d->len % VQ_DESC_SIZE || d->len / VQ_DESC_SIZE > VQ_CHAIN_MAX_SEGS)
		return -VQ_E_INDIRECT_LEN;
	if (!guest_mem_valid(b->mem, d->addr, d->len))
		return -VQ_E_INDIRECT_RANGE;
	uint32_t count = d->len / VQ_DESC_SIZE;
	if (b->packed)
		return walk_packed_table(b, d->addr, count);
	return chain_walk_split_table(b, d->addr, count, 0, true);
}

int chain_add_ring_desc(struct chain_builder *b, const struct vq_desc *d)
{
	b->ring_descs++;
	if (!(d->flags & VRING_DESC_F_INDIRECT))
		return chain_add_buffer(b, d);
	/* 2.8.19: "A driver MUST NOT write direct descriptors with DESC_F_INDIRECT set in a
	 * scatter-gather list linked by VIRTQ_DESC_F_NEXT". A split chain may end in one
	 * (2.7.5.3.2: "zero or more normal chained descriptors followed by a single descriptor
	 * with flags&VIRTQ_DESC_F_INDIRECT"). */
	if (b->packed && b->ring_descs > 1)
		return -VQ_E_INDIRECT_NEXT;
	return walk_indirect(b, d);
}

int chain_walk_split_table(struct chain_builder *b, uint64_t base, uint32_t count, uint16_t first,
			   bool in_table)
{
	int range_err = in_table ? -VQ_E_INDIRECT_RANGE : -VQ_E_RING_RANGE;
	uint32_t idx = first;

	for (uint32_t hops = 1;; hops++) {
		struct vq_desc d;
		int err = read_desc(b, base, idx, range_err, &d);
		if (!err)
			err = in_table ? chain_add_table_desc(b, &d) : chain_add_ring_desc(b, &d);
		if (err)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (hops == count)
			return -VQ_E_LOOP; /* a count+1-th descriptor means some index repeats */
		if (d.next >= count)
			return -VQ_E_NEXT;
		idx = d.next;
	}
}
