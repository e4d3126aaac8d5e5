/* Rule 7 of base/host_path.h: a whole file written is renamed over its target only when the
 * target is a regular file or nothing, atomically, so a device node, FIFO, socket, directory or
 * link there is never replaced (PUT /snapshot/create over /dev/null made a regular file of it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/host_path_int.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int not_replaceable(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (S_ISLNK(mode)) {
		snprintf(err, errlen, "%s: a symbolic link, which a written file never replaces",
			 path);
		return -ELOOP;
	}
	snprintf(err, errlen, "%s: %s, which a written file never replaces (only a regular file)",
		 path, host_path_kind_name(mode));
	return S_ISDIR(mode) ? -EISDIR : -EINVAL;
}

int host_path_replace_check(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return S_ISREG(st.st_mode) ? 0 : not_replaceable(path, st.st_mode, err, errlen);
}

static int rename2(const char *from, const char *to, unsigned flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

/* `tmp` went over a regular file or nothing: what is now at `tmp` goes. */
static int drop_old(const char *tmp)
{
	return unlink(tmp) < 0 && errno != ENOENT ? -errno : 0;
}

/* A file system without renameat2's flags (9p, as tools/kvm-in-qemu shares the tree with its
 * L1; some FUSE ones): EINVAL. There the kind is checked by name just before a plain rename, which
 * leaves a window a racing writer of the folder could use, but never replaces what the check saw.
 */
static int commit_plain(const char *tmp, const char *path, char *err, size_t errlen)
{
	int r = host_path_replace_check(path, err, errlen);
	if (!r && rename(tmp, path) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	}
	if (r)
		unlink(tmp);
	return r;
}

int host_path_replace_commit(const char *tmp, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (rename2(tmp, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOSYS)
		return commit_plain(tmp, path, err, errlen);
	if (errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		unlink(tmp);
		return -e;
	}
	if (rename2(tmp, path, RENAME_EXCHANGE) < 0) {
		if (errno == EINVAL || errno == ENOSYS)
			return commit_plain(tmp, path, err, errlen);
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		unlink(tmp);
		return -e;
	}
	/* `tmp` now holds what `path` held: it must have been a regular file. */
	if (lstat(tmp, &st) == 0 && !S_ISREG(st.st_mode)) {
		int r = not_replaceable(path, st.st_mode, err, errlen);
		if (rename2(tmp, path, RENAME_EXCHANGE) == 0)
			unlink(tmp);
		return r;
	}
	drop_old(tmp);
	return 0;
}
