/* A qcow2 image (versions 2 and 3) served in process: what virtio-blk reads and writes when its
 * file is qcow2 (docs/devices.md, "qcow2").
 *
 * Supported: L1/L2 lookup with an L2 table cache, refcounts of 8, 16, 32 or 64 bits, cluster
 * allocation on write (appended at the end of the file; a full refcount table is grown), zero
 * clusters (v3), DISCARD freeing clusters, compressed clusters read (zlib deflate; a write to one
 * copies it to a new cluster), backing files when the operator allows them (backing_files=on:
 * qcow2 or raw as the image's backing format extension says, never probed; opened read-only with
 * host_path_open_beneath() beneath the folder of the image that names them or a listed folder;
 * a chain at most QCOW2_MAX_CHAIN deep, each file at most once). Refused at open
 * with a message: encryption, external data files, extended L2 entries, zstd compression, any
 * unknown incompatible feature, a refcount width not above, a cluster size outside 512 B..2 MiB,
 * tables or extensions outside the file. Opened writable also refused: internal snapshots, the
 * dirty or corrupt bits.
 *
 * Crash consistency (the write order; the reasoning is at qcow2_flush() in qcow2_io.c): guest
 * data goes to its cluster at once; the metadata an allocation changes (refcount blocks, the
 * refcount table, L2 tables, the L1 table) stays in memory until a FLUSH, which writes it in
 * dependency order with an fdatasync() between the steps:
 *   data + refcount blocks -> sync -> refcount table -> sync -> L2 tables -> sync -> L1 -> sync.
 * So the file on disk always references only clusters whose refcount and contents are durable:
 * after a host crash it is the image as of the last FLUSH plus at most leaked clusters.
 *
 * Thread safety: every call takes the image's lock (multiqueue disks serve several queues at
 * once; one image, one lock). */
#ifndef VIRTIO_BLK_QCOW2_H
#define VIRTIO_BLK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define QCOW2_MAX_CHAIN 16 /* images in a backing chain, the top one included */

struct qcow2;

/* How an image's backing file is opened (GHSA-jmr4-g2hv-mjj6: a hostile image names any host
 * file as its backing file and the guest reads it). With `backing_files` false (the default) an
 * image that names one is refused at open. With it, the backing file must have an explicit
 * format (the backing format extension: raw or qcow2) and is opened beneath the folder of the
 * image that names it (that folder is the operator's, reached through links or not; below it no
 * symbolic link and no `..` is followed) or beneath one of `backing_dirs`. Each open is logged
 * at info level. The images of the chain follow the same rule, each beneath its own folder. */
struct qcow2_open_opts {
	bool ro;	    /* never write the file */
	bool backing_files; /* follow a backing file the image names; else refuse the image */
	const char
	    *backing_dirs;   /* more folders, ':'-separated, the backing files may be in; NULL */
	const char *path;    /* the image's path: messages, and the base of a relative backing */
	unsigned depth;	     /* 0 for the top image; backing files are opened at depth + 1 */
	const uint64_t *ids; /* (dev, ino) pairs of the images above this one, `depth` of them */
};

/* True when the file starts with the qcow2 magic "QFI\xfb" (read with pread, file untouched). */
bool qcow2_probe(int fd);

/* Opens the qcow2 image on `fd` (which the caller keeps and closes after qcow2_close()): reads
 * and validates its header, tables and backing chain. Returns 0 with *out set, or -errno with a
 * message (starting with the path) in err: -EINVAL for an image this code refuses, -ENOTSUP for
 * a feature it lacks, -ELOOP for a loop or too deep a chain, -EPERM for a backing file not
 * allowed (backing files off, no backing format), -EXDEV/-ELOOP for a backing file outside the
 * allowed folders or through a symbolic link, -EIO/-errno for I/O. */
int qcow2_open(struct qcow2 **out, int fd, const struct qcow2_open_opts *o, char *err,
	       size_t errlen);

/* What qcow2_open() would refuse from the header of the image on `fd` alone (a feature this
 * code lacks, a backing file named when o->backing_files is false), without reading its tables
 * or its backing chain: a quick check of a disk before the VM is built. 0 or -errno with the
 * message qcow2_open() would give. */
int qcow2_check_header(int fd, const struct qcow2_open_opts *o, char *err, size_t errlen);

/* The virtual disk size in bytes. */
uint64_t qcow2_size(const struct qcow2 *q);

/* Reads / writes iov[0..n) at guest byte `off` (the caller checked off + length <= size).
 * Returns 0 or -errno: -EIO when the image's metadata points somewhere it must not (logged once
 * per image), -ENOSPC when the refcount table cannot grow further. Writes on a read-only image:
 * -EROFS. */
int qcow2_readv(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off);
int qcow2_writev(struct qcow2 *q, const struct iovec *iov, int n, uint64_t off);

/* The fast path: when guest bytes [off, off + len) are plain data clusters of this image (not
 * compressed, zero, unallocated or in a backing file), consecutive in the file and inside it,
 * *host gets the file offset of `off` and the result is 1: the caller may read or write the
 * file there directly (io_uring). 0: the range needs qcow2_readv()/qcow2_writev(). -errno on a
 * metadata error. A plain cluster never moves while the image is open, and one a DISCARD frees
 * is never allocated again before the image is closed, so a request in flight on a stale answer
 * touches only a cluster nothing names; a request racing a DISCARD or WRITE_ZEROES of the same
 * sectors may see either contents. */
int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *host);

/* Makes [off, off + len) read as zeroes: whole clusters become zero clusters (v3; they keep
 * their host cluster), the rest is written with zeroes. Returns 0 or -errno. */
int qcow2_write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len);

/* DISCARD (zero false) and WRITE_ZEROES with UNMAP (zero true) of [off, off + len): whole
 * clusters are deallocated (unallocated; a zero cluster over a backing file in v3, which v2
 * cannot express: there DISCARD leaves them and UNMAP writes zeroes), their host clusters freed
 * at the next flush (qcow2_discard.c says why then). Partial clusters: left as they are by a
 * DISCARD (a hint, virtio 5.2.6.2), written with zeroes with `zero`. Returns 0 or -errno. */
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zero);

/* Makes everything written so far durable, metadata in the order above. Returns 0 or -errno. */
int qcow2_flush(struct qcow2 *q);

/* Forgets the tables held in memory and reads them again from the file (which another process
 * wrote meanwhile: a migration's source, until it handed the disk over). Call with nothing
 * dirty (no write since the open or the last flush). Returns 0 or -errno. */
int qcow2_reload(struct qcow2 *q);

/* Flushes (a writable image), closes the backing chain and frees q. NULL is allowed. */
void qcow2_close(struct qcow2 *q);

/* Writes a new qcow2 v3 image on `fd` (truncated first): `size` bytes (a multiple of 512) of
 * virtual disk, every cluster unallocated over the backing file named `backing` (as written in
 * the image: absolute, or relative to the image's folder; at most 1023 bytes) of format
 * `backing_fmt` ("raw" or "qcow2"). Not synced. Returns 0, -EINVAL, -ENAMETOOLONG, -ENOMEM or
 * -errno of the writes (the file then holds part of an image). (qcow2_create.c) */
int qcow2_create_overlay(int fd, uint64_t size, const char *backing, const char *backing_fmt);

#endif
