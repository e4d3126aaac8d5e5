/* The I/O thread of one virtio device: an epoll loop over the queues' kick eventfds and the
 * backend's fds. One thread per device keeps devices independent (a slow disk never delays a
 * NIC) and lets every device callback run under one lock without contention from its peers. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "virtio/core/device.h"
#include "virtio/core/poll.h"
#include "vmm/base/log.h"

/* epoll data: queue kicks are 0..MAX_QUEUES-1, backend fds start here, the stop fd is last. */
#define TAG_FD_BASE 0x100u
#define TAG_STOP    0xffffu
#define TAG_PAUSE   0xfffeu

static int epoll_add(struct virtio_dev *dev, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};
	return epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int virtio_dev_add_fd(struct virtio_dev *dev, int fd, uint32_t events,
		      void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents))
{
	if (dev->nfds == VIRTIO_DEV_MAX_FDS)
		return -ENOSPC;
	int err = epoll_add(dev, fd, events, TAG_FD_BASE + (uint32_t)dev->nfds);
	if (err)
		return err;
	dev->fds[dev->nfds++] = (struct virtio_fd_handler){fd, events, ready};
	return 0;
}

int virtio_dev_mod_fd(struct virtio_dev *dev, int fd, uint32_t events)
{
	for (int i = 0; i < dev->nfds; i++) {
		if (dev->fds[i].fd != fd)
			continue;
		struct epoll_event ev = {.events = events, .data.u32 = TAG_FD_BASE + (uint32_t)i};
		if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
			return -errno;
		dev->fds[i].events = events;
		return 0;
	}
	return -ENOENT;
}

/* A kick only marks the queue: the queues are served together after the batch of events, by
 * virtio_dev_process_pending(), the one place that calls queue_notify(). */
static void serve_kick(struct virtio_dev *dev, uint16_t q)
{
	uint64_t count;
	if (read(dev->kick_fd[q], &count, sizeof(count)) < 0)
		return; /* spurious wake-up: another read drained it */
	virtio_dev_count(&dev->counters.kicks, count); /* the eventfd sums the kicks it got */
	if (virtio_dev_running(dev))
		dev->pending |= 1u << q;
}

static void serve(struct virtio_dev *dev, const struct epoll_event *ev)
{
	uint32_t tag = ev->data.u32;
	pthread_mutex_lock(&dev->lock);
	if (tag < dev->num_queues) {
		serve_kick(dev, (uint16_t)tag);
	} else if (tag >= TAG_FD_BASE && tag - TAG_FD_BASE < (uint32_t)dev->nfds) {
		struct virtio_fd_handler *h = &dev->fds[tag - TAG_FD_BASE];
		h->ready(dev, h->fd, ev->events);
	}
	pthread_mutex_unlock(&dev->lock);
}

static bool serve_pending(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	bool more = virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	return more;
}

/* The pause safe point: no callback running, no lock held. Finish the work in flight first, so
 * nothing touches guest memory until the resume. */
static void park(struct virtio_dev *dev)
{
	uint64_t count;

	if (read(dev->pause_fd, &count, sizeof(count)) < 0)
		return; /* spurious */
	pthread_mutex_lock(&dev->lock);
	if (dev->ops->quiesce)
		dev->ops->quiesce(dev);
	pthread_mutex_unlock(&dev->lock);
	pthread_mutex_lock(&dev->pause_lock);
	dev->parked = true;
	pthread_cond_broadcast(&dev->pause_cond);
	while (dev->pause_req)
		pthread_cond_wait(&dev->pause_cond, &dev->pause_lock);
	dev->parked = false;
	pthread_mutex_unlock(&dev->pause_lock);
}

static const struct sandbox_rule io_rules[] = {
    SB_ALLOW(SYS_epoll_wait),
    SB_ALLOW(SYS_epoll_pwait),
    SB_ALLOW(SYS_epoll_ctl),	 /* a device stops or resumes reading a backend fd */
    SB_ALLOW(SYS_read),		 /* eventfds: kicks, the stop and pause requests */
    SB_ALLOW(SYS_write),	 /* eventfds: irqfds */
    SB_ALLOW(SYS_clock_gettime), /* the polling window (poll.c), where the vDSO cannot */
    /* a throttled queue's wait (virtio/core/rate_limiter.h) */
    SB_ALLOW(SYS_timerfd_settime),
    /* interrupts raised without an irqfd: a level line (INTx, a restored ISR), an MSI sent
     * directly when routing failed */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE_STATUS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SIGNAL_MSI),
    /* virtio-pci: an MSI-X vector's route is programmed when it is first used (vmm/vm_pci_irq.c),
     * and INTx falls back to an irqfd */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_GSI_ROUTING),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQFD),
    /* the host console's terminal, asked for its size when a driver reads the config */
    SB_ARG_EQ(SYS_ioctl, 1, TIOCGWINSZ),
    SB_ARG_EQ(SYS_ioctl, 1, FIONBIO),
};
const struct sandbox_list virtio_io_sandbox = SANDBOX_LIST("virtio-io", io_rules);

static void *io_thread(void *arg)
{
	struct virtio_dev *dev = arg;
	char name[16];
	snprintf(name, sizeof(name), "io-%.12s", dev->name);
	pthread_setname_np(pthread_self(), name);
	const struct sandbox_list *lists[] = {&virtio_io_sandbox, dev->sandbox};
	if (sandbox_enter(name, lists, 2)) {
		log_error("%s: not serving without its sandbox", dev->name);
		return NULL;
	}
	struct virtio_poll poll;
	virtio_poll_init(&poll, dev);
	bool more = false;
	for (;;) {
		struct epoll_event events[16];
		/* Work left over from a budget: look at new events without sleeping, then go on.
		 * Otherwise poll a little (poll.h), then sleep. */
		int n = more ? epoll_wait(dev->epoll_fd, events, 16, 0)
			     : virtio_poll_wait(dev, &poll, &dev->lock, UINT32_MAX, dev->epoll_fd,
						events, 16);
		if (n < 0 && errno != EINTR) {
			log_error("%s: epoll_wait: %s", dev->name, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.u32 == TAG_STOP)
				return NULL;
			if (events[i].data.u32 == TAG_PAUSE)
				park(dev);
			else
				serve(dev, &events[i]);
		}
		more = serve_pending(dev);
	}
	return NULL;
}

int virtio_dev_start(struct virtio_dev *dev)
{
	int err = epoll_add(dev, dev->stop_fd, EPOLLIN, TAG_STOP);
	if (!err)
		err = epoll_add(dev, dev->pause_fd, EPOLLIN, TAG_PAUSE);
	for (uint16_t q = 0; !err && q < dev->num_queues; q++)
		err = epoll_add(dev, dev->kick_fd[q], EPOLLIN, q);
	if (!err)
		err = -pthread_create(&dev->thread, NULL, io_thread, dev);
	if (err) {
		log_error("%s: cannot start its I/O thread: %s", dev->name, strerror(-err));
		return err;
	}
	dev->thread_running = true;
	return 0;
}

void virtio_dev_pause(struct virtio_dev *dev)
{
	uint64_t one = 1;

	/* Seen by the serve pass in progress (without the lock): it ends after its budget. */
	atomic_store(&dev->paused, true);
	if (!dev->thread_running) {
		pthread_mutex_lock(&dev->lock);
		if (dev->ops->quiesce)
			dev->ops->quiesce(
			    dev); /* no I/O thread (tests): the caller's thread is safe */
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	pthread_mutex_lock(&dev->pause_lock);
	if (!dev->pause_req) {
		dev->pause_req = true;
		if (write(dev->pause_fd, &one, sizeof(one)) < 0)
			log_debug("%s: pause: %s", dev->name, strerror(errno));
	}
	while (!dev->parked)
		pthread_cond_wait(&dev->pause_cond, &dev->pause_lock);
	pthread_mutex_unlock(&dev->pause_lock);
}

void virtio_dev_resume(struct virtio_dev *dev)
{
	/* Cleared before the thread leaves park(): it serves the recorded kicks at once. */
	atomic_store(&dev->paused, false);
	pthread_mutex_lock(&dev->pause_lock);
	dev->pause_req = false;
	pthread_cond_broadcast(&dev->pause_cond);
	pthread_mutex_unlock(&dev->pause_lock);
	/* Kicks recorded meanwhile: the thread serves them as soon as park() returns. */
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
	if (!dev->initialized) {
		if (dev->ops && dev->ops->destroy)
			dev->ops->destroy(dev);
		return;
	}
	virtio_dev_resume(dev); /* a parked thread could not see the stop */
	if (dev->thread_running) {
		uint64_t one = 1;
		if (write(dev->stop_fd, &one, sizeof(one)) < 0)
			log_debug("%s: stop: %s", dev->name, strerror(errno));
		pthread_join(dev->thread, NULL);
		dev->thread_running = false;
	}
	if (dev->ops && dev->ops->destroy)
		dev->ops->destroy(dev);
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		close_fd(&dev->kick_fd[q]);
	close_fd(&dev->epoll_fd);
	close_fd(&dev->stop_fd);
	close_fd(&dev->pause_fd);
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->pause_lock);
	pthread_cond_destroy(&dev->pause_cond);
	dev->initialized = false;
}
