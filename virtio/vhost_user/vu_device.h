/* A virtio device whose queues a vhost-user back-end serves: what virtio-fs, vhost-user-blk and
 * vhost-user-net share (the device models add only their config space and feature bits).
 *
 *   - DRIVER_OK hands the features the driver accepted, the memory table and every ready ring
 *     to the back-end (vu_device_activate()); the guest's kicks reach it straight from the
 *     ioeventfds (the device's kick eventfds are the rings' kick fds; the I/O thread does not
 *     read them: virtio_dev.external_queues).
 *   - The back-end's used-buffer signals (its "calls") go straight to the guest when the
 *     transport has an eventfd for that queue's interrupt (virtio-pci: the MSI-X vector's KVM
 *     irqfd, while MSI-X is on and the vector unmasked: virtio_dev_queue_irqfd()). Otherwise
 *     they come back on the queue's relay eventfd, which the I/O thread turns into the
 *     transport's interrupt (virtio_dev_raise_queue_irq(): the pending bit of a masked vector,
 *     the ISR and INTx). When the answer changes (ops->irqfd_changed), the ring's call fd is
 *     switched with SET_VRING_CALL (vu_device_irqfd_changed()).
 *   - Status 0 stops every ring (GET_VRING_BASE) and resets the back-end.
 *   - A health check once a second sees a back-end that hung up; a running device tries for
 *     VU_DEVICE_GRACE_S to reconnect to the same socket and resumes its rings at their used
 *     indexes, but only when that is safe (see resume_pending); otherwise, or with no back-end
 *     after the grace period, it fails (DEVICE_NEEDS_RESET) and the VMM carries on. The driver's
 *     next DRIVER_OK connects afresh.
 *
 * Guest RAM must be shared (guest_mem_alloc_shared()): the back-end maps it from the memfd.
 *
 * Layout: a device model embeds struct vu_device first in its own struct (whose first member is
 * then the virtio_dev), so the block is freed as the virtio_dev; dev->priv points at the
 * vu_device. */
#ifndef VIRTIO_VHOST_USER_DEVICE_H
#define VIRTIO_VHOST_USER_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/vhost_user/vu_frontend.h"

/* The ring features a back-end implements and the guest may use through it: no packed ring (the
 * front-end hands over split rings only). */
#define VU_DEVICE_RING_FEATURES                                                                    \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC |                        \
	 1ull << VIRTIO_RING_F_EVENT_IDX)

#define VU_DEVICE_HEALTH_PERIOD_S 1
/* A running device whose back-end died waits this long (CLOCK_MONOTONIC) for one on the same
 * socket before it fails; each second it tries once, the whole attempt (connect, handshake,
 * hand-over) within the device's timeout and without the device lock (vu_device.c). */
#define VU_DEVICE_GRACE_S 10

struct vu_device {
	struct virtio_dev dev; /* first: see the layout note above */
	struct vu_frontend fe;
	char socket[108];
	char label[80]; /* "virtio-fs shared", "vhost-user-blk /tmp/blk.sock": log prefix */
	/* Virtio features the back-end serves: its offer at creation masked by what the device
	 * model passes on. The driver's choice of these is sent with SET_FEATURES; features the
	 * VMM implements itself (virtio-net's MAC and STATUS config fields) are in
	 * dev.host_features only. */
	uint64_t backend_features;
	/* Resume the rings of a restarted back-end even with requests pending (avail ahead of
	 * used): right for a network (a frame lost or sent twice is what a network does; an rx
	 * ring always has buffers posted), wrong for a disk or a file system whose back-end may
	 * have completed requests out of order. */
	bool resume_pending;
	int timeout_ms;
	int call_fd[VIRTIO_DEV_MAX_QUEUES]; /* the relay eventfds, read by the I/O thread */
	/* The call fd each started ring was given last (call_fd[q] or the queue's irqfd); only
	 * meaningful while fe.started[q]. */
	int given_call[VIRTIO_DEV_MAX_QUEUES];
	/* Calls that passed through the VMM (read on a relay fd), since the device was made. */
	_Atomic uint64_t relayed;
	int timer_fd;
	int64_t down_since_ms; /* CLOCK_MONOTONIC ms since the back-end is gone, -1: up */
	int64_t last_try_ms;   /* when the last reconnect attempt ended (CLOCK_MONOTONIC ms) */
	/* Counts what the driver does to the device (DRIVER_OK, reset, an interrupt moved), under
	 * its lock: a reconnect that ran without the lock keeps its connection only if this did
	 * not change meanwhile. */
	uint64_t generation;
};

/* The vu_device of a device made with vu_device_init(). */
static inline struct vu_device *vu_device_of(struct virtio_dev *dev)
{
	return dev->priv;
}

/* Zeroes `vd` and sets it up unconnected: no fds, dev.priv = vd. */
/* What a vhost-user device's I/O thread calls beyond virtio's (host/sandbox/sandbox.h): a thread
 * that starts one later, while the VM runs (vmm/vm/hotplug.h), must allow it too, and it is
 * what connecting to a back-end takes. */
extern const struct sandbox_list vu_sandbox;

void vu_device_init(struct vu_device *vd, const char *socket, const char *label, int timeout_ms);

/* Connects to the back-end (the handshake within timeout_ms), checks it can serve `nq` queues
 * (GET_QUEUE_NUM when it has MQ) and offers VIRTIO_F_VERSION_1, and makes the call eventfds.
 * Returns 0 or -errno with the reason in vd->fe.error. */
int vu_device_connect(struct vu_device *vd, unsigned nq);

/* Fills what every vhost-user device has in its description: `nq` queues of at most `qsize`,
 * backend_features = the back-end's offer & `pass`, host_features = that | `local` (features
 * the VMM serves itself), the ops, the I/O thread's extra system calls, external_queues. The
 * device model sets name, device_id and config. */
void vu_device_describe(struct vu_device *vd, unsigned nq, uint16_t qsize, uint64_t pass,
			uint64_t local, const struct virtio_dev_ops *ops);

/* The virtio_dev_ops of a vhost-user device (a device model may use vu_device_ops as it is,
 * or name these in its own table). */
int vu_device_activate(struct virtio_dev *dev);
void vu_device_reset(struct virtio_dev *dev);
void vu_device_queue_notify(struct virtio_dev *dev, uint16_t q);
/* The transport's irqfd for some queue may have changed: each started ring whose call fd should
 * now be another (the irqfd, or the relay) gets it with SET_VRING_CALL, synchronously, with the
 * device lock held (as the hand-over at DRIVER_OK is), within timeout_ms in all. A ring moved
 * to its irqfd has its relay drained and, if a call was waiting there, its interrupt raised
 * once through the transport (spurious interrupts are allowed, virtio 1.2 2.7.7). */
void vu_device_irqfd_changed(struct virtio_dev *dev);
/* calls_relayed: the back-end's calls that went through the VMM (the relay fds). */
void vu_device_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx);
void vu_device_destroy(struct virtio_dev *dev);
extern const struct virtio_dev_ops vu_device_ops;

/* Frees a device that vu_device_connect() or a later step of a create refused (before
 * virtio_dev_init()): closes what it opened and frees the block. */
void vu_device_free(struct vu_device *vd);

/* After virtio_dev_init(): registers the call eventfds and the health timer with the I/O
 * thread. Returns 0 or -errno. */
int vu_device_attach(struct virtio_dev *dev);

#endif
