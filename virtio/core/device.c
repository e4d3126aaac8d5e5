/* Transport-independent virtio device state: features, status, reset, config, interrupts
 * (virtio 1.2 sections 2.1-2.4 and 3.1). */
#include "virtio/core/device.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/group.h"

static bool is_power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_description(const struct virtio_dev *dev)
{
	if (!dev->ops || !dev->ops->queue_notify || !dev->name)
		return -EINVAL;
	if (dev->num_queues == 0 || dev->num_queues > VIRTIO_DEV_MAX_QUEUES)
		return -EINVAL;
	if (!is_power_of_two(dev->queue_max_size) || dev->queue_max_size > VQ_CHAIN_MAX_SEGS)
		return -EINVAL;
	if (dev->config_len && !dev->config)
		return -EINVAL;
	if (dev->num_groups > VIRTIO_DEV_MAX_GROUPS || dev->iothread_cpus.n > VIRTIO_DEV_MAX_CPUS)
		return -EINVAL;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (dev->queue_group[q] >= virtio_dev_groups(dev))
			return -EINVAL;
	}
	return 0;
}

/* Each group's lock, queue mask and fds (-1 until create_fds). */
static void init_groups(struct virtio_dev *dev)
{
	unsigned ng = virtio_dev_groups(dev);
	for (unsigned g = 0; g < VIRTIO_DEV_MAX_GROUPS; g++) {
		struct virtio_group *grp = &dev->groups[g];
		*grp = (struct virtio_group){.epoll_fd = -1, .stop_fd = -1, .pause_fd = -1};
		pthread_mutex_init(&grp->own_lock, NULL);
		grp->lock = ng == 1 ? &dev->lock : &grp->own_lock;
	}
	for (uint16_t q = 0; q < dev->num_queues; q++)
		dev->groups[ng == 1 ? 0 : dev->queue_group[q]].queues |= 1u << q;
}

static int create_fds(struct virtio_dev *dev)
{
	for (unsigned g = 0; g < virtio_dev_groups(dev); g++) {
		struct virtio_group *grp = &dev->groups[g];
		grp->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		grp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		grp->pause_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (grp->epoll_fd < 0 || grp->stop_fd < 0 || grp->pause_fd < 0)
			return -errno;
	}
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		dev->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->kick_fd[q] < 0)
			return -errno;
	}
	return 0;
}

int virtio_dev_init(struct virtio_dev *dev, const struct guest_mem *mem)
{
	int err = check_description(dev);
	if (err) {
		log_error("%s: invalid device description", dev->name ? dev->name : "virtio");
		return err;
	}
	dev->mem = mem;
	dev->host_features |= 1ULL << VIRTIO_F_VERSION_1;
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		dev->kick_fd[q] = -1;
	for (uint16_t q = 0; q < dev->num_queues; q++)
		vq_init(&dev->vqs[q], dev->queue_max_size);
	pthread_mutex_init(&dev->lock, NULL);
	init_groups(dev);
	pthread_mutex_init(&dev->pause_lock, NULL);
	pthread_cond_init(&dev->pause_cond, NULL);
	dev->counters = (struct virtio_dev_counters){0};
	dev->initialized = true;
	err = create_fds(dev);
	if (err)
		log_error("%s: cannot create its eventfds: %s", dev->name, strerror(-err));
	return err;
}

uint32_t virtio_dev_get_features(struct virtio_dev *dev, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(dev->host_features >> (32 * sel)) : 0;
}

void virtio_dev_set_features(struct virtio_dev *dev, uint32_t sel, uint32_t value)
{
	if (dev->status & VIRTIO_CONFIG_S_FEATURES_OK || sel >= 2)
		return; /* 2.2: features are fixed once FEATURES_OK is set */
	uint64_t mask = 0xffffffffULL << (32 * sel);
	dev->driver_features = (dev->driver_features & ~mask) | ((uint64_t)value << (32 * sel));
}

/* ---- queue groups ---- */

/* The group a callback on this thread runs for, when it must defer interrupts and failures
 * (a group thread of a multi-group device, holding its group lock but not dev->lock). */
static _Thread_local struct virtio_group *deferring;

void virtio_dev_lock_groups(struct virtio_dev *dev, int held)
{
	if (virtio_dev_groups(dev) == 1)
		return; /* the one group's lock is dev->lock */
	for (int g = held + 1; g < (int)virtio_dev_groups(dev); g++)
		pthread_mutex_lock(dev->groups[g].lock);
}

void virtio_dev_unlock_groups(struct virtio_dev *dev, int held)
{
	if (virtio_dev_groups(dev) == 1)
		return;
	for (int g = (int)virtio_dev_groups(dev) - 1; g > held; g--)
		pthread_mutex_unlock(dev->groups[g].lock);
}

/* Forgets what the groups recorded: a reset made it stale. dev->lock and group locks held. */
static void clear_deferred(struct virtio_dev *dev)
{
	for (unsigned g = 0; g < virtio_dev_groups(dev); g++) {
		atomic_store(&dev->groups[g].deferred_irqs, 0);
		atomic_store(&dev->groups[g].deferred_fail, NULL);
	}
	atomic_store(&dev->failing, false);
}

static void reset(struct virtio_dev *dev)
{
	clear_deferred(dev);
	if (dev->ops->reset)
		dev->ops->reset(dev);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		vq_reset(&dev->vqs[q]);
		dev->queue_ready[q] = false;
		uint64_t drain;
		if (read(dev->kick_fd[q], &drain, sizeof(drain)) < 0 && errno != EAGAIN)
			log_debug("%s: kick drain: %s", dev->name, strerror(errno));
	}
	dev->pending = 0;
	dev->driver_features = 0;
	dev->status = 0;
	dev->isr = 0;
}

/* 2.2.1 and 6.1: the driver may only accept offered features, and a modern device needs
 * VIRTIO_F_VERSION_1. */
static bool features_acceptable(struct virtio_dev *dev)
{
	uint64_t f = dev->driver_features;
	if (f & ~dev->host_features)
		return false;
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	return !dev->ops->features_ok || dev->ops->features_ok(dev, f);
}

/* DRIVER_OK (2.1.2 / 3.1.1 step 8): only now may the device touch its queues. */
static void activate(struct virtio_dev *dev)
{
	if (!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_dev_fail(dev, "DRIVER_OK without FEATURES_OK");
		return;
	}
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (!dev->queue_ready[q])
			continue;
		int err = vq_activate(&dev->vqs[q], dev->mem, dev->driver_features);
		if (err) {
			log_guest_warn("%s: queue %u: %s", dev->name, q, vq_strerror(err));
			virtio_dev_fail(dev, "a queue's configuration is invalid");
			return;
		}
	}
	if (dev->ops->activate && dev->ops->activate(dev) < 0) {
		virtio_dev_fail(dev, "the device could not start");
		return;
	}
	log_debug("%s: driver ready, features 0x%llx", dev->name,
		  (unsigned long long)dev->driver_features);
}

static void set_status(struct virtio_dev *dev, uint8_t status)
{
	if (status == 0) {
		reset(dev);
		return;
	}
	uint8_t old = dev->status;
	if (old & ~status & ~VIRTIO_CONFIG_S_NEEDS_RESET) {
		log_debug("%s: status 0x%x -> 0x%x clears bits; ignored", dev->name, old, status);
		return;
	}
	uint8_t added = status & ~old;
	if (added & VIRTIO_CONFIG_S_FEATURES_OK && !features_acceptable(dev)) {
		log_guest_warn("%s: driver features 0x%llx refused", dev->name,
			       (unsigned long long)dev->driver_features);
		status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		added &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	/* NEEDS_RESET is the device's to set; the driver cannot set or clear it. */
	dev->status = (status & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (added & VIRTIO_CONFIG_S_DRIVER_OK && !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		activate(dev);
}

/* Every group is held still: a reset or activation sees no callback in progress. */
void virtio_dev_set_status(struct virtio_dev *dev, uint8_t status)
{
	virtio_dev_lock_groups(dev, -1);
	set_status(dev, status);
	virtio_dev_unlock_groups(dev, -1);
}

static void set_queue_ready(struct virtio_dev *dev, uint16_t q, bool ready)
{
	dev->queue_ready[q] = ready;
	if (!ready) {
		vq_reset(&dev->vqs[q]);
		return;
	}
	/* A queue made ready after DRIVER_OK (allowed only after a queue reset) starts now. */
	if (virtio_dev_running(dev) && !vq_is_active(&dev->vqs[q])) {
		int err = vq_activate(&dev->vqs[q], dev->mem, dev->driver_features);
		if (err)
			virtio_dev_fail(dev, "a queue's configuration is invalid");
	}
}

void virtio_dev_set_queue_ready(struct virtio_dev *dev, uint16_t q, bool ready)
{
	if (q >= dev->num_queues)
		return;
	virtio_dev_lock_groups(dev, -1); /* the queue's group is not serving it meanwhile */
	set_queue_ready(dev, q, ready);
	virtio_dev_unlock_groups(dev, -1);
}

void virtio_dev_kick(struct virtio_dev *dev, uint16_t q)
{
	if (q >= dev->num_queues)
		return;
	if (virtio_dev_running(dev))
		atomic_fetch_or(&dev->pending,
				1u << q); /* kicks before DRIVER_OK are ignored (2.1.2) */
	if (!dev->groups[0].thread_running)
		virtio_dev_count(&dev->counters.kicks,
				 1); /* else counted when the thread reads it */
	uint64_t one = 1;
	if (write(dev->kick_fd[q], &one, sizeof(one)) < 0)
		log_debug("%s: kick: %s", dev->name, strerror(errno));
}

void virtio_dev_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (offset >= dev->config_len)
		return;
	uint32_t n = dev->config_len - offset < len ? dev->config_len - offset : len;
	memcpy(data, (const uint8_t *)dev->config + offset, n);
}

void virtio_dev_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len)
{
	if (offset >= dev->config_len || len > dev->config_len - offset)
		return;
	if (dev->ops->config_write)
		dev->ops->config_write(dev, offset, data, len);
}

uint32_t virtio_dev_isr(struct virtio_dev *dev)
{
	return dev->isr;
}

void virtio_dev_ack(struct virtio_dev *dev, uint32_t bits)
{
	dev->isr &= ~bits;
}

static void raise_irq(struct virtio_dev *dev, uint32_t bit, uint16_t queue)
{
	dev->isr |= bit;
	virtio_dev_count(&dev->counters.interrupts, 1);
	if (dev->irq.raise)
		dev->irq.raise(dev->irq.opaque, queue);
}

/* True when this thread serves a group of `dev` that must defer (see `deferring`). */
static struct virtio_group *deferring_group(const struct virtio_dev *dev)
{
	struct virtio_group *grp = deferring;
	if (grp && grp >= dev->groups && grp < dev->groups + VIRTIO_DEV_MAX_GROUPS)
		return grp;
	return NULL;
}

void virtio_dev_notify_used(struct virtio_dev *dev, uint16_t q)
{
	if (q >= dev->num_queues || !vq_should_notify(&dev->vqs[q], dev->mem))
		return;
	struct virtio_group *grp = deferring_group(dev);
	if (grp)
		atomic_fetch_or(&grp->deferred_irqs, 1u << q);
	else
		raise_irq(dev, VIRTIO_ISR_QUEUE, q);
}

void virtio_dev_raise_queue_irq(struct virtio_dev *dev, uint16_t q)
{
	if (q >= dev->num_queues)
		return;
	struct virtio_group *grp = deferring_group(dev);
	if (grp)
		atomic_fetch_or(&grp->deferred_irqs, 1u << q);
	else
		raise_irq(dev, VIRTIO_ISR_QUEUE, q);
}

int virtio_dev_queue_irqfd(struct virtio_dev *dev, uint16_t q)
{
	if (q >= dev->num_queues || !dev->irqfd.get)
		return -1;
	return dev->irqfd.get(dev->irqfd.opaque, q);
}

void virtio_dev_irqfd_changed(struct virtio_dev *dev)
{
	if (dev->ops->irqfd_changed)
		dev->ops->irqfd_changed(dev);
}

void virtio_dev_extra_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx)
{
	if (dev->ops && dev->ops->counters)
		dev->ops->counters(dev, put, ctx);
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	struct virtio_group *grp = deferring_group(dev);
	if (grp) {
		atomic_fetch_or(&grp->deferred_irqs, VIRTIO_GROUP_IRQ_CONFIG);
		return;
	}
	dev->config_generation++;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_ISR_CONFIG, VIRTIO_IRQ_CONFIG);
}

void virtio_dev_fail(struct virtio_dev *dev, const char *why)
{
	struct virtio_group *grp = deferring_group(dev);
	if (grp) {
		/* Stop serving now; the status changes under dev->lock after the pass. */
		const char *none = NULL;
		atomic_compare_exchange_strong(&grp->deferred_fail, &none, why);
		atomic_store(&dev->failing, true);
		return;
	}
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	log_guest_warn("%s: %s; the device needs a reset", dev->name, why);
	virtio_dev_count_error(dev);
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_ISR_CONFIG, VIRTIO_IRQ_CONFIG);
}

bool virtio_dev_running(const struct virtio_dev *dev)
{
	return (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET) && !atomic_load(&dev->failing);
}

void virtio_dev_reschedule(struct virtio_dev *dev, uint16_t q)
{
	if (q < dev->num_queues) {
		atomic_fetch_or(&dev->pending, 1u << q);
		virtio_dev_count_stall(dev);
	}
}

bool virtio_group_process_pending(struct virtio_dev *dev, unsigned g)
{
	if (atomic_load(&dev->paused))
		return false; /* kept for virtio_dev_resume() */
	uint32_t mask = dev->groups[g].queues;
	uint32_t todo = atomic_fetch_and(&dev->pending, ~mask) & mask;

	for (uint16_t q = 0; q < dev->num_queues && virtio_dev_running(dev); q++) {
		if (todo & (1u << q))
			dev->ops->queue_notify(dev, q);
	}
	if (!virtio_dev_running(dev))
		atomic_fetch_and(&dev->pending, ~mask); /* a failed device serves nothing */
	return (atomic_load(&dev->pending) & mask) != 0;
}

/* The synchronous path: dev->lock is held, so interrupts are raised directly. */
bool virtio_dev_process_pending(struct virtio_dev *dev)
{
	bool more = false;
	unsigned ng = virtio_dev_groups(dev);
	for (unsigned g = 0; g < ng; g++) {
		if (ng > 1)
			pthread_mutex_lock(dev->groups[g].lock);
		more |= virtio_group_process_pending(dev, g);
		if (ng > 1)
			pthread_mutex_unlock(dev->groups[g].lock);
	}
	return more;
}

/* Carries out what group `grp`'s callbacks recorded (see `deferring`): the thread holds no
 * lock. Failures first, with every group held still like any status change. */
void virtio_group_flush(struct virtio_dev *dev, struct virtio_group *grp)
{
	if (!atomic_load(&grp->deferred_irqs) && !atomic_load(&grp->deferred_fail))
		return;
	pthread_mutex_lock(&dev->lock);
	const char *why = atomic_exchange(&grp->deferred_fail, NULL);
	uint32_t irqs = atomic_exchange(&grp->deferred_irqs, 0);
	if (why) {
		virtio_dev_lock_groups(dev, -1);
		virtio_dev_fail(dev, why);
		virtio_dev_unlock_groups(dev, -1);
	}
	if (irqs & VIRTIO_GROUP_IRQ_CONFIG)
		virtio_dev_config_changed(dev);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (irqs & (1u << q))
			raise_irq(dev, VIRTIO_ISR_QUEUE, q);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_group_enter(struct virtio_dev *dev, unsigned g)
{
	deferring = virtio_dev_groups(dev) > 1 ? &dev->groups[g] : NULL;
}

void virtio_group_leave(void)
{
	deferring = NULL;
}

void virtio_dev_counters_read(const struct virtio_dev *dev,
			      struct virtio_dev_counters_snapshot *out)
{
	const struct virtio_dev_counters *c = &dev->counters;

	out->kicks = atomic_load_explicit(&c->kicks, memory_order_relaxed);
	out->requests = atomic_load_explicit(&c->requests, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
	out->errors = atomic_load_explicit(&c->errors, memory_order_relaxed);
	out->stalls = atomic_load_explicit(&c->stalls, memory_order_relaxed);
	out->interrupts = atomic_load_explicit(&c->interrupts, memory_order_relaxed);
}
