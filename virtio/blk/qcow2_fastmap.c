/* The plain data clusters qcow2_map() found lately, read without the image's lock: a read or
 * overwrite of an allocated cluster does not wait while another queue allocates a cluster or a
 * FLUSH holds the lock across its fdatasync()s.
 *
 * Direct-mapped slots, each a sequence lock: the writers hold the image's lock (one at a time);
 * a reader that sees the count odd or changed, or another cluster in the slot, has a miss and
 * takes the locked path. A slot is written when the locked path finds a plain cluster and
 * emptied whenever that cluster's L2 entry changes (qcow2_l2_set()), so a hit is a mapping the
 * L2 table held after the entry's last change. A plain cluster never moves while the image is
 * open and a freed one is never handed out again (qcow2.h), so a hit racing a DISCARD reads the
 * old bytes or zeroes, as the locked path racing it would. */
#include <errno.h>
#include <stdlib.h>

#include "virtio/blk/qcow2_int.h"

int qcow2_fastmap_init(struct qcow2 *q)
{
	q->fastmap = calloc(QCOW2_FASTMAP_SLOTS, sizeof(*q->fastmap));
	return q->fastmap ? 0 : -ENOMEM;
}

static struct qcow2_fastmap_slot *slot_of(const struct qcow2 *q, uint64_t cluster)
{
	return &q->fastmap[cluster % QCOW2_FASTMAP_SLOTS];
}

bool qcow2_fastmap_get(const struct qcow2 *q, uint64_t cluster, uint64_t *host)
{
	if (!q->fastmap)
		return false;
	struct qcow2_fastmap_slot *s = slot_of(q, cluster);
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	uint64_t key = atomic_load_explicit(&s->key, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&s->host, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if ((seq & 1) || atomic_load_explicit(&s->seq, memory_order_relaxed) != seq ||
	    key != cluster + 1)
		return false;
	*host = h;
	return true;
}

/* key 0: empty (the slot holds guest cluster key - 1 otherwise). */
static void slot_set(struct qcow2_fastmap_slot *s, uint64_t key, uint64_t host)
{
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->key, key, memory_order_relaxed);
	atomic_store_explicit(&s->host, host, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

void qcow2_fastmap_put(struct qcow2 *q, uint64_t cluster, uint64_t host)
{
	if (q->fastmap)
		slot_set(slot_of(q, cluster), cluster + 1, host);
}

void qcow2_fastmap_drop(struct qcow2 *q, uint64_t cluster)
{
	if (!q->fastmap)
		return;
	struct qcow2_fastmap_slot *s = slot_of(q, cluster);
	if (atomic_load_explicit(&s->key, memory_order_relaxed) == cluster + 1)
		slot_set(s, 0, 0);
}

void qcow2_fastmap_clear(struct qcow2 *q)
{
	for (size_t i = 0; q->fastmap && i < QCOW2_FASTMAP_SLOTS; i++)
		slot_set(&q->fastmap[i], 0, 0);
}
