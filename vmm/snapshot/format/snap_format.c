/* The snapshot container: writer (growable buffer, atomic save) and reader (bounds-checked
 * parse, sorted index). The layout is described in snap_format.h. */
#include "vmm/snapshot/format/snap_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/host_path.h"
#include "base/sort.h"
#include "vmm/snapshot/format/snap_err.h"
#include "vmm/snapshot/format/snap_file.h"

/* ---- little-endian fields and the checksum ---- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint32_t snap_crc32(const void *buf, size_t len)
{
	return len ? (uint32_t)crc32_z(0, buf, len) : 0; /* zlib: a NULL buf asks for the seed */
}

static size_t pad8(size_t len)
{
	return (8 - (len & 7)) & 7;
}

static uint64_t key_of(uint32_t tag, uint32_t instance)
{
	return ((uint64_t)tag << 32) | instance;
}

/* ---- writer ---- */

int snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->cap = 4096;
	w->buf = malloc(w->cap);
	if (!w->buf)
		return -ENOMEM;
	memcpy(w->buf, SNAP_MAGIC, 8);
	put_le(w->buf + 8, SNAP_FORMAT_VERSION, 4);
	put_le(w->buf + 12, 0, 4); /* flags */
	put_le(w->buf + 16, 0, 8); /* total length: set by snap_writer_save() */
	w->len = SNAP_HEADER_SIZE;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int snap_put(void *wp, uint32_t tag, uint32_t instance, const void *data, size_t len)
{
	struct snap_writer *w = wp;
	uint64_t key = key_of(tag, instance);
	if (w->finished)
		return -EBUSY;
	for (size_t i = 0; i < w->nkeys; i++) {
		if (w->keys[i] == key)
			return -EEXIST;
	}
	if (w->nkeys >= SNAP_MAX_SECTIONS || len > SNAP_MAX_FILE)
		return -E2BIG;
	size_t need = SNAP_SECTION_HDR + len + pad8(len);
	if (w->len + need + SNAP_TRAILER_SIZE > SNAP_MAX_FILE)
		return -E2BIG;
	if (grow((void **)&w->buf, &w->cap, w->len + need, 1) ||
	    grow((void **)&w->keys, &w->keys_cap, w->nkeys + 1, sizeof(*w->keys)))
		return -ENOMEM;
	uint8_t *p = w->buf + w->len;
	put_le(p, tag, 4);
	put_le(p + 4, instance, 4);
	put_le(p + 8, len, 8);
	if (len)
		memcpy(p + SNAP_SECTION_HDR, data, len);
	memset(p + SNAP_SECTION_HDR + len, 0, pad8(len));
	w->len += need;
	w->keys[w->nkeys++] = key;
	return 0;
}

int snap_writer_append(struct snap_writer *dst, const struct snap_writer *src)
{
	if (src->finished)
		return -EINVAL;
	size_t off = SNAP_HEADER_SIZE;
	for (size_t i = 0; i < src->nkeys; i++) {
		const uint8_t *p = src->buf + off;
		uint64_t len = get_le(p + 8, 8);
		int r = snap_put(dst, (uint32_t)get_le(p, 4), (uint32_t)get_le(p + 4, 4),
				 p + SNAP_SECTION_HDR, (size_t)len);
		if (r)
			return r;
		off += SNAP_SECTION_HDR + (size_t)len + pad8((size_t)len);
	}
	return 0;
}

/* Writes the snapshot to `fd` (a new temporary file: snap_create_tmp()) and closes it. */
static int write_file(int fd, const uint8_t *buf, size_t len, const uint8_t *trailer)
{
	int ret = snap_pwrite_all(fd, buf, len, 0);
	if (!ret)
		ret = snap_pwrite_all(fd, trailer, SNAP_TRAILER_SIZE, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

int snap_writer_save(struct snap_writer *w, const char *path, char *err, size_t errlen)
{
	uint8_t trailer[SNAP_TRAILER_SIZE];
	if (w->finished)
		return snap_err(err, errlen, -EBUSY, "%s: snapshot already finished in memory",
				path);
	put_le(w->buf + 16, w->len + SNAP_TRAILER_SIZE, 8);
	put_le(trailer, snap_crc32(w->buf, w->len), 4);
	put_le(trailer + 4, SNAP_END_MAGIC, 4);

	char *tmp = snap_tmp_path(path);
	if (!tmp)
		return snap_err(err, errlen, -ENOMEM, "%s: out of memory", path);
	char why[HOST_PATH_ERR_MAX];
	int fd = snap_create_tmp(tmp, why, sizeof(why));
	if (fd < 0) {
		free(tmp);
		return snap_err(err, errlen, fd, "%s", why);
	}
	return snap_commit_tmp(tmp, path, write_file(fd, w->buf, w->len, trailer), err, errlen);
}

int snap_writer_finish(struct snap_writer *w, const uint8_t **bytes, size_t *len)
{
	if (!w->finished) {
		if (grow((void **)&w->buf, &w->cap, w->len + SNAP_TRAILER_SIZE, 1))
			return -ENOMEM;
		put_le(w->buf + 16, w->len + SNAP_TRAILER_SIZE, 8);
		put_le(w->buf + w->len, snap_crc32(w->buf, w->len), 4);
		put_le(w->buf + w->len + 4, SNAP_END_MAGIC, 4);
		w->len += SNAP_TRAILER_SIZE;
		w->finished = 1;
	}
	*bytes = w->buf;
	*len = w->len;
	return 0;
}

const void *snap_writer_get(const struct snap_writer *w, uint32_t tag, uint32_t instance,
			    size_t *len)
{
	size_t off = SNAP_HEADER_SIZE;
	for (size_t i = 0; i < w->nkeys; i++) {
		const uint8_t *p = w->buf + off;
		size_t n = (size_t)get_le(p + 8, 8);
		if (w->keys[i] == key_of(tag, instance)) {
			*len = n;
			return p + SNAP_SECTION_HDR;
		}
		off += SNAP_SECTION_HDR + n + pad8(n);
	}
	return NULL;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	free(w->keys);
	memset(w, 0, sizeof(*w));
}

/* ---- reader ---- */

/* Checks the header and trailer of `len` bytes at `b`; on success *end is the offset of the
 * trailer. */
static int check_frame(const uint8_t *b, size_t len, size_t *end, char *err, size_t errlen)
{
	if (len >= 8 && memcmp(b, SNAP_MAGIC, 8))
		return snap_err(err, errlen, -EINVAL, "not a vmm snapshot (bad magic)");
	if (len < SNAP_HEADER_SIZE + SNAP_TRAILER_SIZE)
		return snap_err(err, errlen, -EINVAL,
				"truncated: %zu bytes, a snapshot has at least %u", len,
				SNAP_HEADER_SIZE + SNAP_TRAILER_SIZE);
	uint32_t version = (uint32_t)get_le(b + 8, 4);
	if (version != SNAP_FORMAT_VERSION)
		return snap_err(err, errlen, -EINVAL,
				"snapshot format version %u, this vmm reads %u", version,
				SNAP_FORMAT_VERSION);
	uint32_t flags = (uint32_t)get_le(b + 12, 4);
	if (flags)
		return snap_err(err, errlen, -EINVAL, "unknown flags 0x%x in the header", flags);
	uint64_t total = get_le(b + 16, 8);
	if (total > len)
		return snap_err(err, errlen, -EINVAL,
				"truncated: header says %llu bytes, file has %zu",
				(unsigned long long)total, len);
	if (total < len)
		return snap_err(err, errlen, -EINVAL,
				"trailing bytes: header says %llu bytes, file has %zu",
				(unsigned long long)total, len);
	*end = len - SNAP_TRAILER_SIZE;
	if (get_le(b + *end + 4, 4) != SNAP_END_MAGIC)
		return snap_err(err, errlen, -EINVAL, "bad end magic: not a complete snapshot");
	uint32_t want = (uint32_t)get_le(b + *end, 4), got = snap_crc32(b, *end);
	if (want != got)
		return snap_err(err, errlen, -EINVAL,
				"checksum mismatch: trailer says 0x%08x, contents give 0x%08x",
				want, got);
	return 0;
}

/* Decodes the section at `off` (< end) into *s and sets *next to the offset after it. Every
 * length is compared with what is left before `end`, never added to an offset first. */
static int section_at(const uint8_t *b, size_t off, size_t end, struct snap_section *s,
		      size_t *next, char *err, size_t errlen)
{
	size_t left = end - off;
	if (left < SNAP_SECTION_HDR)
		return snap_err(err, errlen, -EINVAL,
				"truncated section header at offset %zu (%zu bytes left)", off,
				left);
	s->tag = (uint32_t)get_le(b + off, 4);
	s->instance = (uint32_t)get_le(b + off + 4, 4);
	uint64_t len = get_le(b + off + 8, 8);
	left -= SNAP_SECTION_HDR;
	if (len > left)
		return snap_err(err, errlen, -EINVAL,
				"section %u/%u at offset %zu: length %llu runs past the end (%zu "
				"bytes left)",
				s->tag, s->instance, off, (unsigned long long)len, left);
	s->len = (size_t)len;
	s->data = b + off + SNAP_SECTION_HDR;
	size_t pad = pad8(s->len);
	if (pad > left - s->len)
		return snap_err(err, errlen, -EINVAL,
				"section %u/%u at offset %zu: padding runs past the end", s->tag,
				s->instance, off);
	for (size_t i = 0; i < pad; i++) {
		if (s->data[s->len + i])
			return snap_err(err, errlen, -EINVAL,
					"section %u/%u at offset %zu: nonzero padding", s->tag,
					s->instance, off);
	}
	*next = off + SNAP_SECTION_HDR + s->len + pad;
	return 0;
}

/* Walks the sections in [SNAP_HEADER_SIZE, end); stores them in `out` when not NULL. Returns
 * their count or -EINVAL. */
static long walk(const uint8_t *b, size_t end, struct snap_section *out, char *err, size_t errlen)
{
	size_t n = 0, off = SNAP_HEADER_SIZE;
	while (off < end) {
		struct snap_section s;
		int ret = section_at(b, off, end, &s, &off, err, errlen);
		if (ret)
			return ret;
		if (n == SNAP_MAX_SECTIONS)
			return snap_err(err, errlen, -EINVAL, "more than %u sections",
					SNAP_MAX_SECTIONS);
		if (out)
			out[n] = s;
		n++;
	}
	return (long)n;
}

static int cmp_section(const void *a, const void *b)
{
	const struct snap_section *x = a, *y = b;
	uint64_t kx = key_of(x->tag, x->instance), ky = key_of(y->tag, y->instance);
	return kx < ky ? -1 : kx > ky;
}

int snap_parse(struct snap_reader *r, const void *buf, size_t len, char *err, size_t errlen)
{
	const uint8_t *b = buf;
	size_t end = 0;
	memset(r, 0, sizeof(*r));
	int ret = check_frame(b, len, &end, err, errlen);
	if (ret)
		return ret;
	long n = walk(b, end, NULL, err, errlen);
	if (n < 0)
		return (int)n;
	struct snap_section *secs = calloc(n ? (size_t)n : 1, sizeof(*secs));
	if (!secs)
		return snap_err(err, errlen, -ENOMEM, "out of memory");
	walk(b, end, secs, NULL, 0);
	vmm_sort(secs, (size_t)n, sizeof(*secs), cmp_section);
	for (long i = 1; i < n; i++) {
		if (!cmp_section(&secs[i - 1], &secs[i])) {
			snap_err(err, errlen, -EINVAL, "duplicate section %u/%u", secs[i].tag,
				 secs[i].instance);
			free(secs);
			return -EINVAL;
		}
	}
	r->buf = b;
	r->len = len;
	r->secs = secs;
	r->nsecs = (size_t)n;
	return 0;
}

/* Reads the whole regular file `path` (at most SNAP_MAX_FILE bytes) into *out. */
static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	int fd;
	uint64_t size;
	int ret = snap_open_regular(path, O_RDONLY, "", &fd, &size, err, errlen);
	if (ret)
		return ret;
	if (size > SNAP_MAX_FILE)
		ret = snap_err(err, errlen, -EINVAL,
			       "%s: %llu bytes, more than the %u MiB a snapshot may have", path,
			       (unsigned long long)size, SNAP_MAX_FILE >> 20);
	uint8_t *buf = NULL;
	if (!ret && !(buf = malloc(size ? (size_t)size : 1)))
		ret = snap_err(err, errlen, -ENOMEM, "%s: out of memory", path);
	if (!ret && (ret = snap_pread_all(fd, buf, (size_t)size, 0)))
		snap_err(err, errlen, ret, "%s: %s", path,
			 ret == -EINVAL ? "file shrank while being read" : strerror(-ret));
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*len = (size_t)size;
	return 0;
}

int snap_open(struct snap_reader *r, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[256];
	memset(r, 0, sizeof(*r));
	int ret = read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = snap_parse(r, buf, len, msg, sizeof(msg));
	if (!ret && !(r->name = strdup(path))) {
		snap_close(r);
		snprintf(msg, sizeof(msg), "out of memory");
		ret = -ENOMEM;
	}
	if (ret) {
		free(buf);
		return snap_err(err, errlen, ret, "%s: %s", path, msg);
	}
	r->owned = buf;
	return 0;
}

static const struct snap_section *find(const struct snap_reader *r, uint32_t tag, uint32_t instance)
{
	struct snap_section key = {.tag = tag, .instance = instance};
	if (!r->nsecs)
		return NULL;
	return bsearch(&key, r->secs, r->nsecs, sizeof(*r->secs), cmp_section);
}

const void *snap_get(void *rp, uint32_t tag, uint32_t instance, size_t *len)
{
	const struct snap_section *s = find(rp, tag, instance);
	if (!s)
		return NULL;
	if (len)
		*len = s->len;
	return s->data;
}

int snap_get_exact(struct snap_reader *r, uint32_t tag, uint32_t instance, void *out, size_t len,
		   char *err, size_t errlen)
{
	const struct snap_section *s = find(r, tag, instance);
	const char *name = r->name ? r->name : "", *sep = r->name ? ": " : "";
	if (!s)
		return snap_err(err, errlen, -EINVAL, "%s%ssnapshot has no section %u/%u", name,
				sep, tag, instance);
	if (s->len != len)
		return snap_err(err, errlen, -EINVAL, "%s%ssection %u/%u has %zu bytes, want %zu",
				name, sep, tag, instance, s->len, len);
	if (len)
		memcpy(out, s->data, len);
	return 0;
}

void snap_close(struct snap_reader *r)
{
	free(r->secs);
	free(r->owned);
	free(r->name);
	memset(r, 0, sizeof(*r));
}
