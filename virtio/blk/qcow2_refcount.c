/* Refcounts and cluster allocation (spec "Cluster refcounts"). New clusters are appended at
 * the end of the file: no free-space search, and a cluster freed is never reused while the
 * image is open, so a freed cluster that an older L2 entry on disk still names cannot be
 * handed out again before that entry is gone. */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "virtio/blk/qcow2_int.h"

static uint64_t rc_read(const struct qcow2 *q, const uint8_t *blk, uint64_t i)
{
	const uint8_t *p = blk + i * q->rc_bytes;
	uint64_t v = 0;
	for (uint32_t k = 0; k < q->rc_bytes; k++)
		v = v << 8 | p[k];
	return v;
}

static void rc_write(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v)
{
	uint8_t *p = blk + i * q->rc_bytes;
	for (uint32_t k = q->rc_bytes; k-- > 0; v >>= 8)
		p[k] = (uint8_t)v;
}

/* The refcount block covering host offset `off`, or NULL (*r = 0: none allocated yet). */
static uint8_t *block_of(struct qcow2 *q, uint64_t off, uint64_t *idx, int *r)
{
	uint64_t cluster = off >> q->h.cluster_bits;
	uint64_t t = cluster >> q->rb_bits;
	*r = 0;
	*idx = cluster & ((1ull << q->rb_bits) - 1);
	if (t >= q->rt_entries) {
		*r = -ENOSPC;
		return NULL;
	}
	uint64_t rb = q->rt[t] & ~(q->cs - 1);
	if (!rb)
		return NULL;
	if (!qcow2_cluster_ok(q, rb, "refcount block")) {
		*r = -EIO;
		return NULL;
	}
	return qcow2_cache_get(q, &q->rb, rb, false, r);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t off, uint64_t *rc)
{
	uint64_t i;
	int r;
	uint8_t *blk = block_of(q, off, &i, &r);
	*rc = blk ? rc_read(q, blk, i) : 0;
	return r == -ENOSPC ? 0 : r; /* beyond the table: no refcount, not an error to read */
}

/* A new refcount block for table entry t, placed at the end of the file. Its own cluster's
 * refcount lives in itself when it covers itself; otherwise in the block that does. */
static int new_block(struct qcow2 *q, uint64_t t)
{
	uint64_t rb = q->alloc_end;
	int r;
	q->alloc_end += q->cs;
	if (q->alloc_end > q->file_size)
		q->file_size = q->alloc_end;
	if (!qcow2_cache_get(q, &q->rb, rb, true, &r))
		return r;
	q->rt[t] = rb;
	q->rt_dirty[t] = 1;
	return qcow2_refcount_add(q, rb, 1);
}

int qcow2_refcount_add(struct qcow2 *q, uint64_t off, int delta)
{
	uint64_t i, max = q->rc_bytes == 8 ? UINT64_MAX : (1ull << (q->rc_bytes * 8)) - 1;
	int r;
	uint8_t *blk = block_of(q, off, &i, &r);
	if (r == -ENOSPC && delta > 0 &&
	    !(r = qcow2_grow_refcount_table(q, (off >> q->h.cluster_bits) >> q->rb_bits)))
		blk = block_of(q, off, &i, &r);
	if (!blk && !r) {
		if (delta < 0)
			return qcow2_bad(q, "refcount of cluster %llu drops below 0",
					 (unsigned long long)off);
		if ((r = new_block(q, (off >> q->h.cluster_bits) >> q->rb_bits)))
			return r;
		blk = block_of(q, off, &i, &r);
	}
	if (!blk)
		return r ? r : -EIO;
	uint64_t v = rc_read(q, blk, i);
	if ((delta < 0 && v == 0) || (delta > 0 && v == max))
		return qcow2_bad(q, "refcount of cluster %llu over- or underflows",
				 (unsigned long long)off);
	rc_write(q, blk, i, delta > 0 ? v + 1 : v - 1);
	qcow2_cache_mark(&q->rb, blk);
	return 0;
}

/* How far past the file's end clusters counted as used are looked for: what a VMM stopped
 * mid-flush can leave there is the tail of its last allocations (tables and data not written
 * yet), a few clusters; a hostile image that counts clusters far beyond cannot make the file
 * jump there (and only double-counts its own clusters). */
#define TAIL_WINDOW 256

/* The highest cluster in [from, end) whose refcount in table entry t's block is not 0, raised
 * into *hi (one past it). */
static void used_in_block(struct qcow2 *q, uint64_t t, uint64_t from, uint64_t end, uint64_t *hi)
{
	uint64_t first = t << q->rb_bits, last = first + (1ull << q->rb_bits), i;
	int r;
	uint8_t *blk = block_of(q, first << q->h.cluster_bits, &i, &r);
	if (!blk)
		return;
	for (uint64_t c = from > first ? from : first; c < last && c < end; c++)
		if (rc_read(q, blk, c - first) && c + 1 > *hi)
			*hi = c + 1;
}

/* One past cluster `off` when it lies in [from, end) and past *hi. */
static void raise_to(const struct qcow2 *q, uint64_t off, uint64_t from, uint64_t end, uint64_t *hi)
{
	uint64_t c = off >> q->h.cluster_bits;
	if (off && c >= from && c < end && c + 1 > *hi)
		*hi = c + 1;
}

int qcow2_skip_used_tail(struct qcow2 *q)
{
	uint64_t from = q->alloc_end >> q->h.cluster_bits, end = from + TAIL_WINDOW, hi = from;
	for (uint64_t t = from >> q->rb_bits; t < q->rt_entries && (t << q->rb_bits) < end; t++)
		if ((q->rt[t] & ~(q->cs - 1)) && (q->rt[t] & ~(q->cs - 1)) < q->alloc_end)
			used_in_block(q, t, from, end, &hi);
	for (uint64_t t = 0; t < q->rt_entries; t++) /* blocks the table names, never written */
		raise_to(q, q->rt[t] & ~(q->cs - 1), from, end, &hi);
	for (uint32_t i = 0; i < q->h.l1_size; i++) /* L2 tables the L1 names, never written */
		raise_to(q, q->l1[i] & QCOW2_OFFSET_MASK & ~(q->cs - 1), from, end, &hi);
	if (hi == from)
		return 0;
	log_info("qcow2 %s: %llu clusters past the end of the file are counted as used (a stop "
		 "between a metadata flush and the data it counts): new clusters go after them, "
		 "qemu-img check -r leaks reclaims them",
		 q->path, (unsigned long long)(hi - from));
	q->alloc_end = hi << q->h.cluster_bits;
	if (q->alloc_end > q->file_size)
		q->file_size = q->alloc_end;
	return 0;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off)
{
	uint64_t c = q->alloc_end;
	if (c + q->cs > (1ull << 56))
		return -ENOSPC;
	q->alloc_end += q->cs;
	if (q->alloc_end > q->file_size)
		q->file_size = q->alloc_end;
	int r = qcow2_refcount_add(q, c, 1);
	if (r)
		return r;
	*off = c;
	return 0;
}
