/* virtio-mem's side for the API thread: the state, a new requested_size. Each takes dev->lock;
 * the config interrupt is left to the I/O thread, woken through the device's eventfd (mem.c
 * virtio_mem_poll()), as virtio-balloon does. See virtio/mem/mem.h. */
#include "virtio/mem/internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

void virtio_mem_get_info(struct virtio_dev *dev, struct virtio_mem_info *info)
{
	struct vmem *m = to_vmem(dev);

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&dev->lock);
	info->addr = le64toh(m->config.addr);
	info->region_size = m->opts.total;
	info->block_size = m->opts.block_size;
	info->slot_size = m->opts.slot_size;
	info->usable_size = le64toh(m->config.usable_region_size);
	info->plugged_size = le64toh(m->config.plugged_size);
	info->requested_size = le64toh(m->config.requested_size);
	info->nacks = m->nacks;
	info->errors = m->errors;
	info->busy = m->busy;
	pthread_mutex_unlock(&dev->lock);
}

int virtio_mem_set_requested(struct virtio_dev *dev, uint64_t bytes)
{
	struct vmem *m = to_vmem(dev);
	uint64_t one = 1, usable;

	if (bytes > m->opts.total || bytes % m->opts.block_size)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	m->config.requested_size = htole64(bytes);
	usable = vmem_usable_for(m, bytes);
	if (usable > le64toh(m->config.usable_region_size)) /* 5.15.4: grows, never shrinks here */
		m->config.usable_region_size = htole64(usable);
	m->requested_changed = true;
	pthread_mutex_unlock(&dev->lock);
	if (write(m->ctl_fd, &one, sizeof(one)) < 0)
		log_debug("virtio-mem: eventfd write: %s", strerror(errno));
	return 0;
}

void virtio_mem_for_each_plugged(struct virtio_dev *dev,
				 void (*fn)(void *opaque, uint64_t gpa, uint64_t len), void *opaque)
{
	struct vmem *m = to_vmem(dev);
	uint64_t from = 0, n;

	pthread_mutex_lock(&dev->lock);
	while ((n = vmem_next_run(m, &from)) != 0) {
		fn(opaque, le64toh(m->config.addr) + from * m->opts.block_size,
		   n * m->opts.block_size);
		from += n;
	}
	pthread_mutex_unlock(&dev->lock);
}
