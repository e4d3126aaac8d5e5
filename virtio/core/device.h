/* The transport-independent virtio device (virtio 1.2 sections 2 and 3): feature negotiation,
 * the status state machine, reset, config space and generation, the interrupt status, and the
 * I/O thread that serves queue kicks.
 *
 * A device model (blk, console, rng, net, ...) describes itself once by filling a struct
 * virtio_dev and its ops; a transport (virtio/transport/virtio_mmio.c, later PCI) exposes it to the
 * guest and calls only the virtio_dev_* functions below. The device never knows which transport it
 * is on.
 *
 * Locking: `lock` serialises everything driver-visible. The transport takes it around each
 * register access; the I/O thread takes it around every ops callback (queue_notify and the
 * backend fd callbacks). So device callbacks always run with the lock held, on one thread at a
 * time, and a reset from a vCPU waits for a callback in progress. Device code must therefore not
 * block for long inside a callback (use async I/O) and never takes the lock itself. The order in
 * which this lock nests with the others is in base/lock_order.h.
 *
 * Queue groups (multiqueue): a device may split its queues into num_groups groups (queue_group[q]
 * names the group of queue q). Each group has its own I/O thread, epoll set and lock, so the
 * groups are served in parallel. With one group (the default) the group's lock IS dev->lock and
 * everything above holds unchanged. With several groups:
 *   - a group's callbacks (queue_notify of its queues, its backend fds, quiesce_group) run with
 *     that group's lock held, NOT dev->lock; they may use only their own queues and per-group
 *     state, plus what the device model protects itself;
 *   - interrupts (virtio_dev_notify_used, virtio_dev_config_changed) and virtio_dev_fail from
 *     such a callback are recorded and carried out by the group's thread right after the pass,
 *     under dev->lock (the transport's interrupt state is dev->lock's); virtio_dev_running()
 *     turns false at once after a fail;
 *   - the framework takes dev->lock and then every group lock (ascending) around a reset, an
 *     activation and the carrying out of a failure, so ops->reset and ops->activate still see no
 *     callback in progress; virtio_dev_lock_groups() does the same for a device model's own
 *     control paths (the lock order is dev->lock, group 0, group 1, ...).
 *   The synchronous path (virtio_dev_process_pending with dev->lock held: tests, fuzzers) takes
 *   each group lock in turn and raises interrupts directly.
 *
 * Failure: a driver that breaks a queue (vq_pop() < 0) or the protocol makes the device call
 * virtio_dev_fail(): DEVICE_NEEDS_RESET plus a config-change interrupt (2.1.2). The VMM and the
 * other devices carry on. */
#ifndef VIRTIO_DEVICE_H
#define VIRTIO_DEVICE_H

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "host/sandbox/sandbox.h"
#include "virtio/queue/virtqueue.h"

#define VIRTIO_DEV_MAX_QUEUES 17 /* virtio-net: 8 rx/tx pairs and the control queue */
#define VIRTIO_DEV_MAX_FDS    24 /* backend fds (tap, console input, io_uring) per device */
#define VIRTIO_DEV_MAX_GROUPS 8	 /* queue groups, each with its own I/O thread */
#define VIRTIO_DEV_MAX_CPUS   16 /* entries of an I/O thread CPU list */

/* Interrupt status bits (4.2.2 InterruptStatus, 4.1.4.5 ISR). */
/* The ring features the queue layer implements for every device: event index (2.7.10),
 * indirect descriptors (2.7.5.3) and the packed ring (2.8). A device model offers these and ORs
 * in its own bits (VIRTIO_F_VERSION_1 is added by virtio_dev_init()). */
#define VIRTIO_DEV_RING_FEATURES                                                                   \
	(1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |                   \
	 1ULL << VIRTIO_F_RING_PACKED)

#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

struct virtio_dev;

/* Receives one device-specific counter (virtio_dev_ops.counters). */
typedef void (*virtio_counter_fn)(void *ctx, const char *name, uint64_t value);

struct virtio_dev_ops {
	/* DRIVER_OK was set and every queue the driver made ready is active. Start serving.
	 * Return 0, or negative to fail the device (DEVICE_NEEDS_RESET). Optional. */
	int (*activate)(struct virtio_dev *dev);
	/* Queue `q` was kicked (or has work again). Pop, process, push, then
	 * virtio_dev_notify_used(). */
	void (*queue_notify)(struct virtio_dev *dev, uint16_t q);
	/* Back to the initial state after status 0 (2.4): forget in-flight requests (finish or
	 * cancel async I/O first), stop using the queues. Queue state itself is reset by the
	 * framework. Optional. */
	void (*reset)(struct virtio_dev *dev);
	/* Device-specific check of the driver's features at FEATURES_OK (dependencies, 2.2.1);
	 * false makes the device refuse FEATURES_OK. The subset check is done already. Optional. */
	bool (*features_ok)(struct virtio_dev *dev, uint64_t features);
	/* Driver write to the device config space (most devices: read-only, leave NULL). */
	void (*config_write)(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len);
	/* Before the device is paused (virtio_dev_pause): finish work in flight (wait for async
	 * I/O and complete it into the used ring) so nothing touches guest memory while paused.
	 * Start nothing new. Runs on the I/O thread with the lock held. Optional. */
	void (*quiesce)(struct virtio_dev *dev);
	/* The same for one queue group of a multi-group device, on that group's thread with the
	 * group's lock held. When set, it replaces `quiesce` (which is then never called).
	 * Optional. */
	void (*quiesce_group)(struct virtio_dev *dev, unsigned group);
	/* Free the device's own resources (backend files, buffers). Optional. */
	void (*destroy)(struct virtio_dev *dev);
	/* Snapshot (virtio/core/dev_snapshot.h): the device model's own state (config space,
	 * filters, buckets...) into `buf` (room for `cap` bytes) as a plain fixed-layout struct,
	 * its size in *len. Device paused, dev->lock held. Returns 0, -ENOSPC, -EBUSY (work the
	 * pause could not finish) or -ENOTSUP. NULL: the device cannot be snapshotted. */
	int (*save)(struct virtio_dev *dev, void *buf, size_t cap, size_t *len);
	/* Puts such a state into a freshly created device of the same configuration, after
	 * virtio_dev_restore() put the transport-independent state back (so dev->status and the
	 * negotiated features are the saved ones). Checks every value as a guest write (the file is
	 * untrusted); changes nothing on failure. Must not activate: virtio_dev_snapshot_restore()
	 * calls ops->activate afterwards for a device whose driver had set DRIVER_OK. dev->lock
	 * held. Returns 0 or -EINVAL. */
	int (*restore)(struct virtio_dev *dev, const void *buf, size_t len);
	/* Bytes ops->save needs now, when that can pass VIRTIO_DEV_PRIV_MAX (virtio-gpu's
	 * resources, virtio-input's queued events). Device paused, dev->lock held. Optional. */
	size_t (*save_size)(struct virtio_dev *dev);
	/* What virtio_dev_queue_irqfd() answers may have changed (the driver moved a queue's
	 * vector, masked or unmasked it, reset the device...). dev->lock held (not the group
	 * locks), on whichever thread changed it. For a device whose queues another process
	 * serves (vhost-user). Optional. */
	void (*irqfd_changed)(struct virtio_dev *dev);
	/* The device's own counters beyond struct virtio_dev_counters, each given to put() with a
	 * name in snake case (the metrics document's "devices" entries carry them). Reads
	 * atomics only: called without dev->lock, from any thread. Optional. */
	void (*counters)(struct virtio_dev *dev, virtio_counter_fn put, void *ctx);
};

/* How the device reaches the guest's interrupt controller; set by the transport. `queue` is the
 * queue index for a used-buffer notification, or VIRTIO_IRQ_CONFIG for a config change. */
#define VIRTIO_IRQ_CONFIG 0xffff
struct virtio_irq {
	void (*raise)(void *opaque, uint16_t queue);
	void *opaque;
};

/* Set by a transport that can give a queue's interrupt an eventfd of its own (virtio-pci with
 * MSI-X on KVM: the vector's irqfd). get() returns the eventfd that interrupts the guest for
 * `queue` without the VMM, or -1 when the queue's interrupts must go through virtio_irq.raise()
 * (no vector, masked, INTx, no route...). Runs with dev->lock held; it may program the route
 * behind the fd. get NULL (virtio-mmio): always -1. */
struct virtio_irqfd_source {
	int (*get)(void *opaque, uint16_t queue);
	void *opaque;
};

/* A backend file descriptor served by the I/O thread: `ready` runs with the device lock held
 * when `fd` is readable (EPOLLIN) or writable (EPOLLOUT), as asked. With queue groups, the
 * thread of `group` serves it, with that group's lock held. */
struct virtio_fd_handler {
	int fd;
	uint32_t events;
	void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents);
	uint8_t group;
};

/* CPUs for a device's I/O threads, applied round-robin: group g runs on cpu[g % n]. n = 0: no
 * placement (the scheduler decides). */
struct virtio_cpu_list {
	uint16_t n;
	uint16_t cpu[VIRTIO_DEV_MAX_CPUS];
};

/* One queue group (see the locking note at the top): its I/O thread and what that thread owns. */
struct virtio_group {
	pthread_mutex_t *lock;	  /* &dev->lock with one group, else &own_lock */
	pthread_mutex_t own_lock; /* used with several groups */
	uint32_t queues;	  /* bit q: queue q belongs to this group */
	int epoll_fd;
	int stop_fd;
	int pause_fd; /* eventfd: a pause was asked for */
	pthread_t thread;
	bool thread_running;
	bool parked; /* the thread waits at its safe point (dev->pause_lock) */
	/* Recorded by the group's callbacks for the thread to carry out under dev->lock: bit q a
	 * used-buffer interrupt of queue q, bit 31 a config interrupt; and a failure's reason. */
	_Atomic uint32_t deferred_irqs;
	const char *_Atomic deferred_fail;
};
#define VIRTIO_GROUP_IRQ_CONFIG (1u << 31)

/* Per-device counters since virtio_dev_init() (a driver reset does not clear them). They mean the
 * same on every device, so a metrics reader can compare devices:
 *   kicks       queue notifications from the driver (each ioeventfd signal or register write)
 *   requests    chains completed: used-ring elements the device returned to the driver
 *   bytes       payload bytes the device moved for those chains, as the device counts its work
 *               (blk: data read or written; net: frame bytes without the header, rx and tx;
 *               the serve loop: what handle() reported)
 *   errors      chains completed with an error (blk IOERR/UNSUPP status, malformed net frames,
 *               backend failures) plus device failures (DEVICE_NEEDS_RESET, once per failure)
 *   stalls      times serving stopped with work left: a budget ran out (virtio_dev_reschedule),
 *               a handler waited or held a chain, no guest buffer or no free request slot
 *   interrupts  used-buffer and config-change interrupts raised
 * Writers add with relaxed atomics (no lock of their own: they run where the device already
 * is); readers take a snapshot with virtio_dev_counters_read(). */
struct virtio_dev_counters {
	_Atomic uint64_t kicks, requests, bytes, errors, stalls, interrupts;
};

/* A plain copy of the counters (each field read once, atomically; the fields are not one
 * instant, which is fine for monitoring). */
struct virtio_dev_counters_snapshot {
	uint64_t kicks, requests, bytes, errors, stalls, interrupts;
};

struct virtio_dev {
	/* ---- filled by the device model before virtio_dev_init() ---- */
	const char *name;	/* "virtio-blk", for messages */
	uint32_t device_id;	/* VIRTIO_ID_* (5 Device Types) */
	uint64_t host_features; /* offered; VIRTIO_F_VERSION_1 is added by virtio_dev_init() */
	uint16_t num_queues;
	uint16_t queue_max_size; /* QueueNumMax for every queue, <= VQ_CHAIN_MAX_SEGS */
	void *config;		 /* device config space, little endian, owned by the device */
	uint32_t config_len;
	const struct virtio_dev_ops *ops;
	/* What the device model's callbacks call on its I/O thread beyond the framework's own
	 * (virtio_io_sandbox): its backend's system calls (host/sandbox/sandbox.h). NULL: none. */
	const struct sandbox_list *sandbox;
	void *priv; /* the device model's own state */
	/* The I/O thread's adaptive polling window may grow up to this (virtio/core/poll.h); 0
	 * (the default of a zeroed struct) sleeps at once. Set by the VMM before the start. */
	uint32_t poll_max_ns;
	/* The CPU time (ns) the guest's vCPUs have had so far, or NULL. The poll cuts a window in
	 * which it did not grow (the guest did not run, so it added no work, and the CPU the window
	 * spins on is one the guest's vCPU, or another VM's, waits for). Set with poll_max_ns. */
	uint64_t (*guest_cpu_ns)(const void *ctx);
	const void *guest_cpu_ctx;
	/* Queue groups (optional, see the top): 0 or 1 means one group with every queue. */
	uint16_t num_groups;
	uint8_t queue_group[VIRTIO_DEV_MAX_QUEUES]; /* group of each queue, < num_groups */
	struct virtio_cpu_list iothread_cpus;	    /* where the groups' threads run */
	/* The queues are served by another process (vhost-user): the I/O threads neither read the
	 * kick eventfds (the back-end does) nor poll the rings (they would write the used ring's
	 * flags and avail_event over the back-end's), and the device model raises the queues'
	 * interrupts itself with virtio_dev_raise_queue_irq(). */
	bool external_queues;

	/* ---- set by virtio_dev_init() / the transport ---- */
	const struct guest_mem *mem;
	struct virtio_irq irq;
	struct virtio_irqfd_source irqfd;
	bool initialized; /* virtio_dev_init() succeeded far enough to need destroy */
	pthread_mutex_t lock;

	/* ---- driver-visible state (under lock) ---- */
	uint64_t driver_features;
	uint8_t status;
	uint32_t config_generation;
	uint32_t isr;
	bool queue_ready[VIRTIO_DEV_MAX_QUEUES]; /* QueueReady as the driver wrote it */
	struct virtqueue vqs[VIRTIO_DEV_MAX_QUEUES];

	/* ---- I/O threads (virtio/core/io_thread.c) ---- */
	int kick_fd[VIRTIO_DEV_MAX_QUEUES]; /* eventfds; the transport binds them to ioeventfds */
	struct virtio_fd_handler fds[VIRTIO_DEV_MAX_FDS]; /* of every group */
	int nfds;
	struct virtio_group groups[VIRTIO_DEV_MAX_GROUPS];
	/* Queues with work to serve (bit q): set by a kick or by virtio_dev_reschedule(), taken
	 * by the group's pass (under its lock). Atomic: groups share the word. */
	_Atomic uint32_t pending;
	/* Failed from a group's callback, not yet carried out (see virtio_dev_running). */
	atomic_bool failing;
	/* Pause handshake (virtio_dev_pause): `paused` is atomic so that a serve pass sees a pause
	 * asked for while it holds the lock (an unfair mutex could otherwise let a busy I/O thread
	 * starve the pauser); the rest under pause_lock. */
	atomic_bool paused;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req; /* set by pause, cleared by resume */
	/* Set by virtio_dev_destroy(): a parked thread ends without serving what was recorded
	 * (after a local migration another VMM drives the same guest RAM). */
	bool stopping;

	/* ---- counters (see struct virtio_dev_counters; any thread may read them) ---- */
	struct virtio_dev_counters counters;
};

/* Adds n to one counter: a relaxed atomic add, cheap enough for every chain. */
static inline void virtio_dev_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* `chains` chains completed with `bytes` payload bytes (see struct virtio_dev_counters). For
 * chains a device completes itself (virtio_serve_queue() counts those it pushes: a device counts
 * the ones it took, held or reserved, VIRTIO_CHAIN_TAKEN / HOLD / MORE). */
static inline void virtio_dev_count_requests(struct virtio_dev *dev, uint64_t chains,
					     uint64_t bytes)
{
	virtio_dev_count(&dev->counters.requests, chains);
	virtio_dev_count(&dev->counters.bytes, bytes);
}

/* A chain completed with an error status (it is counted as a request too, by its pusher). */
static inline void virtio_dev_count_error(struct virtio_dev *dev)
{
	virtio_dev_count(&dev->counters.errors, 1);
}

/* Serving stopped with work left that virtio_dev_reschedule() does not see (no guest buffer, no
 * free request slot, a full backend). */
static inline void virtio_dev_count_stall(struct virtio_dev *dev)
{
	virtio_dev_count(&dev->counters.stalls, 1);
}

/* Copies the counters; any thread, no lock taken. */
void virtio_dev_counters_read(const struct virtio_dev *dev,
			      struct virtio_dev_counters_snapshot *out);

/* Checks the description (queue count and sizes, config) and prepares the lock, the queues and
 * one kick eventfd per queue. `mem` is guest RAM. Returns 0 or -EINVAL / -errno. */
int virtio_dev_init(struct virtio_dev *dev, const struct guest_mem *mem);

/* Stops the I/O thread, calls ops->destroy, closes the fds. */
void virtio_dev_destroy(struct virtio_dev *dev);

/* Registers a backend fd with the I/O thread (before virtio_dev_start(), or from a callback).
 * Returns 0, -ENOSPC or -errno. */
int virtio_dev_add_fd(struct virtio_dev *dev, int fd, uint32_t events,
		      void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents));
/* The same for the I/O thread of queue group `group` (multi-group devices). */
int virtio_dev_add_group_fd(struct virtio_dev *dev, unsigned group, int fd, uint32_t events,
			    void (*ready)(struct virtio_dev *dev, int fd, uint32_t revents));
/* Changes the events a registered fd waits for (e.g. stop reading a tap while the guest has no
 * rx buffers). Call from the fd's own group (or with every group lock held). */
int virtio_dev_mod_fd(struct virtio_dev *dev, int fd, uint32_t events);

/* What every I/O thread may call (virtio/core/io_thread.c): waiting on its epoll set, eventfd
 * reads and writes (kicks, interrupts), and the pause handshake. */
extern const struct sandbox_list virtio_io_sandbox;

/* Starts the I/O thread of every queue group (placed on dev->iothread_cpus, checked to exist
 * first). Without them (tests, fuzzers) the caller serves kicks itself with
 * virtio_dev_process_pending(). Returns 0 or -errno (logged). */
int virtio_dev_start(struct virtio_dev *dev);

/* Parks the device at a safe point and returns only then: every I/O thread has finished the
 * callback it was in, completed the work in flight (ops->quiesce: virtio-blk waits for its
 * async I/O and pushes it), and waits outside any callback. Until virtio_dev_resume() the
 * device writes no guest memory and raises no interrupt; the driver's kicks are recorded and
 * served after the resume. The wait is bounded by one budgeted pass plus the I/O in flight.
 * Register accesses from vCPUs are still answered (stop the vCPUs first for a snapshot: a driver
 * reset or DRIVER_OK while paused runs the device's activate/reset as usual).
 * Call without dev->lock, from a control thread (not the I/O thread). Idempotent. */
void virtio_dev_pause(struct virtio_dev *dev);
/* Lets a paused device run again; kicks recorded meanwhile are served now. */
void virtio_dev_resume(struct virtio_dev *dev);

/* ---- called by transports, with dev->lock held ---- */

/* Device feature bits 32*sel .. 32*sel+31 (0 past 63). */
uint32_t virtio_dev_get_features(struct virtio_dev *dev, uint32_t sel);
/* Driver feature bits (ignored unless the status is before FEATURES_OK). */
void virtio_dev_set_features(struct virtio_dev *dev, uint32_t sel, uint32_t value);
/* Status register write: 0 resets (2.4); FEATURES_OK is kept only for an acceptable feature
 * set (2.2, 3.1.1); DRIVER_OK activates the ready queues (a bad queue fails the device); bits
 * may not be cleared except by reset (such a write is ignored). */
void virtio_dev_set_status(struct virtio_dev *dev, uint8_t status);
/* QueueReady write for queue q (ignored for q >= num_queues). */
void virtio_dev_set_queue_ready(struct virtio_dev *dev, uint16_t q, bool ready);
/* The driver notified queue q (a vCPU-side notify without ioeventfd): marks the queue pending
 * and wakes the I/O thread. Nothing is served here: the I/O thread (or a test calling
 * virtio_dev_process_pending()) does it. Out-of-range q is ignored. */
void virtio_dev_kick(struct virtio_dev *dev, uint16_t q);
/* Config space access (bounds checked; reads past the end read zero). */
void virtio_dev_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len);
void virtio_dev_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len);
/* Interrupt status read / acknowledge. */
uint32_t virtio_dev_isr(struct virtio_dev *dev);
void virtio_dev_ack(struct virtio_dev *dev, uint32_t bits);
/* What virtio_dev_queue_irqfd() answers may have changed: tells the device (ops->irqfd_changed).
 */
void virtio_dev_irqfd_changed(struct virtio_dev *dev);
/* The device's own counters (ops->counters), each to put(); nothing when it has none. No lock
 * needed. */
void virtio_dev_extra_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx);

/* ---- called by device models (lock held: they run inside callbacks) ---- */

/* After pushing used buffers on queue q: interrupts the driver if the queue wants it. */
void virtio_dev_notify_used(struct virtio_dev *dev, uint16_t q);
/* A used-buffer interrupt for queue q decided elsewhere (an external_queues device: the
 * back-end checked the event suppression before it signalled). */
void virtio_dev_raise_queue_irq(struct virtio_dev *dev, uint16_t q);
/* The eventfd a process serving queue q itself may signal to interrupt the guest directly, or
 * -1: then its signals must come through virtio_dev_raise_queue_irq() (the transport's pending
 * bits and ISR stay right). Valid until the transport calls virtio_dev_irqfd_changed(). */
int virtio_dev_queue_irqfd(struct virtio_dev *dev, uint16_t q);
/* The device config changed: bump the generation and send a config interrupt. */
void virtio_dev_config_changed(struct virtio_dev *dev);
/* The driver broke the device: DEVICE_NEEDS_RESET and a config interrupt (2.1.2). Logs why
 * once. The device stays dead until the driver resets it. */
void virtio_dev_fail(struct virtio_dev *dev, const char *why);
/* Work on queue q is left over (a budget ran out): serve it again on the next pass of the I/O
 * thread, after the events that are already waiting (Cloud Hypervisor's epoll helper does the
 * same). Never spins and never drops the work. */
void virtio_dev_reschedule(struct virtio_dev *dev, uint16_t q);
/* A serve loop found queue vq's ring empty and wants to hear of the driver's next buffer
 * (2.7.10). Enables kicks, as vq_enable_notify() does; but on the queue's own I/O thread while
 * that thread is about to poll its rings (virtio/core/poll.h), it leaves the kicks suppressed
 * and hands the queue to the poll, which enables them before the thread sleeps. So a driver that
 * adds its next buffer meanwhile does not kick (a VM exit) while the thread serves its other
 * queues. Returns > 0 when the ring has a buffer after all (serve on), 0 when it is empty, or a
 * negative vq error. Lock of the queue's group held. */
int virtio_dev_rearm_kicks(struct virtio_dev *dev, struct virtqueue *vq);
/* One pass over the pending queues: calls ops->queue_notify() once for each queue that was
 * pending when the pass started (a queue rescheduled during the pass waits for the next one).
 * Ignored before DRIVER_OK or after a failure. The I/O thread calls this after each batch of
 * events; tests and fuzzers call it to serve kicks synchronously. dev->lock held. Returns true
 * when work is still pending afterwards. */
bool virtio_dev_process_pending(struct virtio_dev *dev);
/* True after DRIVER_OK and before a reset or failure: the device may use its queues. */
bool virtio_dev_running(const struct virtio_dev *dev);

/* ---- queue groups ---- */

/* Number of groups (1 for a device that declared none). */
static inline unsigned virtio_dev_groups(const struct virtio_dev *dev)
{
	return dev->num_groups > 1 ? dev->num_groups : 1;
}
/* Takes (releases) the lock of every group after `held` (pass -1 to take them all), ascending:
 * for a device's own control path that changes state the groups share. Call with dev->lock or
 * group `held`'s lock held. No-op for a one-group device. */
void virtio_dev_lock_groups(struct virtio_dev *dev, int held);
void virtio_dev_unlock_groups(struct virtio_dev *dev, int held);
/* One pass over group g's pending queues (the I/O thread's call, group lock held). */
bool virtio_group_process_pending(struct virtio_dev *dev, unsigned g);
/* Parses a CPU list "0:2-3" (':'-separated CPUs or ranges; ',' separates option items) into
 * *out. Returns 0, or -EINVAL with a message in err. */
int virtio_cpu_list_parse(const char *s, struct virtio_cpu_list *out, char *err, size_t errlen);
/* Adds `l` as the item "iothread-cpus" (each CPU in its order, ':'-joined: what
 * virtio_cpu_list_parse() reads back) to `out` when the list is not empty. 0 or -ENOMEM. */
struct opt_items;
int virtio_cpu_list_to_item(const struct virtio_cpu_list *l, struct opt_items *out);
/* True when the driver negotiated feature bit `bit`. */
static inline bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned bit)
{
	return (dev->driver_features >> bit) & 1;
}

#endif
