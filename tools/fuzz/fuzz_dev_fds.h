/* One round of a device's I/O thread, for fuzz targets without one: calls the ready handler of
 * every registered backend fd that is readable now (timerfds, eventfds, io_uring completions),
 * with the device lock held, as virtio/core/io_thread.c does. */
#ifndef TOOLS_FUZZ_FUZZ_DEV_FDS_H
#define TOOLS_FUZZ_FUZZ_DEV_FDS_H

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>

#include "virtio/core/device.h"

static inline void fz_dev_run_fds(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	for (int i = 0; i < dev->nfds; i++) {
		struct pollfd p = {.fd = dev->fds[i].fd, .events = POLLIN};
		if (poll(&p, 1, 0) == 1)
			dev->fds[i].ready(dev, dev->fds[i].fd, EPOLLIN);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* A spurious wakeup of every non-blocking backend fd, ready or not, as epoll may give after another
 * reader drained it: a timer's handler runs before (or without) its expiry. */
static inline void fz_dev_wake_fds(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	for (int i = 0; i < dev->nfds; i++) {
		int fl = fcntl(dev->fds[i].fd, F_GETFL);
		if (fl >= 0 && fl & O_NONBLOCK)
			dev->fds[i].ready(dev, dev->fds[i].fd, EPOLLIN);
	}
	pthread_mutex_unlock(&dev->lock);
}

#endif
