/* Rule 6 of base/host_path.h: opens beneath a folder with openat2(), and the confined folders
 * (a snapshot's folder while a restore opens what it names). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/host_path_int.h"
#include "base/parse.h"

#define RESOLVE_RULES (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static char start_cwd[PATH_MAX]; /* "" until host_path_init() */

static pthread_mutex_t confined_lock = PTHREAD_MUTEX_INITIALIZER;
static char confined[HOST_PATH_MAX_CONFINED][PATH_MAX]; /* normalized; "" when free */

int host_path_init(void)
{
	if (start_cwd[0])
		return 0;
	return getcwd(start_cwd, sizeof(start_cwd)) ? 0 : -errno;
}

int host_path_normalize(const char *path, char *out, size_t len)
{
	size_t n = 0;
	const char *p = path;

	if (!path[0])
		return -EINVAL;
	if (path[0] != '/' && start_cwd[0]) {
		n = strlen(start_cwd);
		if (n >= len)
			return -ENAMETOOLONG;
		memcpy(out, start_cwd, n);
	}
	if (path[0] == '/' && n == 0)
		out[n++] = '/';
	while (*p) {
		size_t c = strcspn(p, "/");
		if (c == 2 && !strncmp(p, "..", 2))
			return -EINVAL;
		if (c && !(c == 1 && p[0] == '.')) {
			bool slash = n && out[n - 1] != '/';
			if (n + slash + c + 1 > len)
				return -ENAMETOOLONG;
			if (slash)
				out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
		p += c;
		p += *p == '/';
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = 0;
	return 0;
}

/* The part of normalized `path` below normalized `dir`, or NULL when it is not beneath. */
static const char *below(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[0] == '/' && path[1] ? path + 1 : NULL;
	if (strncmp(dir, path, n) || path[n] != '/' || !path[n + 1])
		return NULL;
	return path + n + 1;
}

static long sys_openat2(int dirfd, const char *name, int flags, mode_t mode,
			unsigned long long resolve)
{
	struct open_how how = {
	    .flags = (unsigned long long)flags, .mode = mode, .resolve = resolve};
	long fd;

	if (!(flags & (O_CREAT | __O_TMPFILE)))
		how.mode = 0; /* openat2 refuses a mode without O_CREAT */
	do
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	while (fd < 0 && errno == EINTR);
	return fd;
}

static int beneath_fail(int e, const char *dir, const char *name, char *err, size_t errlen)
{
	switch (e) {
	case ELOOP:
		snprintf(err, errlen, "%s/%s: a symbolic link inside %s, refused here", dir, name,
			 dir);
		return -ELOOP;
	case EXDEV:
		snprintf(err, errlen, "%s/%s: leaves the folder %s, refused here", dir, name, dir);
		return -EXDEV;
	case ENOSYS:
		snprintf(err, errlen, "%s/%s: this kernel has no openat2() (Linux 5.6 or later)",
			 dir, name);
		return -ENOSYS;
	default:
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(e));
		return -e;
	}
}

/* The kind of what `name` names, looked up under the same resolve rules (O_PATH: no device's
 * own open), before the real open: 0, or -errno with err filled. */
static int check_kind(int dfd, const char *dir, const char *name, int flags, unsigned kinds,
		      char *err, size_t errlen)
{
	struct stat st;
	char want[80];
	long fd = sys_openat2(dfd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0, RESOLVE_RULES);

	if (fd < 0)
		return errno == ENOENT && (flags & O_CREAT)
			   ? 0
			   : beneath_fail(errno, dir, name, err, errlen);
	int r = fstat((int)fd, &st);
	close((int)fd);
	if (r < 0)
		return beneath_fail(errno, dir, name, err, errlen);
	if (S_ISLNK(st.st_mode))
		return beneath_fail(ELOOP, dir, name, err, errlen);
	if (host_path_kind_bit(st.st_mode) & kinds)
		return 0;
	host_path_wanted_kinds(kinds, want, sizeof(want));
	snprintf(err, errlen, "%s/%s: not %s (%s)", dir, name, want,
		 host_path_kind_name(st.st_mode));
	return host_path_kind_errno(st.st_mode, flags, kinds);
}

/* `name` relative to `dir`: itself, or an absolute name's part lexically beneath `dir`. */
static int relative_name(const char *dir, const char *name, char *out, size_t len, char *err,
			 size_t errlen)
{
	char nd[PATH_MAX], nn[PATH_MAX];
	const char *rest;

	if (name[0] != '/') {
		if (snprintf(out, len, "%s", name) >= (int)len)
			return parse_fail(err, errlen, "%s: name too long", name);
		return 0;
	}
	if (host_path_normalize(dir, nd, sizeof(nd)) || host_path_normalize(name, nn, sizeof(nn)) ||
	    !(rest = below(nd, nn))) {
		snprintf(err, errlen, "%s: not beneath the folder %s, refused here", name, dir);
		return -EXDEV;
	}
	snprintf(out, len, "%s", rest);
	return 0;
}

int host_path_open_beneath(const char *dir, const char *name, int flags, mode_t mode,
			   unsigned kinds, char *err, size_t errlen)
{
	char rel[PATH_MAX], shown[PATH_MAX + 2];
	int r;

	if (!dir || !*dir || !name || !*name)
		return parse_fail(err, errlen, "an empty path");
	r = relative_name(dir, name, rel, sizeof(rel), err, errlen);
	if (r)
		return r;
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	if (kinds == HOST_PATH_DIR)
		flags |= O_DIRECTORY;
	r = check_kind(dfd, dir, rel, flags, kinds, err, errlen);
	long fd = r ? -1
		    : sys_openat2(dfd, rel, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode,
				  RESOLVE_RULES);
	if (!r && fd < 0)
		r = beneath_fail(errno, dir, rel, err, errlen);
	close(dfd);
	if (r)
		return r;
	snprintf(shown, sizeof(shown), "%s/%s", dir, rel);
	r = host_path_check_open_file((int)fd, shown, flags, kinds, err, errlen);
	if (!r && !((kinds & HOST_PATH_FIFO) && host_path_is_fifo((int)fd)))
		r = host_path_clear_nonblock((int)fd, shown, err, errlen);
	if (r) {
		close((int)fd);
		return r;
	}
	return (int)fd;
}

int host_path_confine(const char *dir, char *err, size_t errlen)
{
	char norm[PATH_MAX];
	struct stat st;
	int r = host_path_normalize(dir, norm, sizeof(norm)), slot = -1;

	if (r)
		return parse_fail(err, errlen, "%s: a folder with a `..` component is refused",
				  dir);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -ENOTDIR;
	}
	pthread_mutex_lock(&confined_lock);
	for (int i = 0; i < HOST_PATH_MAX_CONFINED && r == 0; i++) {
		if (!strcmp(confined[i], norm))
			r = 1; /* already */
		else if (!confined[i][0] && slot < 0)
			slot = i;
	}
	if (r == 0 && slot >= 0)
		snprintf(confined[slot], sizeof(confined[slot]), "%s", norm);
	pthread_mutex_unlock(&confined_lock);
	if (r == 0 && slot < 0) {
		snprintf(err, errlen, "%s: more than %d confined folders", dir,
			 HOST_PATH_MAX_CONFINED);
		return -ENOSPC;
	}
	return 0;
}

void host_path_unconfine_all(void)
{
	pthread_mutex_lock(&confined_lock);
	memset(confined, 0, sizeof(confined));
	pthread_mutex_unlock(&confined_lock);
}

int host_path_confined_split(const char *path, char *dir, size_t dirlen, char *rest, size_t restlen)
{
	char norm[PATH_MAX];
	const char *r = NULL;

	if (host_path_normalize(path, norm, sizeof(norm)))
		return 0; /* `..`: taken by name (restore_paths.h refuses it in a snapshot) */
	pthread_mutex_lock(&confined_lock);
	for (int i = 0; i < HOST_PATH_MAX_CONFINED && !r; i++) {
		if (confined[i][0] && (r = below(confined[i], norm))) {
			snprintf(dir, dirlen, "%s", confined[i]);
			snprintf(rest, restlen, "%s", r);
		}
	}
	pthread_mutex_unlock(&confined_lock);
	return r ? 1 : 0;
}
