/* virtio-fs (virtio 1.2 5.11) served by a vhost-user back-end (virtiofsd): the VMM owns the
 * config space (tag, number of request queues) and hands every queue to the back-end at
 * DRIVER_OK; the guest's kicks reach the back-end straight from the ioeventfds (the device's kick
 * eventfds are passed as the rings' kick fds and the I/O thread does not read them), and the
 * back-end's used-buffer signals come back on one call eventfd per queue that the I/O thread
 * turns into the transport's interrupt. The VMM never reads a request.
 *
 * The back-end dying: a request to it fails, or the health check (a 1 s timer on the I/O
 * thread) sees the socket hung up; the device fails (DEVICE_NEEDS_RESET) and the VMM carries
 * on. At the driver's next DRIVER_OK the device connects again (a restarted back-end on the
 * same socket) and hands the queues over afresh.
 *
 * Guest RAM must be shared (guest_mem_alloc_shared()): the back-end maps it from the memfd. */
#ifndef VIRTIO_FS_H
#define VIRTIO_FS_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"

#define VIRTIO_FS_TAG_MAX	     36 /* bytes of struct virtio_fs_config's tag */
#define VIRTIO_FS_MAX_REQUEST_QUEUES (VIRTIO_DEV_MAX_QUEUES - 1)
#define VIRTIO_FS_DEFAULT_QSIZE	     1024

struct virtio_fs_opts {
	char tag[VIRTIO_FS_TAG_MAX + 1]; /* what the guest mounts: mount -t virtiofs TAG /mnt */
	char socket[108];		 /* the back-end's vhost-user socket */
	uint16_t num_request_queues;	 /* 1 by default */
	uint16_t queue_size;		 /* VIRTIO_FS_DEFAULT_QSIZE by default, a power of two */
};

/* Parses "tag=NAME,socket=PATH[,num-queues=N,queue-size=N]" (Cloud Hypervisor's --fs; the
 * config file's num_queues and queue_size are the same fields). Returns 0 or -EINVAL with a
 * message in err. */
int virtio_fs_opts_parse(const char *arg, struct virtio_fs_opts *o, char *err, size_t errlen);

/* The same from items (base/options.h): the string's keys with its checks and messages (a
 * record's values may hold commas). *o is written only on success. */
struct opt_items;
int virtio_fs_opts_from_items(const struct opt_items *items, struct virtio_fs_opts *o, char *err,
			      size_t errlen);
/* Appends `o` to `out` as the items virtio_fs_opts_from_items() makes it again from: tag and
 * socket, then the queues' number and size when they are not the defaults. 0 or -ENOMEM. */
int virtio_fs_opts_to_items(const struct virtio_fs_opts *o, struct opt_items *out);

/* Connects to the back-end (handshake within timeout_ms) and describes the device; its
 * features are what the back-end offers of those the VMM can pass on. Returns 0 or -errno
 * (logged, with the back-end's socket). */
int virtio_fs_create(struct virtio_dev **out, const struct virtio_fs_opts *o, int timeout_ms);

/* After virtio_dev_init(): registers the call eventfds and the health timer with the I/O
 * thread. Returns 0 or -errno. */
int virtio_fs_attach(struct virtio_dev *dev);

#endif
