/* Host file backend of virtio-blk: open, geometry, synchronous I/O, flush, discard, zeroing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/qcow2.h"

/* Conservative O_DIRECT alignment when statx() cannot tell (kernels before 6.1). */
#define DIO_ALIGN_DEFAULT 4096u

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Size in bytes and logical block size of a block device. */
static int blockdev_geometry(struct blk_disk *d, uint64_t *bytes)
{
	int lbs = 0;
	if (ioctl(d->fd, BLKGETSIZE64, bytes) < 0) {
		int err = -errno;
		log_error("disk %s: BLKGETSIZE64: %s", d->path, strerror(errno));
		return err;
	}
	if (ioctl(d->fd, BLKSSZGET, &lbs) < 0 || lbs < (int)BLK_SECTOR_SIZE || !is_pow2(lbs))
		lbs = BLK_SECTOR_SIZE;
	d->blk_size = (uint32_t)lbs;
	return 0;
}

/* The O_DIRECT alignment of the open file (statx STATX_DIOALIGN, Linux 6.1). */
static void dio_alignment(struct blk_disk *d)
{
	struct statx stx;
	d->dio_mem = DIO_ALIGN_DEFAULT;
	d->dio_off = DIO_ALIGN_DEFAULT;
	if (statx(d->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && is_pow2(stx.stx_dio_mem_align) &&
	    is_pow2(stx.stx_dio_offset_align)) {
		d->dio_mem = stx.stx_dio_mem_align;
		d->dio_off = stx.stx_dio_offset_align;
	}
	if (d->dio_off < d->blk_size)
		d->dio_off = d->blk_size;
}

static int read_geometry(struct blk_disk *d)
{
	struct stat st;
	uint64_t bytes;
	if (fstat(d->fd, &st) < 0) {
		int err = -errno;
		log_error("disk %s: fstat: %s", d->path, strerror(errno));
		return err;
	}
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->blk_size = BLK_SECTOR_SIZE;
	if (S_ISBLK(st.st_mode)) {
		d->is_blockdev = true;
		int r = blockdev_geometry(d, &bytes);
		if (r)
			return r;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		log_error("disk %s: not a regular file or a block device", d->path);
		return -EINVAL;
	}
	/* (a qcow2 image's file size is not the disk's: open_format() sets that) */
	if (bytes % BLK_SECTOR_SIZE &&
	    (d->format == VIRTIO_BLK_FORMAT_RAW || !qcow2_probe(d->fd_buffered)))
		log_warn("disk %s: size %llu is not a multiple of 512; the last %llu bytes are "
			 "not visible to the guest",
			 d->path, (unsigned long long)bytes,
			 (unsigned long long)(bytes % BLK_SECTOR_SIZE));
	d->sectors = bytes >> BLK_SECTOR_SHIFT;
	if (d->direct)
		dio_alignment(d);
	return 0;
}

/* host_path_open(): a regular file or a block device, never a FIFO, a character device or a
 * file of /proc (/proc/self/mem as a disk); -errno, logged. */
static int open_fd(const char *path, bool ro, bool direct)
{
	char err[512];
	int flags = (ro ? O_RDONLY : O_RDWR) | (direct ? O_DIRECT : 0);
	int fd =
	    host_path_open(path, flags, 0, HOST_PATH_REGULAR | HOST_PATH_BLOCK, err, sizeof(err));

	if (fd < 0)
		log_error("disk %s%s%s", err, ro ? " (opening it read-only)" : "",
			  direct && strstr(err, strerror(EINVAL)) ? " (with O_DIRECT: cache=none)"
								  : "");
	return fd;
}

static int lock(struct blk_disk *d)
{
	if (flock(d->fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		int err = -errno;
		log_error("disk %s: cannot lock it (%s): is another VMM using it?", d->path,
			  strerror(errno));
		return err;
	}
	return 0;
}

static int open_files(struct blk_disk *d, bool locked)
{
	d->fd = open_fd(d->path, d->ro, d->direct);
	if (d->fd < 0)
		return d->fd;
	int err = locked ? lock(d) : 0;
	if (err)
		return err;
	d->fd_buffered = d->fd;
	if (d->direct) {
		d->fd_buffered = open_fd(d->path, d->ro, false);
		if (d->fd_buffered < 0)
			return d->fd_buffered;
	}
	return 0;
}

/* A qcow2 image behind the file when the format says so or (AUTO) its magic does. */
static int open_format(struct blk_disk *d)
{
	char err[512] = "";
	if (d->format == VIRTIO_BLK_FORMAT_RAW ||
	    (d->format == VIRTIO_BLK_FORMAT_AUTO && !qcow2_probe(d->fd_buffered)))
		return 0;
	if (d->is_blockdev) {
		log_error("disk %s: qcow2 on a block device is not supported", d->path);
		return -ENOTSUP;
	}
	struct qcow2_open_opts o = {.ro = d->ro,
				    .backing_files = d->backing.on,
				    .backing_dirs = d->backing.dirs[0] ? d->backing.dirs : NULL,
				    .path = d->path};
	int r = qcow2_open(&d->qcow2, d->fd_buffered, &o, err, sizeof(err));
	if (r) {
		log_error("disk %s", err);
		return r;
	}
	d->sectors = qcow2_size(d->qcow2) >> BLK_SECTOR_SHIFT;
	d->blk_size = BLK_SECTOR_SIZE;
	log_debug("disk %s: qcow2, %llu MiB%s", d->path, (unsigned long long)(d->sectors >> 11),
		  d->ro ? ", read-only" : "");
	return 0;
}

static int open_disk(struct blk_disk *d, const char *path, bool ro, bool direct, bool locked,
		     enum virtio_blk_format format, const struct blk_backing *backing)
{
	memset(d, 0, sizeof(*d));
	if (backing)
		d->backing = *backing;
	d->fd = d->fd_buffered = -1;
	d->ro = ro;
	d->direct = direct;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	d->format = format;
	d->unlocked_open = !locked;
	int r = open_files(d, locked);
	if (!r)
		r = read_geometry(d);
	if (!r)
		r = open_format(d);
	if (r)
		blk_disk_close(d);
	return r;
}

int blk_disk_open(struct blk_disk *d, const char *path, bool ro, bool direct)
{
	return open_disk(d, path, ro, direct, true, VIRTIO_BLK_FORMAT_AUTO, NULL);
}

int blk_disk_open_unlocked(struct blk_disk *d, const char *path, bool ro, bool direct)
{
	return open_disk(d, path, ro, direct, false, VIRTIO_BLK_FORMAT_AUTO, NULL);
}

int blk_disk_open_as(struct blk_disk *d, const char *path, bool ro, bool direct, bool locked,
		     enum virtio_blk_format format)
{
	return open_disk(d, path, ro, direct, locked, format, NULL);
}

int blk_disk_open_with(struct blk_disk *d, const char *path, bool ro, bool direct, bool locked,
		       enum virtio_blk_format format, const struct blk_backing *backing)
{
	return open_disk(d, path, ro, direct, locked, format, backing);
}

void blk_disk_close(struct blk_disk *d)
{
	qcow2_close(d->qcow2); /* flushes its metadata through fd_buffered */
	d->qcow2 = NULL;
	if (d->fd_buffered >= 0 && d->fd_buffered != d->fd)
		close(d->fd_buffered);
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	d->path = NULL;
	d->fd = d->fd_buffered = -1;
}

int blk_disk_hand_over(struct blk_disk *d)
{
	int q = d->qcow2 ? qcow2_flush(d->qcow2) : 0;
	if (q) {
		log_error("disk %s: cannot flush its qcow2 metadata: %s", d->path, strerror(-q));
		return q;
	}
	if (!d->ro && fdatasync(d->fd) < 0) {
		int err = -errno;
		log_error("disk %s: cannot flush it: %s", d->path, strerror(errno));
		return err;
	}
	/* The lock belongs to the open file description of d->fd (fd_buffered has none). */
	if (flock(d->fd, LOCK_UN) < 0) {
		int err = -errno;
		log_error("disk %s: cannot unlock it: %s", d->path, strerror(errno));
		return err;
	}
	return 0;
}

int blk_disk_take_back(struct blk_disk *d)
{
	int r = lock(d);
	/* Opened without the lock (a migration's destination), a qcow2 image's tables may have
	 * changed since: the process that held the lock wrote them until it handed the disk over;
	 * this one has written nothing. (A source taking its disk back has nothing to re-read.) */
	bool reload = d->qcow2 && d->unlocked_open;
	d->unlocked_open = false;
	if (!r && reload && (r = qcow2_reload(d->qcow2)))
		log_error("disk %s: cannot read its qcow2 tables again: %s", d->path, strerror(-r));
	return r;
}

int blk_disk_fd_for(const struct blk_disk *d, const struct iovec *iov, int n, uint64_t off)
{
	if (!d->direct)
		return d->fd;
	if (off % d->dio_off)
		return d->fd_buffered;
	for (int i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % d->dio_mem || iov[i].iov_len % d->dio_off)
			return d->fd_buffered;
	return d->fd;
}

void blk_iov_advance(struct iovec **iov, int *n, size_t bytes)
{
	while (*n > 0 && bytes >= (*iov)->iov_len) {
		bytes -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0 && bytes) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + bytes;
		(*iov)->iov_len -= bytes;
	}
}

int blk_disk_rw(int fd, struct iovec *iov, int n, uint64_t off, bool write, int rwf)
{
	while (n > 0) {
		ssize_t got = write ? pwritev2(fd, iov, n, (off_t)off, rwf)
				    : preadv2(fd, iov, n, (off_t)off, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO; /* end of file: the image shrank under us */
		off += (uint64_t)got;
		blk_iov_advance(&iov, &n, (size_t)got);
	}
	return 0;
}

static int falloc(const struct blk_disk *d, int mode, uint64_t off, uint64_t len)
{
	return fallocate(d->fd, mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

int blk_disk_discard(const struct blk_disk *d, uint64_t off, uint64_t len)
{
	if (d->qcow2)
		return qcow2_discard(d->qcow2, off, len, false);
	int r = falloc(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	return r == -EOPNOTSUPP || r == -ENOSYS ? 0 : r;
}

static int write_zero_buffers(const struct blk_disk *d, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];
	while (len) {
		size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		struct iovec iov = {(void *)zeroes, n};
		int r = blk_disk_rw(d->fd_buffered, &iov, 1, off, true, 0);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

int blk_disk_write_zeroes(const struct blk_disk *d, uint64_t off, uint64_t len, bool unmap)
{
	int r = -EOPNOTSUPP;
	if (d->qcow2)
		return unmap ? qcow2_discard(d->qcow2, off, len, true)
			     : qcow2_write_zeroes(d->qcow2, off, len);
	if (unmap)
		r = falloc(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (r)
		r = falloc(d, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (r == -EOPNOTSUPP || r == -ENOSYS || r == -EINVAL)
		r = write_zero_buffers(d, off, len);
	return r;
}

void blk_disk_default_id(const struct blk_disk *d, char id[20])
{
	char buf[64];
	snprintf(buf, sizeof(buf), "vmm%llx-%llx", (unsigned long long)d->dev,
		 (unsigned long long)d->ino);
	memset(id, 0, 20);
	memcpy(id, buf, strnlen(buf, 20));
}
