/* Reads, writes, write-zeroes and flush of a qcow2 image, cluster by cluster. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/blk/qcow2_int.h"

#define MAX_SLICE 260 /* iovecs of one cluster's part of a request (256 + splits) */

int qcow2_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

int qcow2_bad(struct qcow2 *q, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (q->bad_logged)
		return -EIO;
	q->bad_logged = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("qcow2 %s: %s: request failed (further errors not logged)", q->path, msg);
	return -EIO;
}

int qcow2_pread(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (uint8_t *)buf + n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int qcow2_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const uint8_t *)buf + n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int qcow2_sync(struct qcow2 *q)
{
	return fdatasync(q->fd) < 0 ? -errno : 0;
}

/* ---- iovec helpers ---- */

/* out[] = the bytes [skip, skip + len) of iov[0..n); returns the count of out entries. */
static int slice(const struct iovec *iov, int n, size_t skip, size_t len, struct iovec *out)
{
	int k = 0;
	for (int i = 0; i < n && len && k < MAX_SLICE; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[k++].iov_len = take;
		len -= take;
		skip = 0;
	}
	return k;
}

static void iov_zero(const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

static void iov_to_buf(const struct iovec *iov, int n, uint8_t *buf)
{
	for (int i = 0; i < n; buf += iov[i].iov_len, i++)
		memcpy(buf, iov[i].iov_base, iov[i].iov_len);
}

static void buf_to_iov(const uint8_t *buf, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; buf += iov[i].iov_len, i++)
		memcpy(iov[i].iov_base, buf, iov[i].iov_len);
}

/* preadv of the whole slice; what lies past the end of the file reads as zeroes (a raw
 * backing file shorter than the disk, a last cluster the file does not fully hold). */
static int preadv_zero(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t got = preadv(fd, iov, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0) {
			iov_zero(iov, n);
			return 0;
		}
		off += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len)
			got -= (ssize_t)iov->iov_len, iov++, n--;
		if (n > 0)
			iov->iov_base = (uint8_t *)iov->iov_base + got, iov->iov_len -= (size_t)got;
	}
	return 0;
}

static int pwritev_all(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t got = pwritev(fd, iov, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		off += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len)
			got -= (ssize_t)iov->iov_len, iov++, n--;
		if (n > 0)
			iov->iov_base = (uint8_t *)iov->iov_base + got, iov->iov_len -= (size_t)got;
	}
	return 0;
}

/* ---- reading ---- */

static int read_locked(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off, size_t len);

/* The backing image's bytes at guest offset `off` (zeroes past its end, or without one). */
static int read_backing(struct qcow2 *q, struct iovec *sl, int k, uint64_t off, size_t len)
{
	const struct qcow2_backing *b = &q->back;
	if (!q->has_back || off >= b->size) {
		iov_zero(sl, k);
		return 0;
	}
	size_t in = b->size - off < len ? (size_t)(b->size - off) : len;
	if (in < len) { /* the part past the backing file's end reads as zeroes */
		struct iovec tail[MAX_SLICE];
		iov_zero(tail, slice(sl, k, in, len - in, tail));
		k = slice(sl, k, 0, in, tail);
		memcpy(sl, tail, (size_t)k * sizeof(*sl));
	}
	if (b->q) {
		pthread_mutex_lock(&b->q->lock);
		int r = read_locked(b->q, sl, k, off, in);
		pthread_mutex_unlock(&b->q->lock);
		return r;
	}
	return preadv_zero(b->fd, sl, k, off);
}

/* Inflates the compressed cluster `entry` names into q->cbuf (spec "Compressed Clusters"). */
static int inflate_cluster(struct qcow2 *q, uint64_t entry)
{
	uint32_t x = 62 - (q->h.cluster_bits - 8);
	uint64_t host = entry & ((1ull << x) - 1);
	uint64_t sectors = ((entry & ~QCOW2_OFLAG_COMPRESSED & ~QCOW2_OFLAG_COPIED) >> x) + 1;
	uint64_t len = sectors * 512 - (host & 511);
	if (host < q->cs || host >= q->file_size || len > 2 * q->cs)
		return qcow2_bad(q, "compressed cluster at %llu is outside the file",
				 (unsigned long long)host);
	if (len > q->file_size - host)
		len = q->file_size - host;
	int r = qcow2_pread(q->fd, q->zbuf, (size_t)len, host);
	if (r)
		return r;
	inflateReset(&q->z);
	q->z.next_in = q->zbuf;
	q->z.avail_in = (uInt)len;
	q->z.next_out = q->cbuf;
	q->z.avail_out = (uInt)q->cs;
	r = inflate(&q->z, Z_FINISH);
	if ((r != Z_STREAM_END && r != Z_OK && r != Z_BUF_ERROR) || q->z.avail_out)
		return qcow2_bad(q, "compressed cluster at %llu does not inflate to a cluster",
				 (unsigned long long)host);
	return 0;
}

/* One cluster's part [off, off + len) of a read, into sl[0..k). */
static int read_piece(struct qcow2 *q, struct iovec *sl, int k, uint64_t off, size_t len)
{
	uint64_t e;
	int r = qcow2_l2_lookup(q, off, &e);
	if (r)
		return r;
	uint64_t host = e & QCOW2_OFFSET_MASK, in = off & (q->cs - 1);
	if (e & QCOW2_OFLAG_COMPRESSED) {
		if ((r = inflate_cluster(q, e)))
			return r;
		buf_to_iov(q->cbuf + in, sl, k);
		return 0;
	}
	if (q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO)) {
		iov_zero(sl, k);
		return 0;
	}
	if (!host)
		return read_backing(q, sl, k, off, len);
	if (!qcow2_cluster_ok(q, host, "data cluster"))
		return -EIO;
	return preadv_zero(q->fd, sl, k, host + in);
}

typedef int (*piece_fn)(struct qcow2 *q, struct iovec *sl, int k, uint64_t off, size_t len);

/* Cuts [off, off + len) at cluster boundaries and hands each piece, with its slice of `iov`, to
 * `fn`; stops at the first error. */
static int each_cluster(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off, size_t len,
			piece_fn fn)
{
	struct iovec sl[MAX_SLICE];
	for (size_t done = 0; done < len;) {
		size_t piece = q->cs - ((off + done) & (q->cs - 1));
		if (piece > len - done)
			piece = len - done;
		int k = slice(iov, n, done, piece, sl);
		int r = fn(q, sl, k, off + done, piece);
		if (r)
			return r;
		done += piece;
	}
	return 0;
}

static int read_locked(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off, size_t len)
{
	return each_cluster(q, iov, n, off, len, read_piece);
}

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

int qcow2_readv(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off)
{
	pthread_mutex_lock(&q->lock);
	int r = read_locked(q, iov, n, off, iov_len(iov, n));
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* ---- writing ---- */

/* Where a write to a cluster without a usable host cluster goes: a preallocated zero
 * cluster keeps its host cluster, anything else gets a new one. */
static int cow_target(struct qcow2 *q, uint64_t e, uint64_t *host)
{
	uint64_t pre = e & QCOW2_OFFSET_MASK;
	if (!(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_ZERO) && pre) {
		*host = pre;
		return qcow2_cluster_ok(q, pre, "zero cluster") ? 0 : -EIO;
	}
	/* A compressed cluster left behind is leaked, not freed: its refcount must not reach the
	 * file before the L2 entry that stops naming it (see qcow2_flush). */
	return qcow2_alloc_cluster(q, host);
}

/* The cluster at `host` holds guest offset `off`'s cluster now: the L2 entry names it. */
static int end_cow(struct qcow2 *q, uint64_t off, uint64_t host)
{
	if (host + q->cs > q->data_end)
		q->data_end = host + q->cs;
	return qcow2_l2_set(q, off, host | QCOW2_OFLAG_COPIED);
}

/* The file grows ahead of new clusters in steps of this many bytes: a hole that reads as
 * zeroes. One fallocate() of each new cluster cost more than the guest's 4 KiB write into it
 * (8.5 against 4.5 us a write on ext4 here; issue 68). */
#define GROW_STEP (1ull << 20)

/* The file made to hold [0, end): extended with ftruncate() to the next GROW_STEP. Never
 * shrinks it: data_end is at most the file's size, and `end` ends the newest cluster, past
 * every byte written. */
static int hold_up_to(struct qcow2 *q, uint64_t end)
{
	if (end <= q->data_end)
		return 0;
	uint64_t size = (end + GROW_STEP - 1) & ~(GROW_STEP - 1);
	if (ftruncate(q->fd, (off_t)size) < 0)
		return -errno;
	q->data_end = size;
	return 0;
}

/* A part of a cluster that reads as zeroes around it (no backing image; the entry unallocated
 * or a zero cluster without a host cluster) written into a new host cluster: that cluster lies
 * past every byte the file held (qcow2_alloc_cluster appends), so it reads as zeroes already
 * and only the guest's bytes need writing. The file is made to hold the whole cluster first,
 * as plain_host() wants before it hands the cluster to the I/O engine. */
static int write_fresh(struct qcow2 *q, uint64_t host, struct iovec *sl, int k, uint64_t off)
{
	int r = hold_up_to(q, host + q->cs);
	return r ? r : pwritev_all(q->fd, sl, k, host + (off & (q->cs - 1)));
}

static bool zeroes_around(const struct qcow2 *q, uint64_t e)
{
	return !q->has_back && !(e & QCOW2_OFLAG_COMPRESSED) && !(e & QCOW2_OFFSET_MASK);
}

/* A write into a cluster that has no host cluster of its own yet (unallocated, zero, or
 * compressed): the whole cluster is written (the old contents around the new bytes), or only
 * the new bytes where the rest reads as zeroes (write_fresh), then the L2 entry names it. */
static int write_cow(struct qcow2 *q, uint64_t e, struct iovec *sl, int k, uint64_t off, size_t len)
{
	uint64_t coff = off & ~(q->cs - 1), host;
	int r;
	if ((r = cow_target(q, e, &host)))
		return r;
	if (len < q->cs && zeroes_around(q, e)) {
		r = write_fresh(q, host, sl, k, off);
		return r ? r : end_cow(q, off, host);
	}
	if (len < q->cs) { /* the old contents around the new bytes (zeroes where it had none) */
		struct iovec whole = {q->buf, q->cs};
		if ((r = read_locked(q, &whole, 1, coff, q->cs)))
			return r;
		iov_to_buf(sl, k, q->buf + (off - coff));
		r = qcow2_pwrite(q->fd, q->buf, q->cs, host);
	} else {
		r = pwritev_all(q->fd, sl, k, host);
	}
	return r ? r : end_cow(q, off, host);
}

static int write_piece(struct qcow2 *q, struct iovec *sl, int k, uint64_t off, size_t len)
{
	uint64_t e;
	int r = qcow2_l2_lookup(q, off, &e);
	if (r)
		return r;
	uint64_t host = e & QCOW2_OFFSET_MASK;
	bool zero = q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO);
	if ((e & QCOW2_OFLAG_COMPRESSED) || zero || !host)
		return write_cow(q, e, sl, k, off, len);
	if (!qcow2_cluster_ok(q, host, "data cluster"))
		return -EIO;
	return pwritev_all(q->fd, sl, k, host + (off & (q->cs - 1)));
}

static int write_locked(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off, size_t len)
{
	return each_cluster(q, iov, n, off, len, write_piece);
}

int qcow2_writev(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off)
{
	if (q->ro)
		return -EROFS;
	pthread_mutex_lock(&q->lock);
	int r = write_locked(q, iov, n, off, iov_len(iov, n));
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Zeroes written as data: `len` bytes (at most a cluster) from one static zero page. */
int qcow2_write_zero_bytes(struct qcow2 *q, uint64_t off, size_t len)
{
	static const uint8_t zero[64 * 1024];
	struct iovec iov[(2u << 20) / sizeof(zero)];
	int n = 0;
	for (size_t left = len; left; n++) {
		size_t take = left < sizeof(zero) ? left : sizeof(zero);
		iov[n] = (struct iovec){(void *)zero, take};
		left -= take;
	}
	return write_locked(q, iov, n, off, len);
}

/* A whole cluster made a zero cluster (v3): keeps its host cluster if it has a plain one. */
static int zero_cluster(struct qcow2 *q, uint64_t off)
{
	uint64_t e;
	int r = qcow2_l2_lookup(q, off, &e);
	if (r)
		return r;
	uint64_t keep = e & QCOW2_OFLAG_COMPRESSED ? 0 : e & QCOW2_OFFSET_MASK;
	return qcow2_l2_set(q, off,
			    keep ? keep | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO : QCOW2_OFLAG_ZERO);
}

int qcow2_each_piece(struct qcow2 *q, uint64_t off, uint64_t len, qcow2_piece_fn fn, void *arg)
{
	int r = 0;
	if (q->ro)
		return -EROFS;
	pthread_mutex_lock(&q->lock);
	while (len && !r) {
		uint64_t piece = q->cs - (off & (q->cs - 1));
		if (piece > len)
			piece = len;
		r = fn(q, off, piece, arg);
		off += piece;
		len -= piece;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* WRITE_ZEROES' piece: a whole cluster made a zero cluster (v3), anything else written. */
static int zero_piece(struct qcow2 *q, uint64_t off, uint64_t piece, void *arg)
{
	(void)arg;
	if (piece == q->cs && q->h.version >= 3)
		return zero_cluster(q, off);
	return qcow2_write_zero_bytes(q, off, (size_t)piece);
}

int qcow2_write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	return qcow2_each_piece(q, off, len, zero_piece, NULL);
}

/* ---- flush: the write order ----
 *
 * Between two flushes the metadata an allocation changed lives only in memory, so the file
 * keeps describing the image as of the last flush. A flush then makes it durable in the order
 * that keeps every reference on disk pointing at something durable and counted:
 *   1. dirty refcount blocks are written, then fdatasync: the guest's data in its new clusters
 *      and their refcounts (in blocks the refcount table already names, or new ones nothing
 *      names yet) are on disk;
 *   2. the changed refcount table entries (naming new refcount blocks), then fdatasync;
 *   3. the dirty L2 tables, then fdatasync: an L2 entry reaches the disk only after the
 *      cluster it names holds its data and has its refcount;
 *   4. the changed L1 entries (naming new L2 tables), then fdatasync;
 *   5. the clusters a DISCARD deallocated (qcow2_discard.c): their refcounts drop only now,
 *      once no durable L2 entry names them, then the refcount blocks and fdatasync.
 * A crash between any two steps leaves clusters counted but not referenced (leaks, which
 * `qemu-img check -r leaks` reclaims), never a reference to an uncounted or unwritten
 * cluster. Only step 5 frees clusters (a zero cluster written without UNMAP keeps its host
 * cluster; an overwritten compressed cluster is leaked). A flush with no metadata changed is
 * one fdatasync. */

static int write_entries(struct qcow2 *q, const uint64_t *v, uint8_t *dirty, uint32_t n,
			 uint64_t base, bool *any)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!dirty[i])
			continue;
		uint8_t be[8];
		qcow2_put_be64(be, v[i]);
		int r = qcow2_pwrite(q->fd, be, 8, base + (uint64_t)i * 8);
		if (r)
			return r;
		dirty[i] = 0;
		*any = true;
	}
	return 0;
}

static bool cache_dirty(const struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slot[i].dirty)
			return true;
	return false;
}

int qcow2_flush_meta(struct qcow2 *q)
{
	bool any = false;
	int r;
	if (q->ro)
		return 0;
	if ((r = qcow2_cache_write_dirty(q, &q->rb)) || (r = qcow2_sync(q)))
		return r;
	if ((r = write_entries(q, q->rt, q->rt_dirty, q->rt_entries, q->h.rt_off, &any)))
		return r;
	if (any && (r = qcow2_sync(q)))
		return r;
	if (cache_dirty(&q->l2)) {
		if ((r = qcow2_cache_write_dirty(q, &q->l2)) || (r = qcow2_sync(q)))
			return r;
	}
	any = false;
	if ((r = write_entries(q, q->l1, q->l1_dirty, q->h.l1_size, q->h.l1_off, &any)))
		return r;
	if (any && (r = qcow2_sync(q)))
		return r;
	return qcow2_apply_frees(q);
}

int qcow2_flush(struct qcow2 *q)
{
	pthread_mutex_lock(&q->lock);
	int r = qcow2_flush_meta(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}
