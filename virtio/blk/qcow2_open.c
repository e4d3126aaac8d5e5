/* Opening a qcow2 image: header, tables, caches and the backing chain; closing it. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "virtio/blk/qcow2_int.h"

bool qcow2_probe(int fd)
{
	uint8_t m[4];
	return qcow2_pread(fd, m, sizeof(m), 0) == 0 && qcow2_be32(m) == QCOW2_MAGIC;
}

uint64_t qcow2_size(const struct qcow2 *q)
{
	return q->h.size;
}

/* A host-endian copy of `n` big-endian u64 entries at `off`, and a dirty flag per entry. */
static int load_table(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **v, uint8_t **dirty)
{
	*v = calloc(n ? n : 1, sizeof(**v));
	*dirty = calloc(n ? n : 1, 1);
	if (!*v || !*dirty)
		return -ENOMEM;
	int r = n ? qcow2_pread(q->fd, *v, (size_t)n * 8, off) : 0;
	for (uint32_t i = 0; i < n && !r; i++)
		(*v)[i] = qcow2_be64((const uint8_t *)&(*v)[i]);
	return r;
}

static int alloc_buffers(struct qcow2 *q)
{
	q->buf = malloc(q->cs);
	q->zbuf = malloc(2 * q->cs);
	q->cbuf = malloc(q->cs);
	if (!q->buf || !q->zbuf || !q->cbuf)
		return -ENOMEM;
	if (inflateInit2(&q->z, -15) != Z_OK) /* raw deflate, as QEMU writes it */
		return -ENOMEM;
	q->z_ready = true;
	int r = qcow2_cache_init(&q->l2, QCOW2_L2_CACHE, q->cs);
	return r ? r : qcow2_cache_init(&q->rb, QCOW2_RB_CACHE, q->cs);
}

/* A writable image's autoclear bits name extensions this code does not keep up to date
 * (bitmaps): clearing them tells the next reader those are stale (spec "autoclear"). */
static int clear_autoclear(struct qcow2 *q)
{
	uint8_t zero[8] = {0};
	if (q->ro || q->h.version < 3 || !q->h.autoclear)
		return 0;
	q->h.autoclear = 0;
	int r = qcow2_pwrite(q->fd, zero, sizeof(zero), 88);
	return r ? r : qcow2_sync(q);
}

/* The header (read into buf, the largest cluster, until cluster_bits is known) and what it
 * alone refuses; a backing file named when backing files are off before anything else is read
 * (qcow2.h). */
static int load_header(struct qcow2 *q, const struct qcow2_open_opts *o, char *err, size_t errlen)
{
	struct stat st;
	int r;
	if (fstat(q->fd, &st) < 0)
		return qcow2_fail(err, errlen, -errno, "%s: fstat: %s", q->path, strerror(errno));
	q->file_size = (uint64_t)st.st_size;
	/* the header is read into buf: the largest cluster, until cluster_bits is known */
	q->buf = malloc(1u << QCOW2_MAX_CLUSTER_BITS);
	if (!q->buf)
		return -ENOMEM;
	r = qcow2_read_header(q, err, errlen);
	free(q->buf);
	q->buf = NULL;
	if (r || !q->h.backing[0] || o->backing_files)
		return r;
	char shown[QCOW2_SHOWN_MAX];
	qcow2_shown_name(q->h.backing, shown, sizeof(shown));
	return qcow2_fail(err, errlen, -EPERM,
			  "%s: names the backing file %s, refused: backing files are off for this "
			  "disk (allow them with backing_files=on)",
			  q->path, shown);
}

static int load(struct qcow2 *q, const struct qcow2_open_opts *o, char *err, size_t errlen)
{
	int r = load_header(q, o, err, errlen);
	if (r)
		return r;
	q->l2_entries = (uint32_t)(q->cs / 8);
	q->rc_bytes = 1u << (q->h.refcount_order - 3);
	q->rb_bits = q->h.cluster_bits - (q->h.refcount_order - 3);
	if ((r = qcow2_check_tables(q, err, errlen)))
		return r;
	q->rt_entries = (uint32_t)(q->h.rt_clusters * q->cs / 8);
	if ((r = load_table(q, q->h.l1_off, q->h.l1_size, &q->l1, &q->l1_dirty)) ||
	    (r = load_table(q, q->h.rt_off, q->rt_entries, &q->rt, &q->rt_dirty)))
		return qcow2_fail(err, errlen, r, "%s: cannot read the qcow2 tables: %s", q->path,
				  strerror(-r));
	q->data_end = q->file_size;
	q->alloc_end = (q->file_size + q->cs - 1) & ~(q->cs - 1);
	q->file_size = q->alloc_end;
	if ((r = alloc_buffers(q)))
		return qcow2_fail(err, errlen, r, "%s: %s", q->path, strerror(-r));
	if (!q->ro && (r = qcow2_skip_used_tail(q)))
		return qcow2_fail(err, errlen, r, "%s: %s", q->path, strerror(-r));
	if ((r = clear_autoclear(q)))
		return qcow2_fail(err, errlen, r, "%s: cannot update the header: %s", q->path,
				  strerror(-r));
	return q->h.backing[0] ? qcow2_open_backing(q, o, err, errlen) : 0;
}

/* Opens with `fn` (load or load_header); *out NULL on failure. */
static int open_as(struct qcow2 **out, int fd, const struct qcow2_open_opts *o,
		   int (*fn)(struct qcow2 *, const struct qcow2_open_opts *, char *, size_t),
		   char *err, size_t errlen)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	*out = NULL;
	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	q->fd = fd;
	q->ro = o->ro;
	q->back.fd = -1;
	q->path = strdup(o->path ? o->path : "(qcow2)");
	int r = q->path ? fn(q, o, err, errlen) : -ENOMEM;
	if (r) {
		if (r == -ENOMEM && err && errlen && !err[0])
			snprintf(err, errlen, "%s: out of memory", o->path);
		qcow2_close(q);
		return r;
	}
	*out = q;
	return 0;
}

int qcow2_open(struct qcow2 **out, int fd, const struct qcow2_open_opts *o, char *err,
	       size_t errlen)
{
	int r = open_as(out, fd, o, load, err, errlen);
	if (!r && (r = qcow2_fastmap_init(*out))) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", o->path ? o->path : "(qcow2)");
		qcow2_close(*out);
		*out = NULL;
	}
	return r;
}

int qcow2_check_header(int fd, const struct qcow2_open_opts *o, char *err, size_t errlen)
{
	struct qcow2 *q;
	int r = open_as(&q, fd, o, load_header, err, errlen);
	qcow2_close(q); /* no tables: nothing flushed */
	return r;
}

static void cache_forget(struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		c->slot[i].off = 0, c->slot[i].dirty = false;
}

static int reload_table(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t *v, uint8_t *dirty)
{
	int r = n ? qcow2_pread(q->fd, v, (size_t)n * 8, off) : 0;
	for (uint32_t i = 0; i < n && !r; i++)
		v[i] = qcow2_be64((const uint8_t *)&v[i]);
	memset(dirty, 0, n);
	return r;
}

/* The refcount table the header names now (the other writer may have grown it). */
static int reload_rt_place(struct qcow2 *q)
{
	uint8_t h[12];
	int r = qcow2_pread(q->fd, h, sizeof(h), 48);
	uint64_t off = qcow2_be64(h), n = qcow2_be32(h + 8), bytes = n * q->cs;
	if (r || (off == q->h.rt_off && n == q->h.rt_clusters))
		return r;
	if (!bytes || bytes > QCOW2_MAX_RT_BYTES || off < q->cs || (off & (q->cs - 1)) ||
	    off + bytes > q->alloc_end)
		return qcow2_bad(q, "the refcount table moved outside the file");
	uint64_t *rt = realloc(q->rt, bytes);
	if (rt)
		q->rt = rt;
	uint8_t *dirty = rt ? realloc(q->rt_dirty, bytes / 8) : NULL;
	if (!dirty)
		return -ENOMEM;
	q->rt_dirty = dirty;
	q->h.rt_off = off;
	q->h.rt_clusters = (uint32_t)n;
	q->rt_entries = (uint32_t)(bytes / 8);
	return 0;
}

int qcow2_reload(struct qcow2 *q)
{
	struct stat st;
	int r = 0;
	pthread_mutex_lock(&q->lock);
	qcow2_fastmap_clear(q);
	cache_forget(&q->l2);
	cache_forget(&q->rb);
	if (fstat(q->fd, &st) < 0)
		r = -errno;
	if (!r) {
		q->data_end = (uint64_t)st.st_size;
		q->alloc_end = ((uint64_t)st.st_size + q->cs - 1) & ~(q->cs - 1);
		q->file_size = q->alloc_end;
		r = reload_table(q, q->h.l1_off, q->h.l1_size, q->l1, q->l1_dirty);
	}
	if (!r)
		r = reload_rt_place(q);
	if (!r)
		r = reload_table(q, q->h.rt_off, q->rt_entries, q->rt, q->rt_dirty);
	if (!r && !q->ro)
		r = qcow2_skip_used_tail(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	if (q->l1 && q->rt && q->buf) {
		int r = qcow2_flush(q);
		if (r)
			log_error("qcow2 %s: flush at close: %s", q->path, strerror(-r));
	}
	if (q->has_back) {
		qcow2_close(q->back.q);
		close(q->back.fd);
	}
	if (q->z_ready)
		inflateEnd(&q->z);
	qcow2_cache_free(&q->l2);
	qcow2_cache_free(&q->rb);
	free(q->buf);
	free(q->zbuf);
	free(q->cbuf);
	free(q->l1);
	free(q->l1_dirty);
	free(q->rt);
	free(q->rt_dirty);
	free(q->frees);
	free(q->fastmap);
	free(q->path);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
