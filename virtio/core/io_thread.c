/* The I/O threads of one virtio device: an epoll loop over the queues' kick eventfds and the
 * backend's fds. One thread per device keeps devices independent (a slow disk never delays a
 * NIC) and lets every device callback run under one lock without contention from its peers.
 * A multiqueue device declares queue groups: one thread (epoll set, lock) per group, so its
 * queues are served in parallel (locking rules at the top of device.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/device.h"
#include "virtio/core/group.h"
#include "virtio/core/poll.h"

/* epoll data: queue kicks are 0..MAX_QUEUES-1, backend fds start here, the stop fd is last. */
#define TAG_FD_BASE 0x100u
#define TAG_STOP    0xffffu
#define TAG_PAUSE   0xfffeu

static int epoll_add(int epoll_fd, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};
	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int virtio_dev_add_group_fd(struct virtio_dev *dev, unsigned group, int fd, uint32_t events,
			    void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents))
{
	if (dev->nfds == VIRTIO_DEV_MAX_FDS)
		return -ENOSPC;
	if (group >= virtio_dev_groups(dev))
		return -EINVAL;
	int err =
	    epoll_add(dev->groups[group].epoll_fd, fd, events, TAG_FD_BASE + (uint32_t)dev->nfds);
	if (err)
		return err;
	dev->fds[dev->nfds++] = (struct virtio_fd_handler){fd, events, ready, (uint8_t)group};
	return 0;
}

int virtio_dev_add_fd(struct virtio_dev *dev, int fd, uint32_t events,
		      void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents))
{
	return virtio_dev_add_group_fd(dev, 0, fd, events, ready);
}

int virtio_dev_mod_fd(struct virtio_dev *dev, int fd, uint32_t events)
{
	for (int i = 0; i < dev->nfds; i++) {
		if (dev->fds[i].fd != fd)
			continue;
		struct epoll_event ev = {.events = events, .data.u32 = TAG_FD_BASE + (uint32_t)i};
		if (epoll_ctl(dev->groups[dev->fds[i].group].epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
			return -errno;
		dev->fds[i].events = events;
		return 0;
	}
	return -ENOENT;
}

/* A kick only marks the queue: the queues are served together after the batch of events, by
 * virtio_group_process_pending(), the one place that calls queue_notify(). */
static void serve_kick(struct virtio_dev *dev, uint16_t q)
{
	uint64_t count;
	if (read(dev->kick_fd[q], &count, sizeof(count)) < 0)
		return; /* spurious wake-up: another read drained it */
	virtio_dev_count(&dev->counters.kicks, count); /* the eventfd sums the kicks it got */
	if (virtio_dev_running(dev))
		atomic_fetch_or(&dev->pending, 1u << q);
}

/* The group's lock held around one callback; what it defers is carried out by the caller. */
static void serve(struct virtio_dev *dev, unsigned g, const struct epoll_event *ev)
{
	uint32_t tag = ev->data.u32;
	struct virtio_group *grp = &dev->groups[g];
	pthread_mutex_lock(grp->lock);
	if (tag < dev->num_queues) {
		serve_kick(dev, (uint16_t)tag);
	} else if (tag >= TAG_FD_BASE && tag - TAG_FD_BASE < (uint32_t)dev->nfds) {
		struct virtio_fd_handler *h = &dev->fds[tag - TAG_FD_BASE];
		h->ready(dev, h->fd, ev->events);
	}
	pthread_mutex_unlock(grp->lock);
}

static bool serve_pending(struct virtio_dev *dev, unsigned g)
{
	pthread_mutex_lock(dev->groups[g].lock);
	bool more = virtio_group_process_pending(dev, g);
	pthread_mutex_unlock(dev->groups[g].lock);
	return more;
}

/* Finishes group g's work in flight before a pause (ops->quiesce_group, or ops->quiesce on the
 * first group). Group lock held. */
static void quiesce_group(struct virtio_dev *dev, unsigned g)
{
	if (dev->ops->quiesce_group)
		dev->ops->quiesce_group(dev, g);
	else if (dev->ops->quiesce && g == 0)
		dev->ops->quiesce(dev);
}

/* The pause safe point: no callback running, no lock held. Finish the work in flight first, so
 * nothing touches guest memory until the resume. Returns false when the device is destroyed
 * while parked: the thread ends at once, serving nothing. */
static bool park(struct virtio_dev *dev, unsigned g)
{
	struct virtio_group *grp = &dev->groups[g];
	uint64_t count;

	if (read(grp->pause_fd, &count, sizeof(count)) < 0)
		return true; /* spurious */
	virtio_group_enter(dev, g);
	pthread_mutex_lock(grp->lock);
	quiesce_group(dev, g);
	pthread_mutex_unlock(grp->lock);
	virtio_group_leave();
	virtio_group_flush(dev, grp); /* the completions' interrupts, before parking */
	pthread_mutex_lock(&dev->pause_lock);
	grp->parked = true;
	pthread_cond_broadcast(&dev->pause_cond);
	while (dev->pause_req && !dev->stopping)
		pthread_cond_wait(&dev->pause_cond, &dev->pause_lock);
	grp->parked = false;
	bool go_on = !dev->stopping;
	pthread_mutex_unlock(&dev->pause_lock);
	return go_on;
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
    /* virtio-pci: an MSI-X vector's route is programmed when it is first used
     * (vmm/vm/vm_pci_irq.c), and INTx falls back to an irqfd */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_GSI_ROUTING),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQFD),
    /* the host console's terminal, asked for its size when a driver reads the config */
    SB_ARG_EQ(SYS_ioctl, 1, TIOCGWINSZ),
    SB_ARG_EQ(SYS_ioctl, 1, FIONBIO),
};
const struct sandbox_list virtio_io_sandbox = SANDBOX_LIST("virtio-io", io_rules);

/* What one I/O thread serves: group `g` of `dev`. */
struct io_thread_arg {
	struct virtio_dev *dev;
	unsigned g;
};

/* One batch of events, then one pass over the pending queues; interrupts the callbacks deferred
 * are raised after it. Returns false when the thread must stop; *more: work left over. */
static bool serve_batch(struct virtio_dev *dev, unsigned g, struct virtio_poll *poll, bool *more)
{
	struct virtio_group *grp = &dev->groups[g];
	struct epoll_event events[16];
	/* Work left over from a budget: look at new events without sleeping, then go on.
	 * Otherwise poll the group's queues a little (poll.h), then sleep. */
	int n =
	    *more ? epoll_wait(grp->epoll_fd, events, 16, 0)
		  : virtio_poll_wait(dev, poll, grp->lock, grp->queues, grp->epoll_fd, events, 16);
	if (n < 0 && errno != EINTR) {
		log_error("%s: epoll_wait: %s", dev->name, strerror(errno));
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (events[i].data.u32 == TAG_STOP)
			return false;
		if (events[i].data.u32 == TAG_PAUSE) {
			virtio_poll_release(dev, poll, grp->lock); /* kicks on while parked */
			if (!park(dev, g))
				return false;
			continue;
		}
		virtio_group_enter(dev, g);
		serve(dev, g, &events[i]);
		virtio_group_leave();
	}
	virtio_group_enter(dev, g);
	*more = serve_pending(dev, g);
	virtio_group_leave();
	virtio_group_flush(dev, &dev->groups[g]);
	return true;
}

static void *io_thread(void *p)
{
	struct io_thread_arg arg = *(struct io_thread_arg *)p;
	struct virtio_dev *dev = arg.dev;
	char name[16];
	free(p);
	if (virtio_dev_groups(dev) > 1)
		snprintf(name, sizeof(name), "io%u-%.10s", arg.g, dev->name);
	else
		snprintf(name, sizeof(name), "io-%.12s", dev->name);
	pthread_setname_np(pthread_self(), name);
	const struct sandbox_list *lists[] = {&virtio_io_sandbox, dev->sandbox};
	if (sandbox_enter(name, lists, 2)) {
		log_error("%s: not serving without its sandbox", dev->name);
		return NULL;
	}
	struct virtio_poll poll;
	virtio_poll_init(&poll, dev, dev->groups[arg.g].queues);
	if (dev->external_queues)
		poll.max_ns = 0; /* the rings are the back-end's: never watch them (poll.h) */
	bool more = false;
	while (serve_batch(dev, arg.g, &poll, &more))
		;
	return NULL;
}

/* Every CPU of the list must exist and be allowed to this process: said clearly now rather than
 * as an EINVAL from pthread_create. */
static int check_cpus(const struct virtio_dev *dev)
{
	cpu_set_t allowed;
	if (!dev->iothread_cpus.n)
		return 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	for (unsigned i = 0; i < dev->iothread_cpus.n; i++) {
		unsigned cpu = dev->iothread_cpus.cpu[i];
		if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
			log_error("%s: iothread-cpus: CPU %u does not exist or is not available to "
				  "this process (%d CPUs usable)",
				  dev->name, cpu, CPU_COUNT(&allowed));
			return -EINVAL;
		}
	}
	return 0;
}

/* Creates group g's thread, pinned (before its sandbox exists) to its CPU from the list. */
static int start_group(struct virtio_dev *dev, unsigned g)
{
	struct virtio_group *grp = &dev->groups[g];
	int err = epoll_add(grp->epoll_fd, grp->stop_fd, EPOLLIN, TAG_STOP);
	if (!err)
		err = epoll_add(grp->epoll_fd, grp->pause_fd, EPOLLIN, TAG_PAUSE);
	for (uint16_t q = 0; !err && q < dev->num_queues; q++) {
		if ((grp->queues & (1u << q)) && !dev->external_queues)
			err = epoll_add(grp->epoll_fd, dev->kick_fd[q], EPOLLIN, q);
	}
	struct io_thread_arg *arg = malloc(sizeof(*arg));
	if (!err && !arg)
		err = -ENOMEM;
	if (err) {
		free(arg);
		return err;
	}
	*arg = (struct io_thread_arg){dev, g};
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (dev->iothread_cpus.n) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(dev->iothread_cpus.cpu[g % dev->iothread_cpus.n], &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	err = -pthread_create(&grp->thread, &attr, io_thread, arg);
	pthread_attr_destroy(&attr);
	if (err)
		free(arg);
	else
		grp->thread_running = true;
	return err;
}

static void stop_groups(struct virtio_dev *dev);

int virtio_dev_start(struct virtio_dev *dev)
{
	int err = check_cpus(dev);
	for (unsigned g = 0; !err && g < virtio_dev_groups(dev); g++)
		err = start_group(dev, g);
	if (err) {
		log_error("%s: cannot start its I/O threads: %s", dev->name, strerror(-err));
		stop_groups(dev);
		return err;
	}
	return 0;
}

static bool all_parked(const struct virtio_dev *dev)
{
	for (unsigned g = 0; g < virtio_dev_groups(dev); g++) {
		if (dev->groups[g].thread_running && !dev->groups[g].parked)
			return false;
	}
	return true;
}

/* No I/O thread (tests): the caller's thread is safe to quiesce every group itself. */
static void quiesce_here(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	for (unsigned g = 0; g < virtio_dev_groups(dev); g++) {
		if (virtio_dev_groups(dev) > 1)
			pthread_mutex_lock(dev->groups[g].lock);
		quiesce_group(dev, g);
		if (virtio_dev_groups(dev) > 1)
			pthread_mutex_unlock(dev->groups[g].lock);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_dev_pause(struct virtio_dev *dev)
{
	uint64_t one = 1;

	/* Seen by the serve pass in progress (without the lock): it ends after its budget. */
	atomic_store(&dev->paused, true);
	if (!dev->groups[0].thread_running) {
		quiesce_here(dev);
		return;
	}
	pthread_mutex_lock(&dev->pause_lock);
	if (!dev->pause_req) {
		dev->pause_req = true;
		for (unsigned g = 0; g < virtio_dev_groups(dev); g++) {
			if (write(dev->groups[g].pause_fd, &one, sizeof(one)) < 0)
				log_debug("%s: pause: %s", dev->name, strerror(errno));
		}
	}
	while (!all_parked(dev))
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

/* Stops and joins every group's thread. */
static void stop_groups(struct virtio_dev *dev)
{
	for (unsigned g = 0; g < virtio_dev_groups(dev); g++) {
		struct virtio_group *grp = &dev->groups[g];
		if (!grp->thread_running)
			continue;
		uint64_t one = 1;
		if (write(grp->stop_fd, &one, sizeof(one)) < 0)
			log_debug("%s: stop: %s", dev->name, strerror(errno));
		pthread_join(grp->thread, NULL);
		grp->thread_running = false;
	}
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
	if (!dev->initialized) {
		if (dev->ops && dev->ops->destroy)
			dev->ops->destroy(dev);
		return;
	}
	/* A parked thread ends without serving the kicks recorded while paused: the guest may run
	 * on elsewhere (a local migration's destination shares this RAM). */
	pthread_mutex_lock(&dev->pause_lock);
	dev->stopping = true;
	pthread_cond_broadcast(&dev->pause_cond);
	pthread_mutex_unlock(&dev->pause_lock);
	stop_groups(dev);
	if (dev->ops && dev->ops->destroy)
		dev->ops->destroy(dev);
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		close_fd(&dev->kick_fd[q]);
	for (unsigned g = 0; g < VIRTIO_DEV_MAX_GROUPS; g++) {
		close_fd(&dev->groups[g].epoll_fd);
		close_fd(&dev->groups[g].stop_fd);
		close_fd(&dev->groups[g].pause_fd);
		pthread_mutex_destroy(&dev->groups[g].own_lock);
	}
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->pause_lock);
	pthread_cond_destroy(&dev->pause_cond);
	dev->initialized = false;
}
