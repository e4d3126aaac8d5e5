/* The real system calls behind struct vfio_ops. The paths are no paths from outside: the
 * container and group character devices (/dev/vfio/vfio, /dev/vfio/<group>) and sysfs files the
 * VMM builds from a checked PCI address (vfio_parse_pci_path()). host_path_open() refuses both
 * kinds by design (character devices, kernel pseudo file systems), so they are opened here and
 * listed in tests/integration/build/test_host_path_sites.py. */
#include "host/vfio/vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int sys_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int sys_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd) < 0 ? -errno : 0;
}

static int sys_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	int rc = ioctl(fd, req, arg);
	return rc < 0 ? -errno : rc;
}

static ssize_t sys_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
	(void)ctx;
	ssize_t n = pread(fd, buf, len, off);
	return n < 0 ? -errno : n;
}

static ssize_t sys_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
	(void)ctx;
	ssize_t n = pwrite(fd, buf, len, off);
	return n < 0 ? -errno : n;
}

static void *sys_mmap(void *ctx, size_t len, int prot, int fd, off_t off)
{
	(void)ctx;
	return mmap(NULL, len, prot, MAP_SHARED, fd, off);
}

static void sys_munmap(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	munmap(addr, len);
}

static ssize_t sys_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	(void)ctx;
	if (len == 0)
		return -EINVAL;
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static int sys_list_dir(void *ctx, const char *path, int (*fn)(void *arg, const char *name),
			void *arg)
{
	(void)ctx;
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(dir))) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = fn(arg, e->d_name);
	}
	closedir(dir);
	return rc;
}

const struct vfio_ops vfio_sys_ops = {
    .open = sys_open,
    .close = sys_close,
    .ioctl = sys_ioctl,
    .pread = sys_pread,
    .pwrite = sys_pwrite,
    .mmap = sys_mmap,
    .munmap = sys_munmap,
    .readlink = sys_readlink,
    .list_dir = sys_list_dir,
};
