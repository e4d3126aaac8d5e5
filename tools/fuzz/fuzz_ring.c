/* Virtqueue fuzz engine (see fuzz_ring.h).
 *
 * Input: a configuration header (features, queue size, RAM layout, ring addresses: legal or,
 * for a quarter of the inputs, hostile), then up to MAX_OPS operations: driver operations
 * (fuzz_drv.h, and chains of about VQ_CHAIN_MAX_SEGS buffers) and device operations on the
 * queue (pop, chain reads/writes of fuzzed sizes, push, unpop, batching, notification
 * decisions, reset).
 *
 * Invariants checked (beyond ASan/UBSan, for which fake RAM is exact-size heap memory):
 *  - a legal configuration activates; vq_pop returns 1, 0 or a named -VQ_E_* that breaks the
 *    queue, and a broken queue stays broken (and writes nothing) until reset;
 *  - a popped chain is consistent: segment counts, lengths, order, every segment inside RAM;
 *  - chain reads return exactly the guest bytes of the readable segments, in order; writes land
 *    exactly in the writable segments; `written` never exceeds the writable length or the
 *    writer cursor;
 *  - the device writes guest memory only in its ring areas (pop/push/notify) or in the
 *    writable segments of the chain being written, and vq_should_notify() writes nothing;
 *  - a pushed element carries the chain's id and the bytes written; unpop + pop returns the
 *    same chain when it sees the same RAM: the device's own ring writes between the two pops
 *    (split avail_event, 2.7.10; packed device event off_wrap, 2.8.10) may land on a
 *    descriptor table or avail ring that a hostile input placed over the device area, so the
 *    harness puts those bytes back before the second pop (regressions
 *    split_ring/unpop-avail-event-over-desc, packed_ring/unpop-device-event-over-desc). */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_drv.h"
#include "tools/fuzz/fuzz_ring.h"
#include "virtio/queue/virtqueue.h"
#include "virtio/queue/virtqueue_test.h"

#define MAX_OPS	 512
#define NHELD	 8
#define IO_MAX	 65536
#define RAM0_GPA 0x10000ull

struct ring_ctx {
	struct fz_in in;
	struct fz_mem m;
	struct fz_drv d;
	struct virtqueue vq;
	uint64_t features;
	uint32_t num;
	uint64_t desc, driver, device; /* what the "transport" programs */
	bool hostile;		       /* hostile ring addresses */
	bool legal;		       /* legal size and addresses: activation must succeed */
	bool broken;		       /* the queue was seen broken since the last reset */
	unsigned nheld;
};

static struct vq_chain chain, chain2, held[NHELD];
static uint8_t iobuf[IO_MAX], gathered[IO_MAX];
/* The device area (split: the used ring; packed: the device event suppression struct), the
 * only area a pop or unpop writes, as it was before the last pop. */
static uint8_t dev_before[6 + 8 * VQ_MAX_SIZE + 2];
static uint64_t dev_before_len;
static struct fz_ranges allowed;

/* ---- configuration ---- */

static uint64_t hostile_addr(struct ring_ctx *c, uint64_t legal)
{
	switch (fz_u8(&c->in) % 5) {
	case 0:
		return legal;
	case 1:
		return RAM0_GPA + fz_u16(&c->in);
	case 2:
		return legal + (int8_t)fz_u8(&c->in);
	case 3:
		return fz_u64(&c->in);
	default:
		return fz_mem_gpa_at(&c->m, fz_mem_total(&c->m)) - fz_u16(&c->in) % 8192;
	}
}

static int setup(struct ring_ctx *c, bool packed)
{
	uint8_t cfg = fz_u8(&c->in), size_sel = fz_u8(&c->in);
	bool hostile_size = (cfg & 0x18) == 0x18;
	c->hostile = (cfg & 0x60) == 0x60;
	uint16_t max = 256;
	uint32_t num = packed ? 1u + size_sel : 1u << (size_sel % 9);
	if (hostile_size) {
		max = fz_u16(&c->in);
		num = fz_u8(&c->in) & 1 ? fz_u32(&c->in) : fz_u16(&c->in);
	}
	c->legal = !hostile_size && !c->hostile;
	if (vq_init(&c->vq, max))
		return -1;

	uint64_t size0 = 8192 + (fz_u8(&c->in) % 8) * 4096ull;
	unsigned misalign = c->hostile && (cfg & 0x80) ? 8 : 0;
	if (fz_mem_add(&c->m, RAM0_GPA, size0, misalign))
		return -1;
	if (cfg & 4) {
		uint64_t gap = fz_u8(&c->in) & 1 ? 0 : 4096;
		uint64_t size1 = 4096 + (fz_u8(&c->in) % 4) * 4096ull;
		if (fz_mem_add(&c->m, RAM0_GPA + size0 + gap, size1, 0))
			return -1;
	}
	uint16_t dsize = num && num <= VQ_MAX_SIZE ? (uint16_t)num : 1;
	if (!packed && (dsize & (dsize - 1)))
		dsize = 1;
	fz_drv_layout(&c->d, &c->m, packed, dsize, RAM0_GPA);

	c->num = num;
	c->desc = c->d.desc, c->driver = c->d.driver, c->device = c->d.device;
	if (c->hostile) {
		c->desc = hostile_addr(c, c->desc);
		c->driver = hostile_addr(c, c->driver);
		c->device = hostile_addr(c, c->device);
	}
	c->features = (1ull << VIRTIO_F_VERSION_1) | (packed ? 1ull << VIRTIO_F_RING_PACKED : 0) |
		      (cfg & 1 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
		      (cfg & 2 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0);
	return 0;
}

/* ---- helpers ---- */

/* What the device may write in ring operations (nothing once broken or inactive). */
static const struct fz_ranges *ring_areas(struct ring_ctx *c)
{
	fz_ranges_clear(&allowed);
	if (!vq_is_active(&c->vq) || vq_is_broken(&c->vq))
		return &allowed;
	uint64_t n = c->vq.size;
	if (c->vq.packed) {
		fz_ranges_add(&allowed, c->vq.desc_addr, 16 * n);
		fz_ranges_add(&allowed, c->vq.device_addr, 4);
	} else {
		fz_ranges_add(&allowed, c->vq.device_addr, fz_split_used_size((uint32_t)n));
	}
	return &allowed;
}

static void activate(struct ring_ctx *c)
{
	c->vq.num = c->num;
	c->vq.desc_addr = c->desc;
	c->vq.driver_addr = c->driver;
	c->vq.device_addr = c->device;
	int r = vq_activate(&c->vq, &c->m.mem, c->features);
	/* An activation may write the device's notification fields (kicks wanted), nothing else. */
	fz_mem_check(&c->m, ring_areas(c), "activation");
	FZ_ASSERT(r == 0 || !vq_is_active(&c->vq), "failed activation left the queue active");
	FZ_ASSERT(r == 0 || !c->legal, "legal queue (size %u) refused: %s", c->num, vq_strerror(r));
	FZ_ASSERT(r != 0 || (c->vq.size == c->num && !vq_is_broken(&c->vq)), "bad activation");
}

static const struct fz_ranges *writable_segs(const struct vq_chain *ch)
{
	fz_ranges_clear(&allowed);
	for (unsigned i = ch->nreadable; i < ch->nsegs; i++)
		fz_ranges_add(&allowed, ch->segs[i].addr, ch->segs[i].len);
	return &allowed;
}

static void note_broken(struct ring_ctx *c)
{
	FZ_ASSERT(!c->broken || vq_is_broken(&c->vq), "a broken queue came back without reset");
	c->broken = vq_is_broken(&c->vq);
}

static void check_chain(struct ring_ctx *c, const struct vq_chain *ch)
{
	uint64_t rd = 0, wr = 0;
	FZ_ASSERT(ch->nsegs <= VQ_CHAIN_MAX_SEGS && ch->nreadable <= ch->nsegs, "segment counts");
	FZ_ASSERT(ch->ndescs >= 1 && ch->ndescs <= c->vq.size, "ndescs %u", ch->ndescs);
	FZ_ASSERT(c->vq.packed || ch->id < c->vq.size, "split id %u >= size", ch->id);
	FZ_ASSERT(c->vq.inflight <= c->vq.size, "inflight %u > size", c->vq.inflight);
	for (unsigned i = 0; i < ch->nsegs; i++) {
		const struct vq_seg *s = &ch->segs[i];
		FZ_ASSERT(s->len > 0, "empty segment stored");
		FZ_ASSERT(s->writable == (i >= ch->nreadable), "segment %u in the wrong part", i);
		FZ_ASSERT(guest_mem_valid(&c->m.mem, s->addr, s->len), "segment outside RAM");
		*(s->writable ? &wr : &rd) += s->len;
	}
	FZ_ASSERT(rd == ch->readable_len && wr == ch->writable_len, "length sums");
	FZ_ASSERT(ch->rd.pos == 0 && ch->wr.pos == 0 && ch->written == 0, "cursors not at 0");
}

/* The bytes [pos, pos + len) of one direction of the chain, gathered by hand. */
static void gather(struct ring_ctx *c, const struct vq_chain *ch, bool writable, uint64_t pos,
		   uint8_t *dst, uint64_t len)
{
	for (unsigned i = 0; i < ch->nsegs && len > 0; i++) {
		const struct vq_seg *s = &ch->segs[i];
		if (s->writable != writable)
			continue;
		if (pos >= s->len) {
			pos -= s->len;
			continue;
		}
		uint64_t n = s->len - pos < len ? s->len - pos : len;
		FZ_ASSERT(!guest_mem_read(&c->m.mem, s->addr + pos, dst, n), "gather");
		dst += n, len -= n, pos = 0;
	}
}

/* An amount to read or write: usually within what remains, sometimes past it. */
static uint32_t pick_amount(struct ring_ctx *c, uint32_t remaining)
{
	uint32_t v;
	switch (fz_u8(&c->in) % 4) {
	case 0:
		v = remaining;
		break;
	case 1:
		v = remaining + 1 + fz_u8(&c->in);
		break;
	default:
		v = fz_u16(&c->in) % ((uint64_t)remaining + 1);
		break;
	}
	return v > IO_MAX ? IO_MAX : v;
}

static bool host_in_ram(const struct fz_mem *m, const void *p, size_t len)
{
	uintptr_t b = (uintptr_t)p;
	for (int i = 0; i < m->n; i++) {
		uintptr_t lo = (uintptr_t)m->host[i];
		if (b >= lo && len <= m->size[i] && b - lo <= m->size[i] - len)
			return true;
	}
	return false;
}

/* ---- chain I/O steps ---- */

static void step_read(struct ring_ctx *c, struct vq_chain *ch, bool skip)
{
	struct vq_cursor before = ch->rd;
	uint32_t left = vq_chain_readable(ch), len = pick_amount(c, left);
	int r = skip ? vq_chain_skip_read(ch, len) : vq_chain_read(ch, &c->m.mem, iobuf, len);
	fz_mem_check(&c->m, NULL, "chain read");
	if (len > left) {
		FZ_ASSERT(r == -VQ_E_SHORT && ch->rd.pos == before.pos, "short read accepted");
		return;
	}
	FZ_ASSERT(r == 0 && ch->rd.pos == before.pos + len, "read of %u failed: %d", len, r);
	if (!skip) {
		gather(c, ch, false, before.pos, gathered, len);
		FZ_ASSERT(!memcmp(iobuf, gathered, len), "read returned other bytes");
	}
}

static int cmp_seg(const void *a, const void *b)
{
	const struct vq_seg *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* True when two writable segments share a byte: a later write may then rewrite an earlier one
 * (the driver's doing), so the bytes in RAM need not equal the stream written. */
static bool writable_overlap(const struct vq_chain *ch)
{
	static struct vq_seg s[VQ_CHAIN_MAX_SEGS];
	unsigned n = ch->nsegs - ch->nreadable;
	memcpy(s, ch->segs + ch->nreadable, n * sizeof(s[0]));
	qsort(s, n, sizeof(s[0]), cmp_seg);
	for (unsigned i = 1; i < n; i++)
		if (s[i - 1].addr + s[i - 1].len > s[i].addr)
			return true;
	return false;
}

static void step_write(struct ring_ctx *c, struct vq_chain *ch, bool skip)
{
	uint32_t before = ch->wr.pos, written = ch->written;
	uint32_t left = vq_chain_writable(ch), len = pick_amount(c, left);
	uint8_t pat = fz_u8(&c->in);
	for (uint32_t i = 0; i < len; i++)
		iobuf[i] = (uint8_t)(pat + i);
	int r = skip ? vq_chain_skip_write(ch, len) : vq_chain_write(ch, &c->m.mem, iobuf, len);
	fz_mem_check(&c->m, writable_segs(ch), "chain write");
	if (len > left) {
		FZ_ASSERT(r == -VQ_E_SHORT && ch->wr.pos == before && ch->written == written,
			  "short write accepted");
		return;
	}
	FZ_ASSERT(r == 0 && ch->wr.pos == before + len, "write of %u failed: %d", len, r);
	FZ_ASSERT(ch->written == written + (skip ? 0 : len), "written miscounted");
	if (!skip && !writable_overlap(ch)) {
		gather(c, ch, true, before, gathered, len);
		FZ_ASSERT(!memcmp(iobuf, gathered, len), "write put other bytes");
	}
}

static void step_iov(struct ring_ctx *c, struct vq_chain *ch, bool write)
{
	struct iovec iov[8];
	int max = 1 + fz_u8(&c->in) % 8;
	uint32_t left = write ? vq_chain_writable(ch) : vq_chain_readable(ch);
	uint32_t len = pick_amount(c, left), pos = write ? ch->wr.pos : ch->rd.pos;
	int r = write ? vq_chain_write_iov(ch, &c->m.mem, len, iov, max)
		      : vq_chain_read_iov(ch, &c->m.mem, len, iov, max);
	fz_mem_check(&c->m, NULL, "iov mapping");
	if (r < 0) {
		FZ_ASSERT(r == -VQ_E_SHORT || r == -ENOBUFS, "iov error %d", r);
		FZ_ASSERT((write ? ch->wr.pos : ch->rd.pos) == pos, "failed iov moved the cursor");
		return;
	}
	FZ_ASSERT(r <= max && len <= left, "iov count %d / len %u", r, len);
	size_t total = 0;
	for (int i = 0; i < r; i++) {
		FZ_ASSERT(host_in_ram(&c->m, iov[i].iov_base, iov[i].iov_len), "iov outside RAM");
		memcpy(iobuf + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	FZ_ASSERT(total == len, "iov total %zu != %u", total, len);
	gather(c, ch, write, pos, gathered, len);
	FZ_ASSERT(!memcmp(iobuf, gathered, len), "iov maps other bytes"); /* same instant */
	if (!write)
		return;
	for (int i = 0; i < r; i++)
		memset(iov[i].iov_base, 0xa5, iov[i].iov_len);
	fz_mem_check(&c->m, writable_segs(ch), "iov write");
	uint32_t claim = fz_u8(&c->in) % 4 ? len : fz_u32(&c->in);
	uint32_t written = ch->written;
	r = vq_chain_add_written(ch, claim);
	FZ_ASSERT(r == 0 || r == -EINVAL, "add_written %d", r);
	FZ_ASSERT(r || ch->written == written + claim, "add_written miscounted");
}

/* ---- device operations ---- */

static void op_pop(struct ring_ctx *c);

static void push(struct ring_ctx *c, const struct vq_chain *ch, bool publish)
{
	uint16_t slot = c->vq.used_idx;
	bool was_broken = vq_is_broken(&c->vq);
	const struct fz_ranges *ok = ring_areas(c);
	int r = publish ? vq_push(&c->vq, &c->m.mem, ch)
			: vq_add_used(&c->vq, &c->m.mem, vq_chain_used(ch));
	fz_mem_check(&c->m, ok, "push");
	FZ_ASSERT(!was_broken || r == -VQ_E_BROKEN, "push on a broken queue: %d", r);
	if (r || !c->legal)
		return;
	uint32_t id, len;
	if (c->vq.packed) {
		uint64_t g = c->vq.desc_addr + 16 * (uint64_t)slot;
		len = fz_mem_get32(&c->m, g + 8), id = fz_mem_get16(&c->m, g + 12);
	} else {
		uint64_t g = c->vq.device_addr + 4 + 8 * (uint64_t)(slot & (c->vq.size - 1));
		id = fz_mem_get32(&c->m, g), len = fz_mem_get32(&c->m, g + 4);
		FZ_ASSERT(!publish || fz_mem_get16(&c->m, c->vq.device_addr + 2) == c->vq.used_idx,
			  "used->idx not published");
	}
	FZ_ASSERT(id == ch->id && len == ch->written, "used elem {%u, %u} for chain {%u, %u}", id,
		  len, ch->id, ch->written);
}

static bool same_chain(const struct vq_chain *a, const struct vq_chain *b)
{
	if (a->id != b->id || a->ndescs != b->ndescs || a->nsegs != b->nsegs ||
	    a->nreadable != b->nreadable)
		return false;
	for (unsigned i = 0; i < a->nsegs; i++)
		if (a->segs[i].addr != b->segs[i].addr || a->segs[i].len != b->segs[i].len)
			return false;
	return true;
}

/* Saves the device area before a pop, so that unpop() can undo the device's ring writes. */
static void save_device_area(struct ring_ctx *c)
{
	dev_before_len = 0;
	if (!vq_is_active(&c->vq) || vq_is_broken(&c->vq))
		return;
	uint64_t n = c->vq.packed ? 4 : fz_split_used_size(c->vq.size);
	if (n <= sizeof(dev_before) && !guest_mem_read(&c->m.mem, c->vq.device_addr, dev_before, n))
		dev_before_len = n;
}

/* The driver puts the device area back as it was before the pop (only the kick event the
 * device publishes can differ: a pop publishes no element). The pop after the unpop then reads
 * exactly the RAM the first one read, even when the input laid its descriptors or avail ring
 * over the device area. Returns false when nothing was saved. */
static bool restore_device_area(struct ring_ctx *c)
{
	if (!dev_before_len)
		return false;
	fz_mem_write(&c->m, c->vq.device_addr, dev_before, dev_before_len);
	return true;
}

static void unpop(struct ring_ctx *c, struct vq_chain *ch, bool wrote)
{
	const struct fz_ranges *ok = ring_areas(c);
	int r = vq_unpop(&c->vq, &c->m.mem, ch);
	fz_mem_check(&c->m, ok, "unpop");
	if (r)
		return;
	bool same_ram = restore_device_area(c);
	r = vq_pop(&c->vq, &c->m.mem, &chain2);
	fz_mem_check(&c->m, ok, "pop after unpop");
	if (wrote || !same_ram) /* the chain's own writes may have rewritten its descriptors */
		return;
	FZ_ASSERT(r == 1 && same_chain(ch, &chain2), "unpop + pop gave another chain (%d)", r);
	push(c, &chain2, true);
}

static void op_pop(struct ring_ctx *c)
{
	bool was_broken = vq_is_broken(&c->vq), active = vq_is_active(&c->vq);
	const struct fz_ranges *ok = ring_areas(c);
	save_device_area(c);
	int r = vq_pop(&c->vq, &c->m.mem, &chain);
	fz_mem_check(&c->m, ok, "pop");
	FZ_ASSERT(active || r == 0, "pop on an inactive queue: %d", r);
	FZ_ASSERT(!was_broken || r == -VQ_E_BROKEN, "pop on a broken queue: %d", r);
	FZ_ASSERT(r >= -VQ_E_MAX + 1 && r <= 1, "pop returned %d", r);
	if (r < 0) {
		FZ_ASSERT(r <= -VQ_E_NOT_READY && vq_is_broken(&c->vq), "error %d without break",
			  r);
		return;
	}
	if (r == 0)
		return;
	check_chain(c, &chain);

	bool wrote = false;
	for (unsigned steps = fz_u8(&c->in) % 6; steps > 0; steps--) {
		unsigned kind = fz_u8(&c->in) % 6;
		wrote |= kind == 1 || kind == 5;
		if (kind < 2)
			kind == 0 ? step_read(c, &chain, false) : step_write(c, &chain, false);
		else if (kind < 4)
			kind == 2 ? step_read(c, &chain, true) : step_write(c, &chain, true);
		else
			step_iov(c, &chain, kind == 5);
		FZ_ASSERT(chain.written <= chain.writable_len && chain.written <= chain.wr.pos,
			  "written %u > writable %u / cursor %u", chain.written, chain.writable_len,
			  chain.wr.pos);
	}
	switch (fz_u8(&c->in) % 4) {
	case 0:
	case 1:
		push(c, &chain, true);
		break;
	case 2:
		unpop(c, &chain, wrote);
		break;
	default:
		if (c->nheld < NHELD)
			memcpy(&held[c->nheld++], &chain, sizeof(chain));
		else
			push(c, &chain, true);
		break;
	}
}

static void op_held(struct ring_ctx *c)
{
	uint8_t which = fz_u8(&c->in), mode = fz_u8(&c->in) % 4;
	if (c->nheld == 0)
		return;
	unsigned i = which % c->nheld;
	if (mode < 3)
		push(c, &held[i], mode < 2);
	held[i] = held[--c->nheld]; /* mode 3: the device forgets it (a leak, not a crash) */
}

static void op_notify(struct ring_ctx *c)
{
	const struct fz_ranges *ok = ring_areas(c);
	int r = 0;
	switch (fz_u8(&c->in) % 4) {
	case 0:
		vq_should_notify(&c->vq, &c->m.mem);
		ok = NULL; /* a decision only reads */
		break;
	case 1:
		r = vq_enable_notify(&c->vq, &c->m.mem);
		FZ_ASSERT(r <= 1, "enable_notify %d", r);
		break;
	case 2:
		r = vq_disable_notify(&c->vq, &c->m.mem);
		break;
	default:
		r = vq_publish_used(&c->vq, &c->m.mem);
		break;
	}
	fz_mem_check(&c->m, ok, "notification");
}

static void op_raw_used(struct ring_ctx *c)
{
	struct vq_used u = {fz_u16(&c->in), fz_u16(&c->in), fz_u32(&c->in)};
	const struct fz_ranges *ok = ring_areas(c);
	vq_add_used(&c->vq, &c->m.mem, u);
	fz_mem_check(&c->m, ok, "raw add_used");
	FZ_ASSERT(c->vq.inflight <= c->vq.size || !vq_is_active(&c->vq), "inflight overflow");
}

/* A chain of about VQ_CHAIN_MAX_SEGS non-empty buffers, a few either side of the limit, the
 * last 0-7 of them writable (few: the shadow check of a write costs per writable segment): a
 * split ring reaches the limit with a few ring descriptors and then one indirect table of up to
 * 1024 entries (2.7.5.3.2), a packed one only with a ring of more than 1024 descriptors (a
 * queue that large, from a hostile size). Buffers are 1 to 16 bytes anywhere in the heap (they
 * may overlap: the walker does not care). */
static void op_long_chain(struct ring_ctx *c)
{
	enum { MAX = VQ_CHAIN_MAX_SEGS + 8 };
	static uint64_t addr[MAX];
	static uint32_t len[MAX];
	static bool write[MAX];
	static uint8_t table[16 * MAX];
	struct fz_drv *d = &c->d;
	uint32_t n = VQ_CHAIN_MAX_SEGS - 4 + fz_u8(&c->in) % 8;
	uint32_t nread = n - fz_u8(&c->in) % 8;
	uint64_t span = d->heap_hi - d->heap_lo;
	uint8_t seed = fz_u8(&c->in);
	if (span < 16)
		return;
	for (uint32_t k = 0; k < n; k++) {
		len[k] = 1 + (seed + k) % 16;
		addr[k] = d->heap_lo + (uint64_t)(seed + 37 * k) % (span - 15);
		write[k] = k >= nread;
	}
	if (d->packed) {
		fz_drv_add(d, addr, len, write, n); /* clipped to the ring */
		return;
	}
	/* split: `ring` direct descriptors, then one INDIRECT for the rest, published as fz_drv.c
	 * does (2.7.13) */
	uint32_t ring = 1 + fz_u8(&c->in) % 8, m = n - ring;
	if (ring + 1 > d->size || m * 16ull > span)
		return;
	uint64_t at = d->heap_lo + ((uint64_t)fz_u16(&c->in) % (span - 16 * m + 1) & ~15ull);
	uint16_t head = d->next_desc % d->size;
	for (uint32_t k = 0; k <= ring; k++) {
		uint64_t g = d->desc + 16 * (uint64_t)((head + k) % d->size);
		bool ind = k == ring;
		uint16_t flags = ind ? VRING_DESC_F_INDIRECT : VRING_DESC_F_NEXT;
		flags |= !ind && write[k] ? VRING_DESC_F_WRITE : 0;
		fz_mem_put64(&c->m, g, ind ? at : addr[k]);
		fz_mem_put32(&c->m, g + 8, ind ? 16 * m : len[k]);
		fz_mem_put16(&c->m, g + 12, flags);
		fz_mem_put16(&c->m, g + 14, (uint16_t)((head + k + 1) % d->size));
	}
	for (uint32_t i = 0; i < m; i++) { /* struct vring_desc, little-endian (2.7.5) */
		uint32_t k = ring + i;
		uint16_t flags =
		    (k + 1 < n ? VRING_DESC_F_NEXT : 0) | (write[k] ? VRING_DESC_F_WRITE : 0);
		uint64_t a = htole64(addr[k]);
		uint32_t l = htole32(len[k]);
		uint16_t f = htole16(flags), nx = htole16((uint16_t)(i + 1));
		memcpy(table + 16 * i, &a, 8);
		memcpy(table + 16 * i + 8, &l, 4);
		memcpy(table + 16 * i + 12, &f, 2);
		memcpy(table + 16 * i + 14, &nx, 2);
	}
	fz_mem_write(&c->m, at, table, 16 * m);
	d->next_desc = (uint16_t)((head + ring + 1) % d->size);
	fz_mem_put16(&c->m, d->driver + 4 + 2 * (uint64_t)(d->avail_idx % d->size), head);
	d->avail_idx++;
	fz_mem_put16(&c->m, d->driver + 2, d->avail_idx);
}

static void op_reset(struct ring_ctx *c)
{
	vq_reset(&c->vq);
	FZ_ASSERT(!vq_is_active(&c->vq) && !vq_is_broken(&c->vq), "reset left state");
	fz_drv_reset(&c->d);
	c->nheld = 0;
	c->broken = false;
	if (fz_u8(&c->in) % 8)
		activate(c);
}

int fz_ring_run(const uint8_t *data, size_t size, bool packed)
{
	static struct ring_ctx c;
	memset(&c, 0, sizeof(c));
	c.in = fz_in_make(data, size);
	if (setup(&c, packed) == 0) {
		activate(&c);
		bool trace = getenv("FUZZ_TRACE");
		for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&c.in); ops++) {
			unsigned op = fz_u8(&c.in) % (FZ_DRV_NOPS + 7);
			if (trace)
				fprintf(stderr, "fuzz: op %u at byte %zu, avail %u used %u%s\n", op,
					c.in.pos, c.vq.last_avail, c.vq.used_idx,
					vq_is_broken(&c.vq) ? " BROKEN" : "");
			if (op < FZ_DRV_NOPS)
				fz_drv_op(&c.d, &c.in, op);
			else if (op == FZ_DRV_NOPS)
				op_pop(&c);
			else if (op == FZ_DRV_NOPS + 1)
				op_held(&c);
			else if (op == FZ_DRV_NOPS + 2)
				op_notify(&c);
			else if (op == FZ_DRV_NOPS + 3)
				op_pop(&c);
			else if (op == FZ_DRV_NOPS + 4)
				op_raw_used(&c);
			else if (op == FZ_DRV_NOPS + 5)
				op_reset(&c);
			else
				op_long_chain(&c);
			note_broken(&c);
		}
	}
	fz_mem_free(&c.m);
	return 0;
}
