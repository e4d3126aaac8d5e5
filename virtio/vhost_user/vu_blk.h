/* vhost-user-blk: a virtio-blk device (virtio 1.2 5.2) whose request queues a vhost-user
 * back-end serves (qemu-storage-daemon's vhost-user-blk export, SPDK). The config space
 * (capacity, seg_max, blk_size, topology, discard and write-zeroes limits) comes from the
 * back-end with GET_CONFIG, so the back-end must offer the CONFIG protocol feature; the VMM sets
 * num_queues (the queues it hands over). The rest is the shared vhost-user device
 * (vu_device.h): hand-over at DRIVER_OK, calls relayed as interrupts, reset, reconnect only with
 * drained rings.
 * Its option string: vu_opts.h. */
#ifndef VIRTIO_VHOST_USER_BLK_H
#define VIRTIO_VHOST_USER_BLK_H

#include <linux/virtio_blk.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/vhost_user/vu_opts.h"

/* The config bytes asked of the back-end: every field up to the write-zeroes ones (5.2.4).
 * Later fields (secure erase, zoned) belong to features this device does not pass on, and an
 * older back-end refuses a GET_CONFIG longer than its own struct. */
#define VU_BLK_CONFIG_BYTES 60u

/* Device features a back-end may serve through this device (5.2.3). Not passed on: CONFIG_WCE
 * (the config space is read-only here), SECURE_ERASE and ZONED (their config fields are not
 * read), the legacy BARRIER and SCSI. */
#define VU_BLK_PASS_FEATURES                                                                       \
	(1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |                            \
	 1ull << VIRTIO_BLK_F_GEOMETRY | 1ull << VIRTIO_BLK_F_RO | 1ull << VIRTIO_BLK_F_BLK_SIZE | \
	 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_TOPOLOGY | 1ull << VIRTIO_BLK_F_MQ |    \
	 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES)

/* The back-end's config space and feature offer, made safe to show the guest (a pure function
 * of its input; tools/fuzz/fuzz_vu_config.c drives it). `*features` (the back-end's offer masked
 * with VU_BLK_PASS_FEATURES) loses every feature whose config field is out of the range 5.2.4
 * allows or a guest takes (blk_size not a power of two in 512..4096, seg_max 0, size_max below
 * 4096, a discard or write-zeroes limit 0, physical_block_exp above 15), and the fields of
 * features not kept are zeroed; seg_max is clamped to `qsize` - 2 (the VMM's queue size: a
 * header, the segments and a status per chain); num_queues is set to `nq`. Needs nq <= 1 or
 * VIRTIO_BLK_F_MQ: returns -EINVAL with a reason in err when more queues are asked for than the
 * offer allows, else 0. */
int vu_blk_config_sanitize(struct virtio_blk_config *c, uint64_t *features, unsigned nq,
			   uint16_t qsize, char *err, size_t errlen);

/* Connects to the back-end, reads its config space, describes the device. Returns 0 or -errno
 * (logged, with the back-end's socket). */
int vu_blk_create(struct virtio_dev **out, const struct vu_opts *o, int timeout_ms);

#endif
