/* virtio-blk device model (virtio 1.2 section 5.2) over a raw image file or a block device.
 *
 * One request queue of up to 256 entries, or num-queues=N (up to 8) with VIRTIO_BLK_F_MQ, each
 * queue served by its own I/O thread (a framework queue group) with its own io_uring and request
 * slots. Offered features: SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH,
 * GET_ID (always available in 1.2), RO for a read-only disk, DISCARD and WRITE_ZEROES with
 * discard=on (and not ro), plus the ring features INDIRECT_DESC, EVENT_IDX and RING_PACKED
 * (VERSION_1 is added by the framework).
 *
 * Requests (5.2.6): a 16-byte struct virtio_blk_outhdr (read as a byte stream, split any way),
 * the data, and the status in the LAST device-writable byte. Reads and writes go to the host
 * file zero-copy (guest buffers mapped to iovecs) through io_uring with up to 64 requests in
 * flight, or synchronously (io.h). Decisions, all documented at the code:
 *   - a chain with fewer than 16 readable bytes or no writable byte cannot carry a request or
 *     its status: the driver is broken, the device fails (DEVICE_NEEDS_RESET, as QEMU does);
 *   - data length not a multiple of 512, or a range past the capacity: VIRTIO_BLK_S_IOERR;
 *   - writes, discards and write-zeroes on a read-only disk: IOERR, the file is never touched;
 *   - used len = data bytes the device wrote (reads that succeeded, GET_ID) + 1 status byte; a
 *     failed read reports 1;
 *   - without VIRTIO_BLK_F_FLUSH negotiated, writes are write-through (RWF_DSYNC), since the
 *     driver has no way to flush (5.2.6.2).
 *
 * Life cycle: virtio_blk_create() opens the disk, fills a struct virtio_dev and calls
 * virtio_dev_init() with guest memory, and registers the io_uring completion eventfd with the
 * device's I/O thread. The caller attaches a transport, then virtio_dev_start() (tests instead call
 * virtio_dev_process_pending() after a kick). virtio_dev_destroy(dev) followed by free(dev) tears
 * everything down and frees the device (it is one allocation that starts with its struct
 * virtio_dev; blk_test.h has both in one call for tests). */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include "base/guest_mem.h"
#include "virtio/blk/options.h"
#include "virtio/core/device.h"

#define VIRTIO_BLK_QUEUE_SIZE	    256u
#define VIRTIO_BLK_MAX_QUEUES	    8u	       /* num-queues=1..8 (5.2.3 VIRTIO_BLK_F_MQ) */
#define VIRTIO_BLK_DEPTH	    64u	       /* requests in flight */
#define VIRTIO_BLK_SIZE_MAX	    (1u << 20) /* largest single segment the driver may use */
#define VIRTIO_BLK_DISCARD_MAX_SEG  8u	       /* segments per DISCARD request */
#define VIRTIO_BLK_WZ_MAX_SEG	    8u	       /* segments per WRITE_ZEROES request */
#define VIRTIO_BLK_DISCARD_MAX_SECT (1u << 22) /* 2 GiB per discard segment */
#define VIRTIO_BLK_WZ_MAX_SECT	    (1u << 16) /* 32 MiB per write-zeroes segment (may be written) */

/* Opens opts->path and builds an initialised virtio-blk device over guest memory `mem`. On
 * success *out is the device (not started, no transport yet). Returns 0 or -errno after a
 * log_error() naming the file. */
/* What a virtio-blk I/O thread calls (host/sandbox/sandbox.h): a thread that starts one later,
 * while the VM runs (vmm/vm/hotplug.h), must allow it too. */
extern const struct sandbox_list blk_sandbox;

int virtio_blk_create(struct virtio_dev **out, const struct virtio_blk_opts *opts,
		      const struct guest_mem *mem);

/* Puts the file at `path` behind a running disk (Firecracker's PATCH /drives path_on_host): opened
 * with the disk's read-only and cache settings and the same checks as at start (flock, geometry),
 * then swapped in while the device is paused at its safe point (no request in flight), and the
 * driver told through a configuration-change interrupt (the capacity may differ). The logical
 * block size must stay the same. `dev` must be a virtio-blk device. Call from a control thread,
 * without dev->lock. Returns 0; or -errno with the old file still in place (-EINVAL for another
 * block size; the open failure was logged). */
int virtio_blk_replace_disk(struct virtio_dev *dev, const char *path);

/* The backing files of the qcow2 images virtio_blk_replace_disk() opens from now on: followed
 * or not (`on`), beneath their images' folders or the ':'-separated folders `dirs` (--disk
 * backing_files=, backing_dirs=; qcow2.h). The file open now is not opened again. A live fork
 * calls it before it moves a disk to an overlay (vmm/api/control_fork.c). Control thread.
 * Returns 0, -ENAMETOOLONG (dirs too long: nothing changed) or -ENODEV (not a disk). */
int virtio_blk_set_backing(struct virtio_dev *dev, bool on, const char *dirs);

/* The running disk's file: its path (the device's, valid until its file changes), its size in
 * bytes as the guest sees it, whether it is a qcow2 image, and whether format=raw was asked (an
 * overlay put behind it would be read as raw). A live fork's disk snapshot needs them
 * (vmm/snapshot/fork.h). Returns 0 or -ENODEV. */
int virtio_blk_file(struct virtio_dev *dev, const char **path, uint64_t *bytes, bool *qcow2,
		    bool *forced_raw);

/* Changes the buckets of the disk's rate limiter that `p` names, at run time (PATCH /drives
 * rate_limiter; virtio/core/rate_limiter.h: a changed bucket starts full, size 0 turns it off,
 * a bucket not named stays as it is); *now (may be NULL) gets the configuration in force
 * after it. A queue waiting on the old limit is served again at once. Any thread, without
 * dev->lock. Returns 0, -EINVAL (bad bucket; nothing changed) or -ENODEV (not a disk). */
int virtio_blk_patch_rate_limiter(struct virtio_dev *dev, const struct rate_limiter_patch *p,
				  struct rate_limiter_cfg *now);

/* blk_disk_hand_over() and blk_disk_take_back() (disk.h) of the disk behind `dev`, for a
 * migration: its destination opens and locks the same file while this VMM, paused, keeps the
 * device. The device must be paused (vm_pause()), so that no request is in flight. Returns 0,
 * -ENODEV (not an in-process virtio-blk device) or the disk's -errno (logged). */
int virtio_blk_hand_over(struct virtio_dev *dev);
int virtio_blk_take_back(struct virtio_dev *dev);

#endif
