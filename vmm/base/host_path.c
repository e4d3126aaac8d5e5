/* host_path_open(): the rules of vmm/base/host_path.h. */
#include "vmm/base/host_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "vmm/base/parse.h"

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

static const char *kind_name(mode_t mode)
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

static unsigned kind_bit(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return HOST_PATH_REGULAR;
	case S_IFBLK:
		return HOST_PATH_BLOCK;
	case S_IFDIR:
		return HOST_PATH_DIR;
	default:
		return 0;
	}
}

/* "a regular file or a block device" for the kinds a use accepts. */
static void wanted_kinds(unsigned kinds, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} k[] = {{HOST_PATH_REGULAR, "a regular file"},
		 {HOST_PATH_BLOCK, "a block device"},
		 {HOST_PATH_DIR, "a directory"}};
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
static int check_open_file(int fd, const char *path, unsigned kinds, char *err, size_t errlen)
{
	struct stat st;
	struct statfs sfs;
	const char *pseudo;
	char want[64];

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
	if (!(kind_bit(st.st_mode) & kinds)) {
		wanted_kinds(kinds, want, sizeof(want));
		snprintf(err, errlen, "%s: %s, not %s", path, kind_name(st.st_mode), want);
		return -EINVAL;
	}
	return 0;
}

static int clear_nonblock(int fd, const char *path, char *err, size_t errlen)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return 0;
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
	if (kinds == HOST_PATH_DIR)
		flags |= O_DIRECTORY;
	do
		fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int e = errno;
		if (e == ENXIO) /* O_WRONLY on a FIFO with no reader, or a socket */
			snprintf(err, errlen, "%s: not a file that can be opened for writing (%s)",
				 path, strerror(e));
		else if (e == ELOOP && (flags & O_NOFOLLOW))
			snprintf(err, errlen, "%s: a symbolic link, refused here", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	r = check_open_file(fd, path, kinds, err, errlen);
	if (!r)
		r = clear_nonblock(fd, path, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
