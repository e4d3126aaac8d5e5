/* The backing chain of a qcow2 image, when the operator allows it (backing_files=on; qcow2.h,
 * struct qcow2_open_opts): each backing file has the format the image's backing format extension
 * gives (raw or qcow2: never probed, so a guest that wrote a qcow2 header into a raw backing file
 * cannot make it name a file of its own), and is opened read-only with host_path_open_beneath()
 * (never /proc, /sys, a FIFO or a character device) beneath the folder of the image that names
 * it, or beneath one of the operator's backing_dirs: no symbolic link, no `..` and no absolute
 * name leaves them. At most QCOW2_MAX_CHAIN images deep and each file at most once (by device
 * and inode, so a loop through another name is caught). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "virtio/blk/qcow2_int.h"

void qcow2_shown_name(const char *name, char *out, size_t len)
{
	size_t i = 0;
	for (; name[i] && i + 1 < len; i++)
		out[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
	out[i] = '\0';
}

/* The folder of `image` (its path up to the last '/'; "." without one, "/" for one in /). */
static int folder_of(const char *image, char *out, size_t len)
{
	const char *slash = strrchr(image, '/');
	int n = !slash		 ? snprintf(out, len, ".")
		: slash == image ? snprintf(out, len, "/")
				 : snprintf(out, len, "%.*s", (int)(slash - image), image);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The path of `name` as its image names it: absolute, or relative to the image's folder. */
static int join(const char *dir, const char *name, char *out, size_t len)
{
	int n = name[0] == '/' ? snprintf(out, len, "%s", name)
			       : snprintf(out, len, "%s%s%s", dir,
					  dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The raw or qcow2 format the image gives for its backing file: no probe (see the top). */
static int backing_is_qcow2(const struct qcow2 *q, bool *is, char *err, size_t errlen)
{
	const char *f = q->h.backing_fmt;
	char shown[QCOW2_SHOWN_MAX];
	qcow2_shown_name(q->h.backing, shown, sizeof(shown));
	if (!f[0])
		return qcow2_fail(
		    err, errlen, -EPERM,
		    "%s: the backing file %s has no format recorded, and it is not "
		    "guessed: recreate the image with qemu-img create -F raw|qcow2, or "
		    "record it with qemu-img rebase -u -F raw|qcow2 -b NAME",
		    q->path, shown);
	if (strcmp(f, "raw") && strcmp(f, "qcow2")) {
		qcow2_shown_name(f, shown, sizeof(shown));
		return qcow2_fail(err, errlen, -ENOTSUP,
				  "%s: backing file format '%s' is not supported (raw or qcow2)",
				  q->path, shown);
	}
	*is = !strcmp(f, "qcow2");
	return 0;
}

/* ':'-separated folder `i` of `dirs` into out, or -ENOENT past the last. */
static int listed_dir(const char *dirs, int i, char *out, size_t len)
{
	const char *p = dirs;
	for (; p && i > 0; i--)
		p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
	if (!p || !*p)
		return -ENOENT;
	size_t n = strcspn(p, ":");
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* The backing file opened beneath the image's folder `dir`, or beneath a listed folder (by the
 * path `path` the image names, relative names taken from `dir`). On success `used` gets the
 * folder it was opened beneath. The error said is the own folder's, unless a listed folder that
 * holds the name lexically refused it for another reason (a link in it, no such file). */
static int open_beneath(const char *dir, const char *name, const char *path, const char *dirs,
			char *used, size_t usedlen, char *msg, size_t msglen)
{
	char other[PATH_MAX], why[HOST_PATH_ERR_MAX];
	unsigned kinds = HOST_PATH_REGULAR | HOST_PATH_BLOCK;
	int fd = host_path_open_beneath(dir, name, O_RDONLY, 0, kinds, msg, msglen);
	if (fd >= 0) {
		snprintf(used, usedlen, "%s", dir);
		return fd;
	}
	int first = fd;
	for (int i = 0; first != -ENOMEM && !listed_dir(dirs, i, other, sizeof(other)); i++) {
		if (!other[0])
			continue;
		fd = host_path_open_beneath(other, path, O_RDONLY, 0, kinds, why, sizeof(why));
		if (fd >= 0) {
			snprintf(used, usedlen, "%s", other);
			return fd;
		}
		if (fd != -EXDEV)
			snprintf(msg, msglen, "%s", why), first = fd;
	}
	return first;
}

/* ids[0..2*n): (dev, ino) of the images above the backing file, this one last. */
static int open_qcow2_backing(struct qcow2 *q, const struct qcow2_open_opts *o, const char *path,
			      const uint64_t *ids, char *err, size_t errlen)
{
	struct qcow2_open_opts bo = {.ro = true,
				     .backing_files = true,
				     .backing_dirs = o->backing_dirs,
				     .path = path,
				     .depth = o->depth + 1,
				     .ids = ids};
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

/* The backing file at `path` (the image's folder `dir`), of the format checked already. */
static int open_file(struct qcow2 *q, const struct qcow2_open_opts *o, const char *dir,
		     const char *path, bool is_qcow2, uint64_t *ids, char *err, size_t errlen)
{
	struct stat st;
	char msg[HOST_PATH_ERR_MAX], used[PATH_MAX], shown[QCOW2_SHOWN_MAX];
	qcow2_shown_name(q->h.backing, shown, sizeof(shown));
	int fd = open_beneath(dir, q->h.backing, path, o->backing_dirs, used, sizeof(used), msg,
			      sizeof(msg));
	qcow2_shown_name(msg, msg, sizeof(msg)); /* in place: a name may hold control bytes */
	if (fd < 0)
		return qcow2_fail(
		    err, errlen, fd,
		    "%s: backing file %s refused: %s (a backing file must lie beneath "
		    "the image's folder or a backing_dirs= folder, with no symbolic "
		    "link)",
		    q->path, shown, msg);
	q->back.fd = fd;
	q->has_back = true;
	qcow2_shown_name(path, msg, sizeof(msg));
	log_info("disk %s: backing file %s (%s, beneath %s)", q->path, msg,
		 is_qcow2 ? "qcow2" : "raw", used);
	if (fstat(fd, &st) < 0)
		return qcow2_fail(err, errlen, -errno, "%s: fstat: %s", path, strerror(errno));
	if (seen(ids, o->depth + 1, &st))
		return qcow2_fail(err, errlen, -ELOOP, "%s: the backing chain loops back to %s",
				  q->path, path);
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
	char dir[PATH_MAX], path[PATH_MAX];
	uint64_t ids[2 * QCOW2_MAX_CHAIN];
	struct stat st;
	bool is_qcow2 = false;

	if (o->depth + 1 >= QCOW2_MAX_CHAIN)
		return qcow2_fail(err, errlen, -ELOOP, "%s: backing chain deeper than %d images",
				  q->path, QCOW2_MAX_CHAIN);
	int r = backing_is_qcow2(q, &is_qcow2, err, errlen);
	if (r)
		return r;
	if (folder_of(q->path, dir, sizeof(dir)) || join(dir, q->h.backing, path, sizeof(path)))
		return qcow2_fail(err, errlen, -ENAMETOOLONG, "%s: backing file name too long",
				  q->path);
	if (fstat(q->fd, &st) < 0)
		return qcow2_fail(err, errlen, -errno, "%s: fstat: %s", q->path, strerror(errno));
	if (o->depth)
		memcpy(ids, o->ids, sizeof(ids[0]) * 2 * o->depth);
	ids[2 * o->depth] = (uint64_t)st.st_dev;
	ids[2 * o->depth + 1] = (uint64_t)st.st_ino;
	return open_file(q, o, dir, path, is_qcow2, ids, err, errlen);
}
