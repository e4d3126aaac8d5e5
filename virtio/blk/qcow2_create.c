/* A new, empty qcow2 v3 image over a backing file (qcow2.h, qcow2_create_overlay()): the first
 * piece of a disk snapshot at a fork (docs/sandboxes.md, "Disks"), where the parent goes on in
 * an overlay of its own and each child gets one, all over the file as it was.
 *
 * Layout (64 KiB clusters, the qcow2 spec's "Header", "Host cluster management"):
 *   cluster 0   the header (104 bytes, version 3), the backing format extension, the end of
 *               extensions, then the backing file's name;
 *   cluster 1   the refcount table: one entry, the block below;
 *   cluster 2   a refcount block of 16-bit entries (refcount_order 4): clusters 0..N-1 used;
 *   cluster 3.. the L1 table, all zero (every cluster unallocated: read from the backing file).
 * Every later allocation is the image code's (appended, the refcount table grown). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/blk/qcow2.h"
#include "virtio/blk/qcow2_int.h"

#define CLUSTER_BITS	16
#define CLUSTER		(1u << CLUSTER_BITS)
#define HEADER_V3_LEN	104
#define EXT_BACKING_FMT 0xe2792acau
#define BACKING_MAX	1023 /* QEMU's limit on the name */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

/* The header cluster: the header, the backing format extension, the backing name. */
static void header(uint8_t *h, uint64_t size, uint32_t l1_size, const char *backing,
		   const char *fmt)
{
	size_t flen = strlen(fmt), blen = strlen(backing);
	size_t ext = HEADER_V3_LEN, name = ext + 8 + ((flen + 7) & ~(size_t)7) + 8;

	memcpy(h, "QFI\xfb", 4);
	put_be32(h + 4, 3);
	qcow2_put_be64(h + 8, name); /* backing_file_offset */
	put_be32(h + 16, (uint32_t)blen);
	put_be32(h + 20, CLUSTER_BITS);
	qcow2_put_be64(h + 24, size);
	put_be32(h + 36, l1_size);
	qcow2_put_be64(h + 40, 3ull * CLUSTER); /* l1_table_offset */
	qcow2_put_be64(h + 48, 1ull * CLUSTER); /* refcount_table_offset */
	put_be32(h + 56, 1);			/* refcount_table_clusters */
	put_be32(h + 96, 4);			/* refcount_order: 16 bits */
	put_be32(h + 100, HEADER_V3_LEN);
	put_be32(h + ext, EXT_BACKING_FMT);
	put_be32(h + ext + 4, (uint32_t)flen);
	memcpy(h + ext + 8, fmt, flen);
	/* the end of the extensions: type 0, length 0 (already zero) */
	memcpy(h + name, backing, blen);
}

int qcow2_create_overlay(int fd, uint64_t size, const char *backing, const char *backing_fmt)
{
	const uint64_t per_l1 = (uint64_t)CLUSTER * (CLUSTER / 8); /* bytes one L2 table maps */
	uint64_t l1 = (size + per_l1 - 1) / per_l1;
	uint64_t l1_clusters = (l1 * 8 + CLUSTER - 1) / CLUSTER;
	uint64_t used = 3 + (l1_clusters ? l1_clusters : 1);

	if (!size || size % 512 || l1 > UINT32_MAX / 8 || !backing[0])
		return -EINVAL;
	if (strlen(backing) > BACKING_MAX)
		return -ENAMETOOLONG;
	if (strcmp(backing_fmt, "raw") && strcmp(backing_fmt, "qcow2"))
		return -EINVAL;
	uint8_t *buf = calloc(3, CLUSTER);
	if (!buf)
		return -ENOMEM;
	header(buf, size, (uint32_t)l1, backing, backing_fmt);
	qcow2_put_be64(buf + CLUSTER, 2ull * CLUSTER); /* refcount table[0]: the block */
	for (uint64_t i = 0; i < used; i++)	       /* the refcount block */
		buf[2 * CLUSTER + 2 * i + 1] = 1;
	int r = ftruncate(fd, 0) ? -errno : 0;
	if (!r)
		r = qcow2_pwrite(fd, buf, 3 * CLUSTER, 0);
	if (!r && ftruncate(fd, (off_t)(used * CLUSTER))) /* the L1 table: zeroes */
		r = -errno;
	free(buf);
	return r;
}
