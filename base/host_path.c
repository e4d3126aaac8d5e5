/* host_path_open(): the rules of base/host_path.h. */
#include "base/host_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/host_path_int.h"
#include "base/parse.h"

#define ALLOWED_FLAGS                                                                              \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NOFOLLOW | O_DIRECT | O_DSYNC)

/* Kernel pseudo file systems: reading or writing their files acts on the kernel or on a
 * process (/proc/self/mem), never on data the operator meant. */
static const char *pseudo_fs_name(long type)
{
	switch (type) {
	case PROC_SUPER_MAGIC:
		return "/proc";
	case SYSFS_MAGIC:
		return "/sys";
	case DEBUGFS_MAGIC:
		return "debugfs";
	case TRACEFS_MAGIC:
		return "tracefs";
	case SECURITYFS_MAGIC:
		return "securityfs";
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
		return "a cgroup file system";
	case BPF_FS_MAGIC:
		return "bpffs";
	case DEVPTS_SUPER_MAGIC:
		return "devpts";
	case SELINUX_MAGIC:
		return "selinuxfs";
	case EFIVARFS_MAGIC:
		return "efivarfs";
	default:
		return NULL;
	}
}

const char *host_path_kind_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	default:
		return "a file of unknown type";
	}
}

unsigned host_path_kind_bit(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return HOST_PATH_REGULAR;
	case S_IFBLK:
		return HOST_PATH_BLOCK;
	case S_IFDIR:
		return HOST_PATH_DIR;
	case S_IFIFO:
		return HOST_PATH_FIFO;
	default:
		return 0;
	}
}

/* The errno of a kind the use refuses: -EISDIR (a directory opened to write) and -ENOTDIR as
 * open() would say them, else -EINVAL. */
int host_path_kind_errno(mode_t mode, int flags, unsigned kinds)
{
	if (S_ISDIR(mode) && (flags & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	return kinds == HOST_PATH_DIR ? -ENOTDIR : -EINVAL;
}

/* "a regular file or a block device" for the kinds a use accepts. */
void host_path_wanted_kinds(unsigned kinds, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} k[] = {{HOST_PATH_REGULAR, "a regular file"},
		 {HOST_PATH_BLOCK, "a block device"},
		 {HOST_PATH_DIR, "a directory"},
		 {HOST_PATH_FIFO, "a FIFO"}};
	size_t off = 0;
	int n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]) && off < len; i++) {
		if (!(kinds & k[i].bit))
			continue;
		off += (size_t)snprintf(out + off, len - off, "%s%s", n++ ? " or " : "", k[i].name);
	}
}

/* Checks the open file against the rules; 0 or -errno with err filled. */
int host_path_check_open_file(int fd, const char *path, int flags, unsigned kinds, char *err,
			      size_t errlen)
{
	struct stat st;
	struct statfs sfs;
	const char *pseudo;
	char want[80];

	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	pseudo = pseudo_fs_name((long)sfs.f_type);
	if (pseudo) {
		snprintf(err, errlen, "%s: on %s, which the VMM never opens for a user's file",
			 path, pseudo);
		return -EACCES;
	}
	if (!(host_path_kind_bit(st.st_mode) & kinds)) {
		host_path_wanted_kinds(kinds, want, sizeof(want));
		snprintf(err, errlen, "%s: not %s (%s)", path, want,
			 host_path_kind_name(st.st_mode));
		return host_path_kind_errno(st.st_mode, flags, kinds);
	}
	return 0;
}

/* open(O_WRONLY | O_NONBLOCK) said ENXIO: a FIFO that nobody reads, or a socket. What it is
 * comes from the name (only for the message: nothing was opened). */
static int cannot_write(const char *path, unsigned kinds, char *err, size_t errlen)
{
	struct stat st;
	char want[80];

	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode) && (kinds & HOST_PATH_FIFO)) {
		snprintf(err, errlen, "%s: a FIFO with no reader (start its reader first)", path);
		return -ENXIO;
	}
	if (stat(path, &st) == 0 && !(host_path_kind_bit(st.st_mode) & kinds)) {
		host_path_wanted_kinds(kinds, want, sizeof(want));
		snprintf(err, errlen, "%s: not %s (%s)", path, want,
			 host_path_kind_name(st.st_mode));
		return host_path_kind_errno(st.st_mode, O_WRONLY, kinds);
	}
	snprintf(err, errlen, "%s: not a file that can be opened for writing (%s)", path,
		 strerror(ENXIO));
	return -ENXIO;
}

int host_path_clear_nonblock(int fd, const char *path, char *err, size_t errlen)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

/* The kind of the file `path` names, before it is opened: 0, or -EINVAL for a kind the use
 * refuses. A name that cannot be looked up is left to open() to report. */
static int check_name(const char *path, int flags, unsigned kinds, char *err, size_t errlen)
{
	struct stat st;
	char want[80];
	int r = (flags & O_NOFOLLOW) ? lstat(path, &st) : stat(path, &st);

	if (r < 0 || S_ISLNK(st.st_mode) || (host_path_kind_bit(st.st_mode) & kinds))
		return 0;
	host_path_wanted_kinds(kinds, want, sizeof(want));
	snprintf(err, errlen, "%s: not %s (%s)", path, want, host_path_kind_name(st.st_mode));
	return host_path_kind_errno(st.st_mode, flags, kinds);
}

static bool names_fifo(const char *path, int flags)
{
	struct stat st;
	int r = (flags & O_NOFOLLOW) ? lstat(path, &st) : stat(path, &st);
	return r == 0 && S_ISFIFO(st.st_mode);
}

bool host_path_is_fifo(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

int host_path_open(const char *path, int flags, mode_t mode, unsigned kinds, char *err,
		   size_t errlen)
{
	int fd, r;

	if (!path || !*path)
		return parse_fail(err, errlen, "an empty path");
	if (flags & ~ALLOWED_FLAGS)
		return parse_fail(err, errlen, "%s: open flags 0x%x not allowed here", path,
				  (unsigned)(flags & ~ALLOWED_FLAGS));
	char dir[PATH_MAX], rest[PATH_MAX];
	if (host_path_confined_split(path, dir, sizeof(dir), rest, sizeof(rest)) == 1)
		return host_path_open_beneath(dir, rest, flags, mode, kinds, err, errlen);
	if (kinds == HOST_PATH_DIR)
		flags |= O_DIRECTORY;
	/* By name first, so that a device's own open (a watchdog that starts, a tape that rewinds)
	 * is never made for a kind the use refuses; the open file is checked again below. */
	r = check_name(path, flags, kinds, err, errlen);
	if (r)
		return r;
	bool fifo_sink =
	    (kinds & HOST_PATH_FIFO) && (flags & O_ACCMODE) == O_WRONLY && names_fifo(path, flags);
	if (fifo_sink) /* rule 4's exception; checked to be that FIFO once open */
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	do
		fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int e = errno;
		if (e == ENXIO) /* O_WRONLY on a FIFO with no reader, or a socket */
			return cannot_write(path, kinds, err, errlen);
		if (e == ELOOP && (flags & O_NOFOLLOW))
			snprintf(err, errlen, "%s: a symbolic link, refused here", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	r = host_path_check_open_file(fd, path, flags, fifo_sink ? HOST_PATH_FIFO : kinds, err,
				      errlen);
	if (!r && !((kinds & HOST_PATH_FIFO) && host_path_is_fifo(fd)))
		r = host_path_clear_nonblock(fd, path, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int host_path_read(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen)
{
	size_t n = 0, cap = 4096;
	char *b = NULL;
	int fd = host_path_open(path, O_RDONLY, 0, HOST_PATH_REGULAR, err, errlen), r = 0;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return fd;
	for (;;) {
		if (n + 1 >= cap || !b) {
			char *nb = n + 1 >= cap ? realloc(b, cap *= 2) : malloc(cap);
			if (!nb) {
				r = -ENOMEM;
				snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
				break;
			}
			b = nb;
		}
		ssize_t got = read(fd, b + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			r = -EFBIG;
			snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			break;
		}
	}
	close(fd);
	if (r) {
		free(b);
		return r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
