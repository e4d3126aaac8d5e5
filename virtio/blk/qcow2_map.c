/* Guest offset -> L2 entry (spec "Cluster mapping"): L1 in memory, L2 tables through the cache.
 * Every table offset read from the image is checked before it is used. */
#include <errno.h>

#include "virtio/blk/qcow2_int.h"

/* A table or data cluster at `host`: cluster-aligned, past the header cluster, starting inside
 * the file, and not inside the L1 or refcount table. Logs (once) and returns false otherwise. */
bool qcow2_cluster_ok(struct qcow2 *q, uint64_t host, const char *what)
{
	uint64_t l1_end = q->h.l1_off + (uint64_t)q->h.l1_size * 8;
	uint64_t rt_end = q->h.rt_off + (uint64_t)q->h.rt_clusters * q->cs;
	if (host < q->cs || (host & (q->cs - 1)) || host >= q->file_size ||
	    (host + q->cs > q->h.l1_off && host < l1_end) ||
	    (host + q->cs > q->h.rt_off && host < rt_end)) {
		qcow2_bad(q, "%s at %llu is outside the file or on its header or tables", what,
			  (unsigned long long)host);
		return false;
	}
	return true;
}

/* The cached L2 table of guest offset `off`, or NULL: *r = 0 when none is allocated. With
 * `create`, an unallocated one is allocated (zeroed, dirty) and entered in L1. */
static uint64_t *l2_table(struct qcow2 *q, uint64_t off, bool create, int *r)
{
	uint64_t l1i = off >> (q->h.cluster_bits + __builtin_ctz(q->l2_entries));
	uint64_t l2 = q->l1[l1i] & QCOW2_OFFSET_MASK;
	*r = 0;
	if (!l2 && !create)
		return NULL;
	if (l2 && !qcow2_cluster_ok(q, l2, "L2 table")) {
		*r = -EIO;
		return NULL;
	}
	if (l2)
		return (uint64_t *)qcow2_cache_get(q, &q->l2, l2, false, r);
	if ((*r = qcow2_alloc_cluster(q, &l2)))
		return NULL;
	/* The table is in the cache (dirty) before L1 names it: a flush that the cache's
	 * eviction may run in between must not write an L1 entry to a table not yet written. */
	uint64_t *t = (uint64_t *)qcow2_cache_get(q, &q->l2, l2, true, r);
	if (t) {
		q->l1[l1i] = l2 | QCOW2_OFLAG_COPIED;
		q->l1_dirty[l1i] = 1;
	}
	return t;
}

static uint32_t l2_index(const struct qcow2 *q, uint64_t off)
{
	return (uint32_t)(off >> q->h.cluster_bits) & (q->l2_entries - 1);
}

/* An entry naming a cluster (a data cluster, or a preallocated zero cluster) at the offset of
 * its own L2 table would serve that table to the guest as data, and a write there would
 * overwrite the table: refused like the other metadata overlaps (qcow2_cluster_ok()). */
int qcow2_l2_lookup(struct qcow2 *q, uint64_t off, uint64_t *entry)
{
	int r;
	uint64_t *t = l2_table(q, off, false, &r);
	*entry = t ? qcow2_be64((const uint8_t *)&t[l2_index(q, off)]) : 0;
	uint64_t own = q->l1[off >> (q->h.cluster_bits + __builtin_ctz(q->l2_entries))];
	if (t && !(*entry & QCOW2_OFLAG_COMPRESSED) &&
	    (*entry & QCOW2_OFFSET_MASK) == (own & QCOW2_OFFSET_MASK)) {
		*entry = 0;
		return qcow2_bad(q, "the L2 table at %llu names itself as a data cluster",
				 (unsigned long long)(own & QCOW2_OFFSET_MASK));
	}
	return r;
}

/* The host offset of the plain data cluster holding `off`, or 0. */
static int plain_host(struct qcow2 *q, uint64_t off, uint64_t *host)
{
	uint64_t e;
	int r = qcow2_l2_lookup(q, off, &e);
	*host = 0;
	if (r || (e & QCOW2_OFLAG_COMPRESSED) || (q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO)))
		return r;
	uint64_t h = e & QCOW2_OFFSET_MASK;
	if (h && h + q->cs <= q->data_end && qcow2_cluster_ok(q, h, "data cluster")) {
		*host = h;
		qcow2_fastmap_put(q, off >> q->h.cluster_bits, h);
	}
	return 0;
}

/* qcow2_map() from the lock-free map alone: true when every cluster of the range is there,
 * consecutive in the file. */
static bool map_unlocked(const struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *host)
{
	uint64_t first = off & ~(q->cs - 1), h0 = 0, h;
	if (!len)
		return false;
	for (uint64_t c = first; c < off + len; c += q->cs) {
		if (!qcow2_fastmap_get(q, c >> q->h.cluster_bits, &h))
			return false;
		if (c == first)
			h0 = h;
		else if (h != h0 + (c - first))
			return false;
	}
	*host = h0 + (off - first);
	return true;
}

int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *host)
{
	uint64_t first = off & ~(q->cs - 1), h0 = 0, h;
	int r = 0, yes = len > 0;
	if (map_unlocked(q, off, len, host))
		return 1;
	pthread_mutex_lock(&q->lock);
	for (uint64_t c = first; c < off + len && yes && !r; c += q->cs) {
		r = plain_host(q, c, &h);
		if (c == first)
			h0 = h;
		yes = h && h == h0 + (c - first);
	}
	pthread_mutex_unlock(&q->lock);
	*host = h0 + (off - first);
	return r ? r : yes;
}

/* Called after the cluster `entry` names was written and its refcount counted (the order the
 * flush keeps on disk). */
int qcow2_l2_set(struct qcow2 *q, uint64_t off, uint64_t entry)
{
	int r;
	uint64_t *t = l2_table(q, off, true, &r);
	if (!t)
		return r;
	qcow2_put_be64((uint8_t *)&t[l2_index(q, off)], entry);
	qcow2_cache_mark(&q->l2, (uint8_t *)t);
	qcow2_fastmap_drop(q, off >> q->h.cluster_bits);
	return 0;
}
