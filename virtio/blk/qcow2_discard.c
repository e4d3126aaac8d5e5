/* DISCARD and WRITE_ZEROES with UNMAP on a qcow2 image: whole clusters lose their host cluster,
 * which goes back to the host file (a hole) and to the free count of the image.
 *
 * The order that keeps the file consistent is the reverse of an allocation's: the L2 entry that
 * stops naming a cluster must be durable before the cluster's refcount drops, or a crash could
 * leave an entry naming a cluster counted free (which QEMU would hand out again: two guest
 * clusters sharing one host cluster). So a freed cluster only joins a list here; the flush
 * writes the L2 tables and L1 first (qcow2_flush_meta's steps 1-4), then drops the listed
 * refcounts, punches the clusters out of the file and writes the refcount blocks (step 5).
 *
 * Requests in flight stay harmless: a freed cluster is never allocated again while the image
 * is open (allocation appends at the end of the file), so a read or write that qcow2_map()
 * aimed at it before the discard touches a cluster nothing names (a write refills part of the
 * hole; the image is unaffected). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "virtio/blk/qcow2_int.h"

#define FREES_MAX 4096 /* listed clusters before a discard flushes them itself */

/* What a deallocated cluster's L2 entry becomes: unallocated, unless a backing file would then
 * show through where the guest must read zeroes (`zero`) or where QEMU also hides it (a
 * discarded cluster over a backing file reads as zeroes in v3, as in QEMU). Returns false when
 * the image cannot express it (v2 with a backing file). */
static bool dealloc_entry(const struct qcow2 *q, uint64_t *entry)
{
	if (!q->has_back) {
		*entry = 0;
		return true;
	}
	*entry = QCOW2_OFLAG_ZERO;
	return q->h.version >= 3;
}

static int list_free(struct qcow2 *q, uint64_t host)
{
	if (q->nfrees == FREES_MAX) {
		int r = qcow2_flush_meta(q);
		if (r)
			return r;
	}
	if (!q->frees && !(q->frees = malloc(FREES_MAX * sizeof(*q->frees))))
		return -ENOMEM;
	q->frees[q->nfrees++] = host;
	return 0;
}

/* One whole cluster at guest offset `off` deallocated. */
static int dealloc_cluster(struct qcow2 *q, uint64_t off, bool zero)
{
	uint64_t e, ne;
	int r = qcow2_l2_lookup(q, off, &e);
	if (r)
		return r;
	if (!dealloc_entry(q, &ne))
		return zero ? qcow2_write_zero_bytes(q, off, (size_t)q->cs) : 0;
	if (e == ne)
		return 0;
	/* A compressed cluster's sectors may share host clusters with others: leaked, as a
	 * write over it leaks it (qemu-img check -r leaks reclaims them). */
	uint64_t host = e & QCOW2_OFLAG_COMPRESSED ? 0 : e & QCOW2_OFFSET_MASK;
	if (host && !qcow2_cluster_ok(q, host, "data cluster"))
		return -EIO;
	if ((r = qcow2_l2_set(q, off, ne)))
		return r;
	return host ? list_free(q, host) : 0;
}

/* DISCARD's piece (arg: the `zero` of qcow2_discard()). */
static int discard_piece(struct qcow2 *q, uint64_t off, uint64_t piece, void *arg)
{
	bool zero = *(const bool *)arg;
	if (piece == q->cs)
		return dealloc_cluster(q, off, zero);
	return zero ? qcow2_write_zero_bytes(q, off, (size_t)piece) : 0;
}

int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zero)
{
	return qcow2_each_piece(q, off, len, discard_piece, &zero);
}

/* Step 5 of the flush: the listed clusters' refcounts drop (the L2 entries that named them are
 * durable), their bytes leave the file, the refcount blocks are written. The list is taken
 * first: a refcount block evicted meanwhile flushes through here with an empty list. A failure
 * loses the rest of the list: those clusters leak, nothing worse. */
int qcow2_apply_frees(struct qcow2 *q)
{
	uint32_t n = q->nfrees;
	int r = 0;
	q->nfrees = 0;
	for (uint32_t i = 0; i < n && !r; i++) {
		r = qcow2_refcount_add(q, q->frees[i], -1);
		/* the hole is only space: a file system without it keeps the bytes */
		if (!r &&
		    fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)q->frees[i],
			      (off_t)q->cs) < 0 &&
		    errno != EOPNOTSUPP && errno != ENOSYS)
			log_debug("qcow2 %s: punching a freed cluster: %s", q->path,
				  strerror(errno));
	}
	if (!r && n)
		r = qcow2_cache_write_dirty(q, &q->rb);
	return r || !n ? r : qcow2_sync(q);
}
