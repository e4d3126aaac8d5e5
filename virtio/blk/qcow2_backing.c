/* The backing chain of a qcow2 image: each backing file is opened read-only through
 * host_path_open() (never /proc, /sys, a FIFO or a character device), as raw or qcow2 (the
 * image's backing format extension, else its magic), at most QCOW2_MAX_CHAIN images deep and
 * each file at most once (by device and inode, so a loop through another name is caught). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "virtio/blk/qcow2_int.h"

/* A relative backing name is relative to the directory of the image that names it (spec). */
static int resolve(const char *image, const char *name, char *out, size_t len)
{
	const char *slash = strrchr(image, '/');
	int n;
	if (name[0] == '/' || !slash)
		n = snprintf(out, len, "%s", name);
	else
		n = snprintf(out, len, "%.*s/%s", (int)(slash - image), image, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The raw or qcow2 format the image gives for its backing file, or the file's magic. */
static int backing_is_qcow2(const struct qcow2 *q, int fd, bool *is, char *err, size_t errlen)
{
	const char *f = q->h.backing_fmt;
	if (!f[0]) {
		*is = qcow2_probe(fd);
		return 0;
	}
	if (strcmp(f, "raw") && strcmp(f, "qcow2"))
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: backing file format '%s' is not supported (raw or qcow2)",
				  q->path, f);
	*is = !strcmp(f, "qcow2");
	return 0;
}

/* ids[0..2*n): (dev, ino) of the images above the backing file, this one last. */
static int open_qcow2_backing(struct qcow2 *q, const struct qcow2_open_opts *o, const char *path,
			      const uint64_t *ids, char *err, size_t errlen)
{
	struct qcow2_open_opts bo = {.ro = true, .path = path, .depth = o->depth + 1, .ids = ids};
	int r = qcow2_open(&q->back.q, q->back.fd, &bo, err, errlen);
	if (!r)
		q->back.size = qcow2_size(q->back.q);
	return r;
}

static bool seen(const uint64_t *ids, unsigned n, const struct stat *st)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[2 * i] == (uint64_t)st->st_dev && ids[2 * i + 1] == (uint64_t)st->st_ino)
			return true;
	return false;
}

static int open_file(struct qcow2 *q, const struct qcow2_open_opts *o, const char *path,
		     uint64_t *ids, char *err, size_t errlen)
{
	struct stat st;
	char msg[HOST_PATH_ERR_MAX];
	int fd = host_path_open(path, O_RDONLY, 0, HOST_PATH_REGULAR | HOST_PATH_BLOCK, msg,
				sizeof(msg));
	if (fd < 0)
		return qcow2_fail(err, errlen, fd, "%s: backing file %s", q->path, msg);
	q->back.fd = fd;
	q->has_back = true;
	if (fstat(fd, &st) < 0)
		return qcow2_fail(err, errlen, -errno, "%s: fstat: %s", path, strerror(errno));
	if (seen(ids, o->depth + 1, &st))
		return qcow2_fail(err, errlen, -ELOOP, "%s: the backing chain loops back to %s",
				  q->path, path);
	bool is_qcow2 = false;
	int r = backing_is_qcow2(q, fd, &is_qcow2, err, errlen);
	if (r)
		return r;
	if (is_qcow2)
		return open_qcow2_backing(q, o, path, ids, err, errlen);
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return qcow2_fail(err, errlen, -errno, "%s: size: %s", path, strerror(errno));
	q->back.size = (uint64_t)end;
	return 0;
}

int qcow2_open_backing(struct qcow2 *q, const struct qcow2_open_opts *o, char *err, size_t errlen)
{
	char path[PATH_MAX];
	uint64_t ids[2 * QCOW2_MAX_CHAIN];
	struct stat st;

	if (o->depth + 1 >= QCOW2_MAX_CHAIN)
		return qcow2_fail(err, errlen, -ELOOP, "%s: backing chain deeper than %d images",
				  q->path, QCOW2_MAX_CHAIN);
	if (resolve(q->path, q->h.backing, path, sizeof(path)))
		return qcow2_fail(err, errlen, -ENAMETOOLONG, "%s: backing file name too long",
				  q->path);
	if (fstat(q->fd, &st) < 0)
		return qcow2_fail(err, errlen, -errno, "%s: fstat: %s", q->path, strerror(errno));
	if (o->depth)
		memcpy(ids, o->ids, sizeof(ids[0]) * 2 * o->depth);
	ids[2 * o->depth] = (uint64_t)st.st_dev;
	ids[2 * o->depth + 1] = (uint64_t)st.st_ino;
	return open_file(q, o, path, ids, err, errlen);
}
