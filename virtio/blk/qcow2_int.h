/* Internals of the qcow2 layer (qcow2.h), shared by its files: the on-disk layout (QEMU's
 * docs/interop/qcow2.txt, cited as "spec") and the in-memory image. */
#ifndef VIRTIO_BLK_QCOW2_INT_H
#define VIRTIO_BLK_QCOW2_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "virtio/blk/qcow2.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* spec "Header": incompatible feature bits */
#define QCOW2_INCOMPAT_DIRTY	 (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT	 (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESS	 (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2	 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN_OK                                                                    \
	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESS)

/* spec "Header extensions" */
#define QCOW2_EXT_END		 0u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau

/* spec "Cluster mapping": L1 and standard L2 entries */
#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull /* bits 9..55 */

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES     (32u << 20) /* QEMU's limit too */
#define QCOW2_MAX_RT_BYTES     (8u << 20)
#define QCOW2_L2_CACHE	       16 /* L2 tables kept (16 x 64 KiB covers 8 GiB of disk) */
#define QCOW2_RB_CACHE	       4  /* refcount blocks kept */

/* One cached table cluster (an L2 table or a refcount block). */
struct qcow2_slot {
	uint64_t off;  /* host offset; 0 = empty */
	uint64_t used; /* LRU stamp */
	bool dirty;
	uint8_t *data; /* one cluster */
};

struct qcow2_cache {
	struct qcow2_slot slot[QCOW2_L2_CACHE];
	unsigned n;
	uint64_t clock;
};

struct qcow2_hdr {
	uint32_t version;
	uint64_t backing_off;
	uint32_t backing_len;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt;
	uint32_t l1_size;
	uint64_t l1_off;
	uint64_t rt_off;
	uint32_t rt_clusters;
	uint32_t nb_snapshots;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order;
	uint32_t hdr_len;
	uint8_t compression;
	char backing[1024];   /* NUL-terminated backing file name; "" = none */
	char backing_fmt[16]; /* from the extension; "" = probe */
};

/* A backing image: a qcow2 image or a raw file (q == NULL). */
struct qcow2_backing {
	int fd;
	struct qcow2 *q;
	uint64_t size;
};

/* One slot of the lock-free map of plain clusters (qcow2_fastmap.c). */
struct qcow2_fastmap_slot {
	_Atomic uint32_t seq; /* odd while a writer changes the slot */
	_Atomic uint64_t key; /* guest cluster index + 1; 0: empty */
	_Atomic uint64_t host;
};

#define QCOW2_FASTMAP_SLOTS 8192 /* 512 MiB of 64 KiB clusters; 192 KiB */

struct qcow2 {
	pthread_mutex_t lock;
	int fd;
	bool ro;
	char *path;
	struct qcow2_hdr h;
	uint64_t cs;	     /* cluster size */
	uint32_t l2_entries; /* entries per L2 table */
	uint64_t file_size;  /* bytes the file held at open, grown by our allocations */
	uint64_t alloc_end;  /* next cluster to allocate (cluster-aligned) */
	uint64_t data_end; /* bytes the file surely holds: its size at open, grown by our writes */
	uint64_t *l1;	   /* host-endian copy of the L1 table */
	uint8_t *l1_dirty; /* one flag per L1 entry */
	uint64_t *rt;	   /* host-endian refcount table */
	uint8_t *rt_dirty;
	uint32_t rt_entries;
	uint32_t rb_bits;      /* log2(refcounts per block) */
	uint32_t rc_bytes;     /* bytes per refcount */
	struct qcow2_cache l2; /* L2 tables */
	struct qcow2_cache rb; /* refcount blocks */
	uint8_t *buf;	       /* one cluster: copy-on-write assembly */
	uint8_t *zbuf;	       /* two clusters: compressed input */
	uint8_t *cbuf;	       /* one cluster: a compressed cluster inflated */
	z_stream z;
	bool z_ready;
	bool bad_logged; /* a metadata error was logged */
	struct qcow2_backing back;
	bool has_back;
	uint64_t *frees; /* host clusters deallocated, freed at the next flush (qcow2_discard.c) */
	uint32_t nfrees;
	struct qcow2_fastmap_slot *fastmap; /* NULL: none (a backing image, a header check) */
};

/* Writes the message into err[0..errlen) and returns `code` (a negative errno). */
int qcow2_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* qcow2_header.c */
int qcow2_read_header(struct qcow2 *q, char *err, size_t errlen);
int qcow2_check_tables(struct qcow2 *q, char *err, size_t errlen);

/* qcow2_cache.c: `which` tables of one cluster each. Returns the table's data or NULL with
 * *r = -errno; the entry stays valid until the next get on the same cache. */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cs);
void qcow2_cache_free(struct qcow2_cache *c);
uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool fresh, int *r);
void qcow2_cache_mark(struct qcow2_cache *c, const uint8_t *data);
int qcow2_cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c);

/* qcow2_refcount.c */
int qcow2_refcount_get(struct qcow2 *q, uint64_t off, uint64_t *rc);
int qcow2_refcount_add(struct qcow2 *q, uint64_t off, int delta);
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off);
/* At open: clusters are appended at alloc_end (the file's end), so a cluster past the end that
 * the image already counts as used (its refcount, a refcount block or an L2 table flushed
 * before the cluster itself was written, then the VMM killed) would be handed out twice (a
 * refcount of 2, "OFLAG_COPIED" corruption for qemu-img check). Moves alloc_end past every
 * such cluster among the first 256 past the end. Returns 0. */
int qcow2_skip_used_tail(struct qcow2 *q);
/* qcow2_grow.c: a refcount table with room for entry t (the order is at the top of the file). */
int qcow2_grow_refcount_table(struct qcow2 *q, uint64_t t);

/* qcow2_map.c: the L2 entry of guest offset `off` (0 when unallocated); setting one allocates
 * its L2 table when needed. qcow2_cluster_ok() checks a host cluster (and logs once). */
int qcow2_l2_lookup(struct qcow2 *q, uint64_t off, uint64_t *entry);
int qcow2_l2_set(struct qcow2 *q, uint64_t off, uint64_t entry);

/* qcow2_fastmap.c: guest cluster index -> host offset of its plain data cluster, read without
 * the lock (get); written (put, drop, clear) with it held. */
int qcow2_fastmap_init(struct qcow2 *q);
bool qcow2_fastmap_get(const struct qcow2 *q, uint64_t cluster, uint64_t *host);
void qcow2_fastmap_put(struct qcow2 *q, uint64_t cluster, uint64_t host);
void qcow2_fastmap_drop(struct qcow2 *q, uint64_t cluster);
void qcow2_fastmap_clear(struct qcow2 *q);
bool qcow2_cluster_ok(struct qcow2 *q, uint64_t host, const char *what);

/* Calls fn for each piece of [off, off + len) cut at cluster boundaries, under the image's lock,
 * until one fails (a writable image only: -EROFS otherwise). */
typedef int (*qcow2_piece_fn)(struct qcow2 *q, uint64_t off, uint64_t piece, void *arg);
int qcow2_each_piece(struct qcow2 *q, uint64_t off, uint64_t len, qcow2_piece_fn fn, void *arg);

/* qcow2_discard.c: the listed frees, the flush's last step. */
int qcow2_apply_frees(struct qcow2 *q);

/* qcow2_io.c / qcow2_open.c helpers */
/* Zeroes written as data into [off, off + len), at most one cluster; the lock held. */
int qcow2_write_zero_bytes(struct qcow2 *q, uint64_t off, size_t len);
int qcow2_pread(int fd, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(int fd, const void *buf, size_t len, uint64_t off);
int qcow2_bad(struct qcow2 *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int qcow2_sync(struct qcow2 *q);
/* qcow2_flush() with the lock held. */
int qcow2_flush_meta(struct qcow2 *q);
int qcow2_open_backing(struct qcow2 *q, const struct qcow2_open_opts *o, char *err, size_t errlen);
/* qcow2_backing.c: `name` (an image's backing name: any bytes) for a message, control bytes as
 * '?', cut to len - 1 bytes (out may be name). */
#define QCOW2_SHOWN_MAX 1024
void qcow2_shown_name(const char *name, char *out, size_t len);

static inline uint64_t qcow2_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint32_t qcow2_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void qcow2_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

#endif
