/* Adaptive polling of an I/O thread (the latency path): before it sleeps, the thread may watch
 * its queues' rings and its fds for a short, bounded window with the driver's kicks suppressed,
 * so a driver that adds its next request within the window neither kicks (a VM exit: ~10 us on
 * an emulated KVM) nor waits for a sleeping thread to wake up.
 *
 * The window adapts as QEMU's aio polling does: it grows (doubling, from POLL_GROW_BASE_NS up to
 * the device's poll_max_ns) when the event that ended a sleep came soon after the window gave
 * up, and halves down to 0 when sleeps are long, so a quiet device burns no CPU. poll_max_ns 0
 * turns polling off: the thread sleeps in epoll_wait() at once, as before.
 *
 * Only queues whose kicks the device wants (vq kicks_enabled, ring empty) are watched: a queue
 * the device does not need (net rx with buffers to spare) is no work when buffers appear. */
#ifndef VIRTIO_CORE_POLL_H
#define VIRTIO_CORE_POLL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "virtio/core/device.h"

#define POLL_GROW_BASE_NS 4000u
/* How often a window looks at the guest's vCPU clock (virtio_dev guest_cpu_ns): a window in
 * which the vCPUs ran less than a quarter of such a span is cut, and halves. On a host whose
 * threads share CPUs (several VMs, or more queues than CPUs) the poll then stops taking the CPU
 * the guest, or another VM, needs (docs/io-paths.md). */
#define POLL_GUEST_LOOK_NS 16000u

struct virtio_poll {
	uint64_t window_ns; /* current window, 0..max_ns */
	uint64_t max_ns;    /* the device's poll_max_ns (0: off) */
	const struct virtio_dev *dev;
	uint32_t queues;   /* the queues this thread serves (its group's) */
	bool defer;	   /* it serves several: virtio_dev_rearm_kicks() may defer to it */
	uint32_t deferred; /* queues whose kicks virtio_dev_rearm_kicks() left to the next poll */
	bool starved;	   /* the last window was cut: the guest did not run */
	/* counters, for tests and metrics */
	uint64_t polls, hits, sleeps, cuts;
};

/* Starts with an empty window and the device's maximum. `queues`: the thread's queues (bit q).
 * The calling thread is the poll's: virtio_dev_rearm_kicks() on it defers to `p`. */
void virtio_poll_init(struct virtio_poll *p, const struct virtio_dev *dev, uint32_t queues);

/* Enables the kicks of the queues deferred to the poll (a queue that got a buffer meanwhile is
 * marked pending). virtio_poll_wait() does it before it sleeps; the I/O thread before it parks
 * for a pause. Call without `lock`. */
void virtio_poll_release(struct virtio_dev *dev, struct virtio_poll *p, pthread_mutex_t *lock);

/* Waits for work on the queues in `queues` (bit q) of dev and the fds of epfd: polls for up to
 * the window (watching the deferred queues too), then sleeps in epoll_wait(). `lock` guards those
 * queues (dev->lock, or a queue group's lock); it is taken for each look at the rings, never held
 * across a wait. Returns the number of epoll events stored in `ev` (0 when the polling found queue
 * work only: the queues found are marked in dev->pending), or -1 with errno. Call without `lock`.
 */
int virtio_poll_wait(struct virtio_dev *dev, struct virtio_poll *p, pthread_mutex_t *lock,
		     uint32_t queues, int epfd, struct epoll_event *ev, int maxev);

#endif
