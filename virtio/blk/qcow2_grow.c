/* Growing a full refcount table (spec "Cluster refcounts": the table is contiguous, named by
 * the header). A table twice the size (or more, to cover what it needs) is built at the end of
 * the file and the header switched to it, in an order that keeps the file valid throughout:
 *   1. everything dirty is flushed first (qcow2_flush's order);
 *   2. in memory, the header's table moves to the new clusters and every entry becomes dirty,
 *      so a flush an eviction runs meanwhile writes entries only there (nothing names it yet);
 *   3. the new table's own clusters are counted (in refcount blocks that may be new too);
 *   4. the refcount blocks and the whole new table are written, then fdatasync;
 *   5. the header's refcount_table_offset and refcount_table_clusters (12 bytes in the first
 *      sector) are written, then fdatasync.
 * Until 5 the file names the old table, complete; from 5 on the new one, complete and durable.
 * The old table's clusters are leaked, not freed (`qemu-img check -r leaks` reclaims them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "virtio/blk/qcow2_int.h"

/* Clusters of a table with room for entry t and for the refcounts of every cluster up to its
 * own end (and a few refcount blocks after it), starting at `at`. */
static uint64_t table_clusters(const struct qcow2 *q, uint64_t t, uint64_t at)
{
	uint64_t per = q->cs / 8, n = (uint64_t)q->h.rt_clusters * 2;
	for (;;) {
		uint64_t end = at + (n + 4) * q->cs;
		uint64_t need = ((end >> q->h.cluster_bits) >> q->rb_bits) + 1;
		if (need < t + 1)
			need = t + 1;
		if (n * per >= need)
			return n;
		n *= 2;
	}
}

static int write_table(struct qcow2 *q)
{
	size_t bytes = (size_t)q->h.rt_clusters * q->cs;
	uint8_t *be = calloc(1, bytes);
	if (!be)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->rt_entries; i++)
		qcow2_put_be64(be + (size_t)i * 8, q->rt[i]);
	int r = qcow2_pwrite(q->fd, be, bytes, q->h.rt_off);
	free(be);
	return r;
}

static int switch_header(struct qcow2 *q)
{
	uint8_t h[12];
	qcow2_put_be64(h, q->h.rt_off);
	h[8] = (uint8_t)(q->h.rt_clusters >> 24), h[9] = (uint8_t)(q->h.rt_clusters >> 16);
	h[10] = (uint8_t)(q->h.rt_clusters >> 8), h[11] = (uint8_t)q->h.rt_clusters;
	int r = qcow2_pwrite(q->fd, h, sizeof(h), 48);
	return r ? r : qcow2_sync(q);
}

/* Step 2: the bigger arrays, the header's table at `at` in memory, every entry dirty. */
static int move_table(struct qcow2 *q, uint64_t at, uint64_t n)
{
	uint64_t entries = n * (q->cs / 8);
	uint64_t *rt = realloc(q->rt, entries * 8);
	if (rt)
		q->rt = rt;
	uint8_t *dirty = rt ? realloc(q->rt_dirty, entries) : NULL;
	if (!dirty)
		return -ENOMEM;
	q->rt_dirty = dirty;
	memset(q->rt + q->rt_entries, 0, (entries - q->rt_entries) * 8);
	memset(q->rt_dirty, 1, entries);
	q->rt_entries = (uint32_t)entries;
	q->h.rt_off = at;
	q->h.rt_clusters = (uint32_t)n;
	q->alloc_end = at + n * q->cs;
	if (q->alloc_end > q->file_size)
		q->file_size = q->alloc_end;
	return 0;
}

int qcow2_grow_refcount_table(struct qcow2 *q, uint64_t t)
{
	uint64_t at = q->alloc_end, n = table_clusters(q, t, at);
	int r;
	if (q->ro)
		return -EROFS;
	if (n * q->cs > QCOW2_MAX_RT_BYTES) {
		log_error("qcow2 %s: the refcount table would exceed %u MiB", q->path,
			  QCOW2_MAX_RT_BYTES >> 20);
		return -ENOSPC;
	}
	if ((r = qcow2_flush_meta(q)) || (r = move_table(q, at, n)))
		return r;
	for (uint64_t c = 0; c < n && !r; c++)
		r = qcow2_refcount_add(q, at + c * q->cs, 1);
	if (!r)
		r = qcow2_cache_write_dirty(q, &q->rb);
	if (!r)
		r = write_table(q);
	if (!r)
		r = qcow2_sync(q);
	if (!r)
		r = switch_header(q);
	if (!r)
		memset(q->rt_dirty, 0, q->rt_entries);
	return r;
}
