/* Fuzzer-driven virtio driver (see fuzz_drv.h). Layouts follow virtio 1.2 2.7 (split) and 2.8
 * (packed); the driver publishes as 2.7.13 / 2.8.21 describe, so legal chains reach the device's
 * deep paths, while the raw operations let the input break any rule. */
#include "tools/fuzz/fuzz_drv.h"

#include <linux/virtio_ring.h>
#include <string.h>

#define PACKED_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_USED  (1u << VRING_PACKED_DESC_F_USED)
#define MAX_BUFS     16

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

uint64_t fz_split_avail_size(uint32_t n)
{
	return 6 + 2 * (uint64_t)n;
}

uint64_t fz_split_used_size(uint32_t n)
{
	return 6 + 8 * (uint64_t)n;
}

static uint64_t ring_end(const struct fz_drv *d)
{
	if (d->packed)
		return d->device + 4;
	return d->device + fz_split_used_size(d->size);
}

void fz_drv_layout(struct fz_drv *d, struct fz_mem *m, bool packed, uint16_t size, uint64_t base)
{
	memset(d, 0, sizeof(*d));
	d->m = m;
	d->packed = packed;
	d->size = size ? size : 1;
	d->desc = align_up(base, 16);
	uint64_t desc_end = d->desc + 16 * (uint64_t)d->size;
	if (packed) {
		d->driver = align_up(desc_end, 4);
		d->device = d->driver + 4;
	} else {
		d->driver = align_up(desc_end, 2);
		d->device = align_up(d->driver + fz_split_avail_size(d->size), 4);
	}
	d->heap_lo = align_up(ring_end(d), 16);
	d->heap_hi = fz_mem_gpa_at(m, fz_mem_total(m));
	if (d->heap_lo >= d->heap_hi)
		d->heap_lo = m->gpa[0];
	fz_drv_reset(d);
}

static void zero_range(struct fz_mem *m, uint64_t gpa, uint64_t len)
{
	static const uint8_t zeros[256];
	while (len > 0) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		fz_mem_write(m, gpa, zeros, n);
		gpa += n, len -= n;
	}
}

void fz_drv_reset(struct fz_drv *d)
{
	zero_range(d->m, d->desc, 16 * (uint64_t)d->size);
	if (d->packed) {
		zero_range(d->m, d->driver, 4);
		zero_range(d->m, d->device, 4);
	} else {
		zero_range(d->m, d->driver, fz_split_avail_size(d->size) + 2);
		zero_range(d->m, d->device, fz_split_used_size(d->size) + 2);
	}
	d->avail_idx = d->next_desc = d->next_avail = d->next_id = 0;
	d->avail_wrap = true; /* 2.8.1 */
}

uint64_t fz_drv_pick_addr(struct fz_drv *d, struct fz_in *in)
{
	struct fz_mem *m = d->m;
	uint64_t span = d->heap_hi - d->heap_lo;
	switch (fz_u8(in) % 10) {
	default: /* the heap */
		return d->heap_lo + (span ? fz_u16(in) % span : 0);
	case 6: { /* just before the end of a region: straddles it with a long enough buffer */
		int i = fz_u8(in) % m->n;
		return m->gpa[i] + m->size[i] - fz_u8(in);
	}
	case 7: /* inside the rings */
		return d->desc + fz_u16(in) % (ring_end(d) - d->desc + 16);
	case 8: /* anything */
		return fz_u64(in);
	case 9: /* just below the top of the address space, or 0 */
		return fz_bool(in) ? UINT64_MAX - fz_u8(in) : fz_u8(in);
	}
}

uint32_t fz_drv_pick_len(struct fz_drv *d, struct fz_in *in)
{
	switch (fz_u8(in) % 10) {
	default:
		return 1 + fz_u8(in);
	case 5:
		return fz_u16(in);
	case 6:
		return 0;
	case 7:
		return fz_u32(in);
	case 8:
		return UINT32_MAX - fz_u8(in);
	case 9: /* to the end of RAM from the heap start, or a whole region */
		return (uint32_t)(d->heap_hi - d->heap_lo);
	}
}

/* ---- split ring (2.7) ---- */

static uint64_t split_desc_gpa(const struct fz_drv *d, uint64_t table, uint16_t i)
{
	(void)d;
	return table + 16 * (uint64_t)i;
}

static void split_put_desc(struct fz_drv *d, uint64_t table, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t g = split_desc_gpa(d, table, i);
	fz_mem_put64(d->m, g, addr);
	fz_mem_put32(d->m, g + 8, len);
	fz_mem_put16(d->m, g + 12, flags);
	fz_mem_put16(d->m, g + 14, next);
}

static void split_publish(struct fz_drv *d, uint16_t head)
{
	fz_mem_put16(d->m, d->driver + 4 + 2 * (uint64_t)(d->avail_idx % d->size), head);
	d->avail_idx++;
	fz_mem_put16(d->m, d->driver + 2, d->avail_idx);
}

static void split_add(struct fz_drv *d, const uint64_t *addr, const uint32_t *len,
		      const bool *write, unsigned n)
{
	uint16_t head = d->next_desc % d->size;
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((head + k) % d->size);
		uint16_t next = (uint16_t)((i + 1) % d->size);
		uint16_t flags =
		    (write[k] ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		split_put_desc(d, d->desc, i, addr[k], len[k], flags, next);
	}
	d->next_desc = (uint16_t)((head + n) % d->size);
	split_publish(d, head);
}

/* ---- packed ring (2.8) ---- */

static uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? PACKED_AVAIL : PACKED_USED;
}

static void packed_put_desc(struct fz_drv *d, uint64_t gpa, uint64_t addr, uint32_t len,
			    uint16_t id, uint16_t flags)
{
	fz_mem_put64(d->m, gpa, addr);
	fz_mem_put32(d->m, gpa + 8, len);
	fz_mem_put16(d->m, gpa + 12, id);
	fz_mem_put16(d->m, gpa + 14, flags);
}

static void packed_add(struct fz_drv *d, const uint64_t *addr, const uint32_t *len,
		       const bool *write, unsigned n, uint16_t extra_flags)
{
	uint16_t first = d->next_avail % d->size, first_flags = 0;
	uint16_t id = d->next_id++ % d->size;
	for (unsigned k = 0; k < n; k++) {
		uint16_t slot = d->next_avail % d->size;
		uint16_t flags = packed_avail_bits(d->avail_wrap) | extra_flags |
				 (write[k] ? VRING_DESC_F_WRITE : 0) |
				 (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		/* 2.8.21: the first descriptor's flags are written last. */
		packed_put_desc(d, d->desc + 16 * (uint64_t)slot, addr[k], len[k], id,
				k == 0 ? 0 : flags);
		if (k == 0)
			first_flags = flags;
		if (++d->next_avail >= d->size) {
			d->next_avail = 0;
			d->avail_wrap = !d->avail_wrap;
		}
	}
	fz_mem_put16(d->m, d->desc + 16 * (uint64_t)first + 14, first_flags);
}

void fz_drv_add(struct fz_drv *d, const uint64_t *addr, const uint32_t *len, const bool *write,
		unsigned n)
{
	if (n > d->size)
		n = d->size;
	if (n == 0)
		return;
	if (d->packed)
		packed_add(d, addr, len, write, n, 0);
	else
		split_add(d, addr, len, write, n);
}

/* ---- operations ---- */

static void op_add_chain(struct fz_drv *d, struct fz_in *in)
{
	uint64_t addr[MAX_BUFS];
	uint32_t len[MAX_BUFS];
	bool write[MAX_BUFS];
	unsigned n = 1 + fz_u8(in) % 8;
	uint8_t writes = fz_u8(in);
	for (unsigned k = 0; k < n; k++) {
		addr[k] = fz_drv_pick_addr(d, in);
		len[k] = fz_drv_pick_len(d, in);
		write[k] = writes >> k & 1;
	}
	fz_drv_add(d, addr, len, write, n);
}

/* A table of n descriptors at `table` (split: NEXT-linked in order; packed: plain array). */
static void write_table(struct fz_drv *d, struct fz_in *in, uint64_t table, unsigned n)
{
	uint16_t writes = fz_u16(in);
	for (unsigned k = 0; k < n; k++) {
		uint64_t a = fz_drv_pick_addr(d, in);
		uint32_t l = fz_drv_pick_len(d, in);
		uint16_t f = writes >> k & 1 ? VRING_DESC_F_WRITE : 0;
		if (d->packed) {
			packed_put_desc(d, table + 16 * (uint64_t)k, a, l, 0, f);
		} else {
			f |= k + 1 < n ? VRING_DESC_F_NEXT : 0;
			split_put_desc(d, table, (uint16_t)k, a, l, f, (uint16_t)(k + 1));
		}
	}
}

static void op_add_indirect(struct fz_drv *d, struct fz_in *in)
{
	unsigned n = 1 + fz_u8(in) % 16;
	uint64_t table = fz_drv_pick_addr(d, in);
	if (fz_u8(in) % 4)
		table &= ~15ull; /* usually aligned, as drivers do */
	uint32_t tlen = fz_u8(in) % 8 ? 16 * n : fz_drv_pick_len(d, in);
	write_table(d, in, table, n);
	uint16_t extra = fz_u8(in) % 8 ? 0 : VRING_DESC_F_NEXT; /* INDIRECT|NEXT: illegal */
	if (d->packed) {
		bool w = false;
		uint64_t a = table;
		packed_add(d, &a, &tlen, &w, 1, VRING_DESC_F_INDIRECT | extra);
		return;
	}
	uint16_t head = d->next_desc % d->size;
	split_put_desc(d, d->desc, head, table, tlen, VRING_DESC_F_INDIRECT | extra,
		       (uint16_t)((head + 1) % d->size));
	d->next_desc = (uint16_t)((head + 1) % d->size);
	split_publish(d, head);
}

/* Readable buffers carrying input bytes (a device request header and payload, split at fuzzed
 * points), optionally a bulk readable buffer (sectors of whatever the heap holds), then writable
 * buffers. */
static void op_add_request(struct fz_drv *d, struct fz_in *in)
{
	uint64_t addr[MAX_BUFS];
	uint32_t len[MAX_BUFS];
	bool write[MAX_BUFS];
	size_t got;
	unsigned nr = 1 + fz_u8(in) % 3, nw = fz_u8(in) % 4, n = 0;
	uint32_t total = fz_u8(in);
	const uint8_t *payload = fz_take(in, total, &got);
	uint32_t off = 0;
	for (unsigned k = 0; k < nr; k++, n++) {
		uint32_t piece = k + 1 < nr ? fz_below(in, (uint32_t)got - off + 1) : got - off;
		addr[n] = d->heap_lo + fz_u16(in) % (d->heap_hi - d->heap_lo);
		len[n] = piece;
		write[n] = false;
		fz_mem_write(d->m, addr[n], payload + off, piece);
		off += piece;
	}
	uint8_t bulk = fz_u8(in); /* odd: a data buffer of (bulk >> 1) sectors from the heap */
	if (bulk & 1) {
		addr[n] = d->heap_lo + fz_u16(in) % (d->heap_hi - d->heap_lo);
		len[n] = (bulk >> 1) * 512u;
		write[n++] = false;
	}
	for (unsigned k = 0; k < nw; k++, n++) {
		addr[n] = fz_drv_pick_addr(d, in);
		len[n] = fz_u8(in) % 4 ? 1 + fz_u16(in) % 4096 : fz_drv_pick_len(d, in);
		write[n] = true;
	}
	fz_drv_add(d, addr, len, write, n);
}

static void op_raw_desc(struct fz_drv *d, struct fz_in *in)
{
	uint8_t raw[16];
	uint16_t slot = fz_u16(in) % d->size;
	fz_bytes(in, raw, sizeof(raw));
	fz_mem_write(d->m, d->desc + 16 * (uint64_t)slot, raw, sizeof(raw));
}

static void op_raw_avail(struct fz_drv *d, struct fz_in *in)
{
	uint16_t slot = fz_u16(in), v = fz_u16(in);
	if (d->packed)
		fz_mem_put16(d->m, d->desc + 16 * (uint64_t)(slot % d->size) + 14, v);
	else
		fz_mem_put16(d->m, d->driver + 4 + 2 * (uint64_t)(slot % d->size), v);
}

static void op_avail_idx(struct fz_drv *d, struct fz_in *in)
{
	if (d->packed) {
		fz_mem_put16(d->m, d->driver, fz_u16(in)); /* off_wrap */
		return;
	}
	uint8_t mode = fz_u8(in);
	if (mode & 1)
		d->avail_idx = fz_u16(in);
	else
		d->avail_idx = (uint16_t)(d->avail_idx + (int8_t)fz_u8(in));
	fz_mem_put16(d->m, d->driver + 2, d->avail_idx);
}

static void op_event(struct fz_drv *d, struct fz_in *in)
{
	uint8_t which = fz_u8(in);
	uint16_t v = fz_u16(in);
	if (d->packed)
		fz_mem_put16(d->m, d->driver + (which & 1 ? 0 : 2), v);
	else if (which & 1)
		fz_mem_put16(d->m, d->driver + 4 + 2 * (uint64_t)d->size, v); /* used_event */
	else
		fz_mem_put16(d->m, d->driver, v & 1); /* VRING_AVAIL_F_NO_INTERRUPT */
}

static void op_scribble(struct fz_drv *d, struct fz_in *in)
{
	size_t got;
	uint64_t gpa = fz_drv_pick_addr(d, in);
	const uint8_t *p = fz_take(in, fz_u8(in) % 64, &got);
	fz_mem_write(d->m, gpa, p, got);
}

void fz_drv_op(struct fz_drv *d, struct fz_in *in, unsigned op)
{
	switch (op % FZ_DRV_NOPS) {
	case FZ_DRV_ADD_CHAIN:
		op_add_chain(d, in);
		break;
	case FZ_DRV_ADD_INDIRECT:
		op_add_indirect(d, in);
		break;
	case FZ_DRV_ADD_REQUEST:
		op_add_request(d, in);
		break;
	case FZ_DRV_RAW_DESC:
		op_raw_desc(d, in);
		break;
	case FZ_DRV_RAW_AVAIL:
		op_raw_avail(d, in);
		break;
	case FZ_DRV_AVAIL_IDX:
		op_avail_idx(d, in);
		break;
	case FZ_DRV_EVENT:
		op_event(d, in);
		break;
	case FZ_DRV_SCRIBBLE:
		op_scribble(d, in);
		break;
	}
}
