/* Adaptive polling of an I/O thread (see poll.h). */
#include "virtio/core/poll.h"

#include "arch/cpu_relax.h"
#include "base/clock.h"

#include <errno.h>

static uint32_t queue_mask(const struct virtio_dev *dev, uint32_t queues)
{
	return dev->num_queues >= 32 ? queues : queues & ((1u << dev->num_queues) - 1);
}

/* The poll of the I/O thread running here (NULL on other threads). */
static _Thread_local struct virtio_poll *this_poll;

void virtio_poll_init(struct virtio_poll *p, const struct virtio_dev *dev, uint32_t queues)
{
	*p = (struct virtio_poll){.max_ns = dev->poll_max_ns, .dev = dev, .queues = queues};
	/* Only a thread with several queues defers: with one, nothing is served between the serve
	 * loop's rearm and the window, so there is no kick to save, and skipping the
	 * enable/suppress pair only starts the window sooner, which misses more (blk, 2 queues on
	 * their own threads: 495k against 662k IOPS, median of 5 alternating runs, 2026-11-23). */
	p->defer = __builtin_popcount(queue_mask(dev, queues)) > 1;
	this_poll = p;
}

int virtio_dev_rearm_kicks(struct virtio_dev *dev, struct virtqueue *vq)
{
	struct virtio_poll *p = this_poll;
	uint16_t q = (uint16_t)(vq - dev->vqs);

	if (!p || p->dev != dev || !p->defer || !p->window_ns || q >= dev->num_queues ||
	    !(p->queues >> q & 1))
		return vq_enable_notify(vq, dev->mem);
	int r = vq->kicks_enabled ? vq_disable_notify(vq, dev->mem) : 0;
	if (r == 0)
		r = vq_has_avail(vq, dev->mem);
	if (r == 0) { /* else the device serves on and rearms when it is done */
		vq->kicks_deferred = true;
		p->deferred |= 1u << q;
	}
	return r;
}

uint64_t virtio_poll_adapt(uint64_t window_ns, uint64_t max_ns, uint64_t slept_ns)
{
	uint64_t blocked = window_ns + slept_ns;

	if (!max_ns)
		return 0;
	if (blocked > max_ns) /* a long wait: polling would not have paid */
		return window_ns / 2 < 1000 ? 0 : window_ns / 2;
	window_ns = window_ns ? window_ns * 2 : POLL_GROW_BASE_NS; /* it came soon: look longer */
	return window_ns > max_ns ? max_ns : window_ns;
}

/* Whether the poll watches queue vq: one whose kicks were deferred to it and still are (the
 * device has not enabled or disabled them since: a device that stalled on purpose disabled
 * them), or one the device waits on (kicks enabled, ring empty), whose kicks it then defers. */
static bool watch_queue(struct virtio_dev *dev, struct virtqueue *vq, bool deferred)
{
	if (!vq_is_active(vq))
		return false;
	if (deferred && vq->kicks_deferred)
		return true; /* a buffer that came meanwhile is found by the first check */
	if (!vq->kicks_enabled || vq_has_avail(vq, dev->mem) != 0 ||
	    vq_disable_notify(vq, dev->mem) != 0)
		return false;
	vq->kicks_deferred = true;
	return true;
}

/* Suppresses kicks on the queues the device waits on and returns them with the deferred ones
 * (taken from p). Nothing while the device is not running (the deferred ones are forgotten: a
 * reset starts the queues over) or is being paused (they stay with p, for the release). */
static uint32_t watch_begin(struct virtio_dev *dev, struct virtio_poll *p, pthread_mutex_t *lock,
			    uint32_t queues)
{
	uint32_t watched = 0;

	pthread_mutex_lock(lock);
	if (!virtio_dev_running(dev)) {
		p->deferred = 0; /* reset or failed: the queues start over */
	} else if (!atomic_load(&dev->paused)) {
		for (uint16_t q = 0; q < dev->num_queues; q++) {
			if ((queues >> q & 1) &&
			    watch_queue(dev, &dev->vqs[q], p->deferred >> q & 1))
				watched |= 1u << q;
		}
		p->deferred = 0;
	}
	pthread_mutex_unlock(lock);
	return watched;
}

/* The watched queues that have a buffer now; marked pending for the serve pass. Their kicks stay
 * suppressed: serving them ends by re-enabling kicks when it finds the ring empty. */
static uint32_t watch_check(struct virtio_dev *dev, pthread_mutex_t *lock, uint32_t watched)
{
	uint32_t found = 0;

	pthread_mutex_lock(lock);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		struct virtqueue *vq = &dev->vqs[q];

		if ((watched >> q & 1) && vq->kicks_deferred && vq_has_avail(vq, dev->mem) > 0) {
			vq->kicks_deferred = false; /* the serve pass decides */
			found |= 1u << q;
		}
	}
	dev->pending |= found;
	pthread_mutex_unlock(lock);
	return found;
}

/* Wants kicks again on the queues watched in vain; one that got a buffer meanwhile is pending. A
 * queue reset meanwhile (the driver's doing), or whose kicks the device set since, is left so. */
static uint32_t watch_end(struct virtio_dev *dev, pthread_mutex_t *lock, uint32_t watched)
{
	uint32_t found = 0;

	if (!watched)
		return 0;
	pthread_mutex_lock(lock);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		struct virtqueue *vq = &dev->vqs[q];

		if ((watched >> q & 1) && vq->kicks_deferred && vq_enable_notify(vq, dev->mem) > 0)
			found |= 1u << q;
	}
	dev->pending |= found;
	pthread_mutex_unlock(lock);
	return found;
}

/* The last look at the guest's vCPU clock. */
struct guest_look {
	uint64_t at;  /* CLOCK_MONOTONIC, ns */
	uint64_t cpu; /* the vCPUs' CPU time then, ns; NO_LOOK before the first */
};

#define NO_LOOK UINT64_MAX

/* Whether the guest's vCPUs ran for a quarter of the time since the last look at their clock
 * (*look, moved on to this one); always when the VMM gave no clock or before the first look. The
 * first look comes POLL_GUEST_LOOK_NS into the window, not at its start: reading a running thread's
 * CPU clock is a system call that locks that thread's CPU run queue (~1 us), and most windows end
 * sooner (at queue depth 1 one per request: its cost showed, 413k against 518k IOPS). */
static bool guest_ran(const struct virtio_dev *dev, struct guest_look *look, uint64_t now)
{
	if (!dev->guest_cpu_ns || now < look->at + POLL_GUEST_LOOK_NS)
		return true;
	uint64_t cpu = dev->guest_cpu_ns(dev->guest_cpu_ctx);
	/* the time of the read itself, taken after it: a read that was slow (its lock, or this
	 * thread losing its CPU before it) must not count as time the guest did not run */
	uint64_t at = mono_ns();
	bool ran = look->cpu == NO_LOOK || cpu - look->cpu >= (at - look->at) / 4;

	*look = (struct guest_look){.at = at, .cpu = cpu};
	return ran;
}

/* Polls for up to the window. Returns epoll events (> 0), 0 when queue work was found (pending
 * marked), -1 with errno from epoll_wait(), or -2 when the window passed with nothing (kicks
 * enabled again on every queue it watched); p->starved when it was cut because the guest did
 * not run. */
static int poll_window(struct virtio_dev *dev, struct virtio_poll *p, pthread_mutex_t *lock,
		       uint32_t queues, int epfd, struct epoll_event *ev, int maxev)
{
	uint32_t watched = watch_begin(dev, p, lock, queues), found = 0;
	uint64_t now = mono_ns(), end = now + p->window_ns;
	struct guest_look look = {.at = now, .cpu = NO_LOOK};
	int n;

	p->polls++;
	p->starved = false;
	for (;;) {
		n = epoll_wait(epfd, ev, maxev, 0);
		if (watched)
			found = watch_check(dev, lock, watched);
		now = mono_ns();
		if (n != 0 || found || now >= end)
			break;
		if (!guest_ran(dev, &look, now)) {
			p->starved = true;
			/* atomic: a test's thread reads it while this one sleeps */
			__atomic_fetch_add(&p->cuts, 1, __ATOMIC_RELEASE);
			break;
		}
		cpu_relax();
	}
	if (n == 0 && !found) {
		found = watch_end(dev, lock, watched); /* in vain: kicks on, one last look */
		if (!found)
			return -2;
	} else {
		/* The thread serves what came and polls again: the queues that had nothing keep
		 * their kicks off until then (else the driver kicks them meanwhile). */
		p->deferred |= watched & ~found;
	}
	p->hits++;
	return n;
}

/* virtio_poll_release(); returns the queues found with a buffer (marked pending). */
static uint32_t release_deferred(struct virtio_dev *dev, struct virtio_poll *p,
				 pthread_mutex_t *lock)
{
	uint32_t deferred = p->deferred;

	p->deferred = 0;
	return watch_end(dev, lock, deferred);
}

void virtio_poll_release(struct virtio_dev *dev, struct virtio_poll *p, pthread_mutex_t *lock)
{
	release_deferred(dev, p, lock);
}

int virtio_poll_wait(struct virtio_dev *dev, struct virtio_poll *p, pthread_mutex_t *lock,
		     uint32_t queues, int epfd, struct epoll_event *ev, int maxev)
{
	uint64_t t0;
	int n;

	if (!p->max_ns)
		return epoll_wait(epfd, ev, maxev, -1);
	if (p->window_ns) {
		n = poll_window(dev, p, lock, queue_mask(dev, queues), epfd, ev, maxev);
		if (n != -2)
			return n;
	}
	/* Deferred queues not watched (no window, the device stopped or is pausing): kicks on
	 * before the sleep. */
	if (release_deferred(dev, p, lock))
		return 0;
	t0 = mono_ns();
	n = epoll_wait(epfd, ev, maxev, -1);
	if (n < 0 && errno == EINTR)
		return n;
	p->sleeps++;
	if (p->starved) /* no growing on a window the guest could not use */
		p->window_ns = p->window_ns / 2 < 1000 ? 0 : p->window_ns / 2;
	else
		p->window_ns = virtio_poll_adapt(p->window_ns, p->max_ns, mono_ns() - t0);
	p->starved = false;
	return n;
}
