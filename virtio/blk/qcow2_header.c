/* qcow2 header and header extensions: parsed and validated before anything else is read
 * (spec "Header", "Header extensions"). Every field that sizes or places something is checked
 * against the file, so later reads need no trust in it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/blk/qcow2_int.h"

#define V2_HDR_LEN 72u
#define V3_HDR_LEN 104u

static void parse_fixed(struct qcow2_hdr *h, const uint8_t *b)
{
	h->version = qcow2_be32(b + 4);
	h->backing_off = qcow2_be64(b + 8);
	h->backing_len = qcow2_be32(b + 16);
	h->cluster_bits = qcow2_be32(b + 20);
	h->size = qcow2_be64(b + 24);
	h->crypt = qcow2_be32(b + 32);
	h->l1_size = qcow2_be32(b + 36);
	h->l1_off = qcow2_be64(b + 40);
	h->rt_off = qcow2_be64(b + 48);
	h->rt_clusters = qcow2_be32(b + 56);
	h->nb_snapshots = qcow2_be32(b + 60);
	if (h->version == 2) {
		h->refcount_order = 4; /* spec: v2 has 16-bit refcounts */
		h->hdr_len = V2_HDR_LEN;
		return;
	}
	h->incompat = qcow2_be64(b + 72);
	h->compat = qcow2_be64(b + 80);
	h->autoclear = qcow2_be64(b + 88);
	h->refcount_order = qcow2_be32(b + 96);
	h->hdr_len = qcow2_be32(b + 100);
	h->compression = h->hdr_len > V3_HDR_LEN ? b[104] : 0;
}

/* The features this code can serve; anything else is refused by name. */
static int check_features(struct qcow2 *q, char *err, size_t errlen)
{
	const struct qcow2_hdr *h = &q->h;
	uint64_t unknown = h->incompat & ~QCOW2_INCOMPAT_KNOWN_OK;

	if (h->incompat & QCOW2_INCOMPAT_DATA_FILE)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: qcow2 with an external data file is not supported", q->path);
	if (h->incompat & QCOW2_INCOMPAT_EXTL2)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: qcow2 extended L2 entries are not supported", q->path);
	if (unknown)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: unknown qcow2 incompatible features 0x%llx", q->path,
				  (unsigned long long)unknown);
	if (h->compression != 0)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: qcow2 compression type %u (only zlib, 0, is supported)",
				  q->path, h->compression);
	if (h->crypt)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: encrypted qcow2 images are not supported", q->path);
	if (h->refcount_order < 3 || h->refcount_order > 6)
		return qcow2_fail(
		    err, errlen, -ENOTSUP,
		    "%s: qcow2 refcount_order %u (supported: 3 to 6, 8- to 64-bit refcounts)",
		    q->path, h->refcount_order);
	if (!q->ro && (h->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)))
		return qcow2_fail(err, errlen, -EINVAL,
				  "%s: the qcow2 image is marked %s: repair it with 'qemu-img "
				  "check -r all' or open it ro",
				  q->path,
				  h->incompat & QCOW2_INCOMPAT_CORRUPT ? "corrupt" : "dirty");
	if (!q->ro && h->nb_snapshots)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: the qcow2 image has %u internal snapshots: writing it is "
				  "not supported (open it ro)",
				  q->path, h->nb_snapshots);
	return 0;
}

static int check_geometry(struct qcow2 *q, char *err, size_t errlen)
{
	const struct qcow2_hdr *h = &q->h;

	if (h->version != 2 && h->version != 3)
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: qcow2 version %u (supported: 2 and 3)", q->path, h->version);
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return qcow2_fail(err, errlen, -EINVAL,
				  "%s: qcow2 cluster_bits %u (must be 9 to 21)", q->path,
				  h->cluster_bits);
	q->cs = 1ull << h->cluster_bits;
	if (h->version == 3 && (h->hdr_len < V3_HDR_LEN || h->hdr_len % 8 || h->hdr_len > q->cs))
		return qcow2_fail(err, errlen, -EINVAL, "%s: qcow2 header_length %u is invalid",
				  q->path, h->hdr_len);
	if (h->size > (1ull << 56)) /* spec: host offsets and sizes stay below 2^56 */
		return qcow2_fail(err, errlen, -EINVAL, "%s: qcow2 virtual size %llu is too large",
				  q->path, (unsigned long long)h->size);
	return 0;
}

/* The backing file name (spec: not NUL-terminated, at most 1023 bytes, in the first cluster). */
static int read_backing_name(struct qcow2 *q, char *err, size_t errlen)
{
	struct qcow2_hdr *h = &q->h;
	if (!h->backing_off)
		return 0;
	if (h->backing_len == 0 || h->backing_len >= sizeof(h->backing) || h->backing_off > q->cs ||
	    h->backing_len > q->cs - h->backing_off)
		return qcow2_fail(
		    err, errlen, -EINVAL,
		    "%s: qcow2 backing file name at %llu (%u bytes) is outside the header cluster",
		    q->path, (unsigned long long)h->backing_off, h->backing_len);
	int r = qcow2_pread(q->fd, h->backing, h->backing_len, h->backing_off);
	if (r)
		return qcow2_fail(err, errlen, r, "%s: cannot read the backing file name: %s",
				  q->path, strerror(-r));
	h->backing[h->backing_len] = '\0';
	if (strlen(h->backing) != h->backing_len)
		return qcow2_fail(err, errlen, -EINVAL,
				  "%s: the backing file name holds a NUL byte", q->path);
	return 0;
}

/* Header extensions between the header and the end of the first cluster. Only the backing
 * format is used; the others (feature names, bitmaps) are skipped. */
static int read_extensions(struct qcow2 *q, const uint8_t *c, char *err, size_t errlen)
{
	uint64_t pos = q->h.hdr_len;
	while (pos + 8 <= q->cs) {
		uint32_t type = qcow2_be32(c + pos), len = qcow2_be32(c + pos + 4);
		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > q->cs - pos)
			return qcow2_fail(
			    err, errlen, -EINVAL,
			    "%s: qcow2 header extension 0x%x runs past the first cluster", q->path,
			    type);
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (len == 0 || len >= sizeof(q->h.backing_fmt))
				return qcow2_fail(err, errlen, -EINVAL,
						  "%s: qcow2 backing format of %u bytes", q->path,
						  len);
			memcpy(q->h.backing_fmt, c + pos, len);
			q->h.backing_fmt[len] = '\0';
		}
		pos += (len + 7u) & ~7u;
	}
	return 0;
}

int qcow2_read_header(struct qcow2 *q, char *err, size_t errlen)
{
	uint8_t *c = q->buf; /* sized for the largest cluster once cluster_bits is known */
	uint8_t b[V3_HDR_LEN + 8] = {0};
	int r = qcow2_pread(q->fd, b, sizeof(b), 0);

	if (r)
		return qcow2_fail(err, errlen, r, "%s: cannot read the qcow2 header: %s", q->path,
				  strerror(-r));
	if (qcow2_be32(b) != QCOW2_MAGIC)
		return qcow2_fail(err, errlen, -EINVAL, "%s: not a qcow2 image (bad magic)",
				  q->path);
	parse_fixed(&q->h, b);
	if ((r = check_geometry(q, err, errlen)) || (r = check_features(q, err, errlen)))
		return r;
	if (q->file_size < q->cs)
		return qcow2_fail(err, errlen, -EINVAL,
				  "%s: the qcow2 file is shorter than its first cluster", q->path);
	if ((r = qcow2_pread(q->fd, c, q->cs, 0)))
		return qcow2_fail(err, errlen, r, "%s: cannot read the qcow2 header cluster: %s",
				  q->path, strerror(-r));
	if ((r = read_extensions(q, c, err, errlen)))
		return r;
	return read_backing_name(q, err, errlen);
}

/* [off, off + len) is whole clusters inside the file and not in the header cluster. */
static bool region_ok(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t end;
	return off >= q->cs && !(off & (q->cs - 1)) && !__builtin_add_overflow(off, len, &end) &&
	       end <= q->file_size;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The L1 table covers the virtual size, the two tables are inside the file, apart. */
int qcow2_check_tables(struct qcow2 *q, char *err, size_t errlen)
{
	const struct qcow2_hdr *h = &q->h;
	uint64_t per_l1 = (uint64_t)q->l2_entries << h->cluster_bits;
	uint64_t need = h->size / per_l1 + (h->size % per_l1 != 0);
	uint64_t l1_bytes = (uint64_t)h->l1_size * 8, rt_bytes = (uint64_t)h->rt_clusters * q->cs;

	if (h->l1_size < need || l1_bytes > QCOW2_MAX_L1_BYTES)
		return qcow2_fail(err, errlen, -EINVAL,
				  "%s: qcow2 L1 table of %u entries (%llu needed, at most %u)",
				  q->path, h->l1_size, (unsigned long long)need,
				  QCOW2_MAX_L1_BYTES / 8);
	if (l1_bytes && !region_ok(q, h->l1_off, l1_bytes))
		return qcow2_fail(err, errlen, -EINVAL,
				  "%s: qcow2 L1 table at %llu is not inside the file", q->path,
				  (unsigned long long)h->l1_off);
	if (rt_bytes == 0 || rt_bytes > QCOW2_MAX_RT_BYTES || !region_ok(q, h->rt_off, rt_bytes))
		return qcow2_fail(
		    err, errlen, -EINVAL,
		    "%s: qcow2 refcount table at %llu (%u clusters) is not inside the file",
		    q->path, (unsigned long long)h->rt_off, h->rt_clusters);
	if (l1_bytes && overlap(h->l1_off, l1_bytes, h->rt_off, rt_bytes))
		return qcow2_fail(err, errlen, -EINVAL, "%s: qcow2 L1 and refcount tables overlap",
				  q->path);
	return 0;
}
