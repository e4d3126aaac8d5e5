/* The host file behind a virtio-blk disk: a raw image file or a block device, or a qcow2 image
 * (qcow2.h: then `sectors` is its virtual size and its requests go through d->qcow2).
 *
 * Opening decides the geometry the device reports (virtio 1.2 5.2.4): the capacity in 512-byte
 * sectors (a regular file whose size is not a multiple of 512 is rounded down: its tail is not
 * part of the disk) and the logical block size (512 for files, BLKSSZGET for block devices).
 *
 * cache=none opens the file with O_DIRECT. O_DIRECT needs buffers, lengths and offsets aligned to
 * what statx(STATX_DIOALIGN) reports; a guest may send anything aligned to 512 bytes only, so the
 * file is opened a second time without O_DIRECT and requests that are not aligned go through that
 * buffered descriptor (the kernel keeps the page cache coherent with direct I/O on the same
 * inode). Both descriptors reach the same inode, so one fdatasync() covers both.
 *
 * The synchronous helpers below move the whole range or fail: a short transfer is continued, a
 * transfer that makes no progress (end of file: the image shrank under us) is -EIO. */
#ifndef VIRTIO_BLK_DISK_H
#define VIRTIO_BLK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio/blk/options.h"

#define BLK_SECTOR_SIZE	 512u
#define BLK_SECTOR_SHIFT 9

/* Whether a qcow2 image's backing files are followed, and where they may be (qcow2.h, struct
 * qcow2_open_opts; --disk backing_files=, backing_dirs=). All zero: refused. */
struct blk_backing {
	bool on;
	char dirs[VIRTIO_BLK_BACKING_DIRS_MAX]; /* ':'-separated folders; "" for none */
};

struct blk_disk {
	char *path;	   /* for messages */
	int fd;		   /* O_DIRECT with cache=none */
	int fd_buffered;   /* the same file without O_DIRECT; == fd unless direct */
	bool ro;	   /* opened O_RDONLY */
	bool direct;	   /* cache=none */
	bool is_blockdev;  /* S_ISBLK */
	uint64_t sectors;  /* capacity in 512-byte sectors */
	uint32_t blk_size; /* logical block size, a power of two >= 512 */
	uint32_t dio_mem;  /* O_DIRECT buffer alignment */
	uint32_t dio_off;  /* O_DIRECT offset and length alignment */
	uint64_t dev, ino; /* identity of the file, for the default serial */

	/* qcow2 (issue 51) */
	enum virtio_blk_format format; /* as asked (format=), for a drive swap */
	bool unlocked_open;	       /* opened without the flock, not yet taken back */
	struct qcow2 *qcow2;	       /* a qcow2 image: requests translated or served by it */
	struct blk_backing backing;    /* as asked, for a drive swap */
};

/* Opens `path` (O_RDONLY when ro, else O_RDWR; O_DIRECT when direct), takes a flock (shared when
 * ro, exclusive otherwise) so two VMMs cannot write one image, and reads its geometry. Returns 0
 * or -errno after a log_error() naming the file and the reason. */
int blk_disk_open(struct blk_disk *d, const char *path, bool ro, bool direct);
/* blk_disk_open() without the flock: blk_disk_take_back() takes it later (a migration's
 * destination opens the disk while its source still holds the lock). */
int blk_disk_open_unlocked(struct blk_disk *d, const char *path, bool ro, bool direct);
/* Either of them with a format (format=): AUTO opens a file that starts with the qcow2 magic as
 * qcow2, RAW never looks, QCOW2 refuses anything else. The qcow2 layer does its own I/O through
 * the buffered descriptor; requests it translates (qcow2_map) use the descriptors as raw ones do.
 */
int blk_disk_open_as(struct blk_disk *d, const char *path, bool ro, bool direct, bool locked,
		     enum virtio_blk_format format);
/* blk_disk_open_as() with a qcow2 image's backing files followed as `backing` says (NULL: refused,
 * as by the others). */
int blk_disk_open_with(struct blk_disk *d, const char *path, bool ro, bool direct, bool locked,
		       enum virtio_blk_format format, const struct blk_backing *backing);
void blk_disk_close(struct blk_disk *d);

/* Hands the file's flock to another process that opens the same file next (a migration's
 * destination, on this host or on shared storage) while this one keeps its descriptors: a
 * writable disk's data is flushed to the file first (fdatasync), then the lock is dropped. Call
 * with no request in flight. Returns 0 or -errno (nothing dropped) after a log_error(). */
int blk_disk_hand_over(struct blk_disk *d);

/* Takes the lock blk_disk_hand_over() dropped again (the migration failed and the guest runs on
 * here), or the one blk_disk_open_unlocked() left (the source handed it over). Returns 0, or -errno
 * after a log_error(): another process holds the file now and this one must not write it. */
int blk_disk_take_back(struct blk_disk *d);

/* The descriptor a read or write of iov[0..n) at byte `off` should use: the O_DIRECT one when
 * every buffer address, every length and the offset meet its alignment, else the buffered one. */
int blk_disk_fd_for(const struct blk_disk *d, const struct iovec *iov, int n, uint64_t off);

/* Drops `bytes` from the front of the iovec array *iov / *n (adjusting the first kept entry). */
void blk_iov_advance(struct iovec **iov, int *n, size_t bytes);

/* Synchronous preadv2/pwritev2 of the whole of iov[0..n) at `off` on `fd`; `rwf` is passed to
 * pwritev2 (RWF_DSYNC for write-through). The iovec array is consumed (advanced). Returns 0,
 * -EIO on end of file, or -errno. */
int blk_disk_rw(int fd, struct iovec *iov, int n, uint64_t off, bool write, int rwf);

/* Deallocates [off, off+len) if the file system or device can (PUNCH_HOLE); a backend that
 * cannot is not an error, since discard is only a hint (5.2.6.2: the device MAY deallocate).
 * Returns 0 or -errno. */
int blk_disk_discard(const struct blk_disk *d, uint64_t off, uint64_t len);

/* Makes [off, off+len) read back as zeroes: PUNCH_HOLE when `unmap` is allowed, else (or if
 * that fails) ZERO_RANGE, else writing zeroes. Returns 0 or -errno. */
int blk_disk_write_zeroes(const struct blk_disk *d, uint64_t off, uint64_t len, bool unmap);

/* The default GET_ID string when no serial was given: derived from the file's device and inode
 * numbers, so it is stable across runs and distinct between images. id gets at most 20 bytes,
 * NUL-padded. */
void blk_disk_default_id(const struct blk_disk *d, char id[20]);

#endif
