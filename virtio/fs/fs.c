/* virtio-fs over vhost-user (virtio 1.2 5.11; QEMU docs/interop/vhost-user.rst): see fs.h. The
 * hand-over of the rings, the call relay, reset and reconnect are the shared vhost-user device's
 * (virtio/vhost_user/vu_device.h); this file adds the config space. */
#include "virtio/fs/fs.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "virtio/vhost_user/vu_device.h"

struct fs_dev {
	struct vu_device vd; /* first: the block is freed as the virtio_dev */
	struct virtio_fs_config config;
	struct virtio_fs_opts opts;
};

static struct fs_dev *fs_alloc(const struct virtio_fs_opts *o, int timeout_ms)
{
	struct fs_dev *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	char label[80];
	snprintf(label, sizeof(label), "virtio-fs %s", o->tag);
	vu_device_init(&fs->vd, o->socket, label, timeout_ms);
	fs->opts = *o;
	/* 5.11.4: tag (NUL padded, not terminated) and the request queue count, little endian */
	memcpy(fs->config.tag, o->tag, strnlen(o->tag, VIRTIO_FS_TAG_MAX));
	fs->config.num_request_queues = htole32(o->num_request_queues);
	return fs;
}

int virtio_fs_create(struct virtio_dev **out, const struct virtio_fs_opts *o, int timeout_ms)
{
	struct fs_dev *fs = fs_alloc(o, timeout_ms);
	if (!fs)
		return -ENOMEM;
	unsigned nq = 1u + o->num_request_queues; /* hiprio + requests */
	int err = vu_device_connect(&fs->vd, nq);
	if (err) {
		log_error("--fs tag=%s: %s", o->tag,
			  fs->vd.fe.error[0] ? fs->vd.fe.error : strerror(-err));
		vu_device_free(&fs->vd);
		return err;
	}
	vu_device_describe(&fs->vd, nq, o->queue_size, VU_DEVICE_RING_FEATURES, 0, &vu_device_ops);
	struct virtio_dev *d = &fs->vd.dev;
	d->name = "vhost-user virtio-fs";
	d->device_id = VIRTIO_ID_FS;
	d->config = &fs->config;
	d->config_len = sizeof(fs->config);
	*out = d;
	return 0;
}

int virtio_fs_attach(struct virtio_dev *dev)
{
	return vu_device_attach(dev);
}
