/* pread/pwrite loops, temporary names and directory fsync for the snapshot writers. */
#include "vmm/snapshot/format/snap_file.h"

#include "base/host_path.h"
#include "host/sandbox/opener.h"
#include "vmm/snapshot/format/snap_err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int snap_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int snap_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EINVAL;
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

char *snap_tmp_path(const char *path)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof(".tmp"));
	if (tmp) {
		memcpy(tmp, path, n);
		memcpy(tmp + n, ".tmp", sizeof(".tmp"));
	}
	return tmp;
}

/* fsyncs the directory holding `path`, so a rename into it is durable. Returns 0 or -errno. */
static int snap_fsync_dir(const char *path)
{
	char *copy = strdup(path), why[HOST_PATH_ERR_MAX];
	if (!copy)
		return -ENOMEM;
	int fd = host_path_open(dirname(copy), O_RDONLY, 0, HOST_PATH_DIR, why, sizeof(why));
	free(copy);
	if (fd < 0)
		return fd;
	int ret = fsync(fd) ? -errno : 0;
	close(fd);
	return ret;
}

/* Creating, renaming and removing run on the opener (host/sandbox/opener.h): the thread that
 * takes a snapshot is under Landlock, and the client's directory need not be in its set. The
 * bytes go through the descriptor it hands back, on the caller's thread. */

/* The target a temporary file from snap_tmp_path() is renamed to: `tmp` without ".tmp". */
static char *target_of(const char *tmp)
{
	size_t n = strlen(tmp), t = sizeof(".tmp") - 1;
	if (n <= t || strcmp(tmp + n - t, ".tmp"))
		return NULL;
	return strndup(tmp, n - t);
}

int snap_create_tmp(const char *tmp, char *err, size_t errlen)
{
	/* rule 7 first: a device node, FIFO or socket at the target is refused before any
	 * byte is written (snap_commit_tmp() checks again, atomically) */
	char *path = target_of(tmp);
	int r = path ? host_path_replace_check(path, err, errlen) : 0;
	free(path);
	if (r)
		return r;
	/* O_NOFOLLOW: a symbolic link planted at PATH.tmp is refused, never written through */
	return sandbox_opener_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600,
				   HOST_PATH_REGULAR, err, errlen);
}

struct commit_call {
	const char *tmp, *path;
	int ret;
	char *err;
	size_t errlen;
};

static int commit_here(void *arg)
{
	struct commit_call *k = arg;
	char why[HOST_PATH_ERR_MAX];
	int ret = k->ret;
	if (ret) {
		snap_err(k->err, k->errlen, ret, "%s: %s", k->tmp, strerror(-ret));
		unlink(k->tmp);
	} else if ((ret = host_path_replace_commit(k->tmp, k->path, why, sizeof(why)))) {
		/* PATH.tmp is gone, PATH as it was (a device node, a FIFO, a socket stays one) */
		snap_err(k->err, k->errlen, ret, "%s", why);
	} else if ((ret = snap_fsync_dir(k->path))) {
		snap_err(k->err, k->errlen, ret, "%s: fsync of its directory: %s", k->path,
			 strerror(-ret));
	}
	return ret;
}

int snap_commit_tmp(char *tmp, const char *path, int ret, char *err, size_t errlen)
{
	struct commit_call k = {tmp, path, ret, err, errlen};
	ret = sandbox_opener_run(commit_here, &k);
	free(tmp);
	return ret;
}

int snap_probe_target(const char *path, char *err, size_t errlen)
{
	char why[HOST_PATH_ERR_MAX], *tmp = snap_tmp_path(path);
	if (!tmp)
		return snap_err(err, errlen, -ENOMEM, "%s: out of memory", path);
	int r = snap_create_tmp(tmp, why, sizeof(why));
	if (r >= 0) {
		close(r);
		r = snap_remove_made(tmp);
	} else {
		snap_err(err, errlen, r, "%s", why);
	}
	free(tmp);
	return r;
}

static int unlink_here(void *arg)
{
	return unlink(arg) < 0 && errno != ENOENT ? -errno : 0;
}

int snap_remove_made(const char *path)
{
	return sandbox_opener_run(unlink_here, (void *)path);
}

int snap_open_regular(const char *path, int flags, const char *what, int *fd, uint64_t *size,
		      char *err, size_t errlen)
{
	const char *sp = what[0] ? " " : "";
	char why[HOST_PATH_ERR_MAX];
	struct stat st;
	/* host_path_open(): the type is checked on the open file, opened without waiting (a FIFO
	 * is refused at once), and nothing of /proc or /sys; to write (a Diff's memory file) on the
	 * opener, as snap_create_tmp() */
	int f = (flags & O_ACCMODE) == O_RDONLY
		    ? host_path_open(path, flags, 0, HOST_PATH_REGULAR, why, sizeof(why))
		    : sandbox_opener_open(path, flags, 0, HOST_PATH_REGULAR, why, sizeof(why));
	if (f < 0)
		return snap_err(err, errlen, f, "%s%s%s", what, sp, why);
	if (fstat(f, &st)) {
		int ret =
		    snap_err(err, errlen, -errno, "%s%s%s: %s", what, sp, path, strerror(errno));
		close(f);
		return ret;
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}
