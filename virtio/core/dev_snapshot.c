/* Saving and restoring a whole virtio device. See virtio/core/dev_snapshot.h. */
#include "virtio/core/dev_snapshot.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <string.h>

size_t virtio_dev_snapshot_size(struct virtio_dev *dev)
{
	size_t n = 0;

	if (dev->ops->save_size) {
		pthread_mutex_lock(&dev->lock);
		n = dev->ops->save_size(dev);
		pthread_mutex_unlock(&dev->lock);
	}
	if (n > VIRTIO_DEV_PRIV_LIMIT)
		n = VIRTIO_DEV_PRIV_LIMIT + 1; /* refused by the save: no huge allocation first */
	n += sizeof(struct virtio_dev_priv_hdr);
	return n > VIRTIO_DEV_PRIV_MAX ? n : VIRTIO_DEV_PRIV_MAX;
}

int virtio_dev_snapshot_save(struct virtio_dev *dev, struct virtio_dev_state *st, void *priv,
			     size_t cap, size_t *priv_len, char *err, size_t errlen)
{
	struct virtio_dev_priv_hdr hdr = {dev->device_id, dev->num_queues, 0, 0, 0};
	size_t len = 0;
	int r;

	if (!dev->ops->save) {
		snprintf(err, errlen, "%s cannot be snapshotted yet", dev->name);
		return -ENOTSUP;
	}
	if (cap < sizeof(hdr)) {
		snprintf(err, errlen, "%s: no room for its state", dev->name);
		return -ENOSPC;
	}
	if (cap > VIRTIO_DEV_PRIV_LIMIT + sizeof(hdr))
		cap = VIRTIO_DEV_PRIV_LIMIT + sizeof(hdr);
	pthread_mutex_lock(&dev->lock);
	r = virtio_dev_save(dev, st);
	if (r)
		snprintf(err, errlen, "%s: a queue has requests in flight (pause it first)",
			 dev->name);
	if (!r) {
		r = dev->ops->save(dev, (uint8_t *)priv + sizeof(hdr), cap - sizeof(hdr), &len);
		if (r == -ENOTSUP)
			snprintf(err, errlen, "%s cannot be snapshotted yet", dev->name);
		else if (r == -ENOSPC)
			snprintf(err, errlen,
				 "%s: its state is too large to snapshot (more than %u MiB)",
				 dev->name, (unsigned)(VIRTIO_DEV_PRIV_LIMIT >> 20));
		else if (r)
			snprintf(err, errlen, "%s: cannot save its state: %s", dev->name,
				 strerror(-r));
	}
	pthread_mutex_unlock(&dev->lock);
	if (r)
		return r;
	hdr.len = (uint32_t)len;
	memcpy(priv, &hdr, sizeof(hdr));
	*priv_len = sizeof(hdr) + len;
	return 0;
}

static int check_hdr(struct virtio_dev *dev, const void *priv, size_t priv_len, char *err,
		     size_t errlen)
{
	struct virtio_dev_priv_hdr hdr;

	if (priv_len < sizeof(hdr)) {
		snprintf(err, errlen, "%s: its saved state is truncated", dev->name);
		return -EINVAL;
	}
	memcpy(&hdr, priv, sizeof(hdr));
	if (hdr.device_id != dev->device_id || hdr.num_queues != dev->num_queues) {
		snprintf(err, errlen,
			 "%s: the snapshot has a device of type %u with %u queues here, the VM "
			 "built a device of type %u with %u queues",
			 dev->name, hdr.device_id, hdr.num_queues, dev->device_id, dev->num_queues);
		return -EINVAL;
	}
	if (hdr.reserved || hdr.reserved2 || hdr.len != priv_len - sizeof(hdr)) {
		snprintf(err, errlen, "%s: its saved state has a bad header", dev->name);
		return -EINVAL;
	}
	return 0;
}

/* The driver had the device running: do what its DRIVER_OK did, and look at every queue again. */
static int make_live(struct virtio_dev *dev)
{
	if (!virtio_dev_running(dev))
		return 0;
	if (dev->ops->activate) {
		int r = dev->ops->activate(dev);
		if (r < 0)
			return r;
	}
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (vq_is_active(&dev->vqs[q]))
			virtio_dev_kick(dev, q);
	}
	return 0;
}

/* The status and features a driver could have reached (2.1, 2.2, 3.1.1): only the status bits
 * virtio defines, DRIVER_OK only after FEATURES_OK, and accepted features the device would have
 * accepted (VERSION_1, a subset of the offer, the model's dependencies). */
static bool status_ok(struct virtio_dev *dev, const struct virtio_dev_state *st)
{
	const uint8_t known = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			      VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK |
			      VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED;
	uint64_t f = st->driver_features;

	if (st->status & ~known || f & ~dev->host_features)
		return false;
	if (!(st->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return !(st->status & VIRTIO_CONFIG_S_DRIVER_OK);
	return (f >> VIRTIO_F_VERSION_1 & 1) &&
	       (!dev->ops->features_ok || dev->ops->features_ok(dev, f));
}

static int restore_locked(struct virtio_dev *dev, const struct virtio_dev_state *st,
			  const void *model, size_t len, char *err, size_t errlen)
{
	if (!status_ok(dev, st)) {
		snprintf(err, errlen, "%s: invalid saved status 0x%x or features 0x%llx", dev->name,
			 st->status, (unsigned long long)st->driver_features);
		return -EINVAL;
	}
	int r = virtio_dev_restore(dev, st);

	if (r) {
		snprintf(err, errlen, "%s: invalid saved device or queue state (%d)", dev->name, r);
		return r < 0 ? r : -EINVAL;
	}
	if (!dev->ops->restore) {
		snprintf(err, errlen, "%s cannot be restored from a snapshot", dev->name);
		return -ENOTSUP;
	}
	r = dev->ops->restore(dev, model, len);
	if (r) {
		snprintf(err, errlen, "%s: invalid saved device state", dev->name);
		return r;
	}
	r = make_live(dev);
	if (r)
		snprintf(err, errlen, "%s: cannot start the restored device: %s", dev->name,
			 strerror(-r));
	return r;
}

int virtio_dev_snapshot_restore(struct virtio_dev *dev, const struct virtio_dev_state *st,
				const void *priv, size_t priv_len, char *err, size_t errlen)
{
	int r = check_hdr(dev, priv, priv_len, err, errlen);

	if (r)
		return r;
	if (st->num_queues != dev->num_queues) {
		snprintf(err, errlen, "%s: the snapshot has %u queues, the device %u", dev->name,
			 st->num_queues, dev->num_queues);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->lock);
	r = restore_locked(dev, st, (const uint8_t *)priv + sizeof(struct virtio_dev_priv_hdr),
			   priv_len - sizeof(struct virtio_dev_priv_hdr), err, errlen);
	pthread_mutex_unlock(&dev->lock);
	return r;
}
