/* virtio-balloon's side for the API thread: reading the state, a new target or statistics
 * interval. Each takes dev->lock; what must reach the driver (a config interrupt, the timer) is
 * left to the I/O thread, woken through the device's eventfd (balloon.c apply_requests()), so
 * this thread needs no interrupt or timer system call. See virtio/balloon/balloon.h. */
#include "virtio/balloon/internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

void virtio_balloon_get_info(struct virtio_dev *dev, struct virtio_balloon_info *info)
{
	struct vballoon *b = to_balloon(dev);

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&dev->lock);
	info->target_pages = le32toh(b->config.num_pages);
	info->actual_pages = le32toh(b->config.actual);
	info->ballooned_pages = b->ballooned;
	info->reported_bytes = b->reported_bytes;
	info->stats_interval_s = b->stats_interval_s;
	info->deflate_on_oom = b->opts.deflate_on_oom;
	info->free_page_reporting = b->opts.free_page_reporting;
	info->stats_seen = b->stats_seen;
	memcpy(info->stats, b->stats, sizeof(info->stats));
	memcpy(info->stat_valid, b->stat_valid, sizeof(info->stat_valid));
	pthread_mutex_unlock(&dev->lock);
}

/* Wakes the I/O thread to carry out a change (an eventfd write never blocks here). */
static void wake(struct vballoon *b)
{
	uint64_t one = 1;

	if (write(b->ctl_fd, &one, sizeof(one)) < 0)
		log_debug("virtio-balloon: eventfd write: %s", strerror(errno));
}

int virtio_balloon_set_target(struct virtio_dev *dev, uint64_t mib)
{
	struct vballoon *b = to_balloon(dev);

	if (mib > b->ram_pages / VIRTIO_BALLOON_PAGES_PER_MIB) /* no overflow: a u64 from the API */
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	b->config.num_pages = htole32((uint32_t)(mib * VIRTIO_BALLOON_PAGES_PER_MIB));
	b->opts.target_mib = mib;
	b->target_changed = true;
	pthread_mutex_unlock(&dev->lock);
	wake(b);
	return 0;
}

int virtio_balloon_set_stats_interval(struct virtio_dev *dev, uint32_t seconds)
{
	struct vballoon *b = to_balloon(dev);

	if (!b->opts.stats_interval_s)
		return -ENOTSUP;
	if (seconds == 0 || seconds > VIRTIO_BALLOON_MAX_STATS_S)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	b->stats_interval_s = seconds;
	b->interval_changed = true;
	pthread_mutex_unlock(&dev->lock);
	wake(b);
	return 0;
}
