/* libFuzzer target: the virtio-mmio transport and the device core (virtio/transport/virtio_mmio.c,
 * virtio/core/device.c) with an echo device: each chain's readable bytes are copied into its
 * writable bytes. Registers, status transitions, resets in the middle of I/O, queue setup and
 * notifies come from the input (fuzz_virtio_dev.h), which also scribbles ring memory. The device
 * has 1 to 3 queues, sometimes one queue group each (the framework's group locking paths).
 *
 * The echo behaves as the real devices may: a budget of chains per wakeup (the rest rescheduled,
 * virtio_dev_reschedule), interrupts raised directly (virtio_dev_raise_queue_irq, as vhost-user's
 * call relay does) or by the ring's rules, a config change when a chain's first byte is
 * ECHO_CFG_BYTE, a backend that cannot start (ops->activate fails) on demand, a counter of its own,
 * and a snapshot of its config space. Its special operation runs a pass of the device's I/O
 * threads (io_thread.c: each group served under its own lock with interrupts and failures
 * deferred, then carried out by virtio_group_flush) after kicks that only mark queues pending,
 * reads the counters as the metrics code does (every one only grows, the echo's own is its count
 * of chains), turns the backend's failure on or off, or makes a queue of a bad size ready before
 * DRIVER_OK (the device must fail). */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/core/group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ECHO_CFG_BYTE 0xcc /* a chain starting with it changes the config space */

struct echo {
	struct virtio_dev dev;
	uint8_t config[12];
	struct vq_chain chain;
	uint8_t buf[512];
	unsigned budget;   /* chains per wakeup (0: no budget) */
	bool raise_direct; /* interrupts without the ring's suppression rules */
	bool backend_down; /* ops->activate fails */
	uint64_t served;   /* chains echoed, the device's own counter */
	struct virtio_dev_counters_snapshot seen; /* the counters as last read */
};

static void echo_notify(struct virtio_dev *dev, uint16_t q)
{
	struct echo *e = dev->priv;
	struct vq_chain *c = &e->chain;
	unsigned n_chains = 0;
	int r;
	while ((r = vq_pop(&dev->vqs[q], dev->mem, c)) == 1) {
		uint32_t n = vq_chain_readable(c);
		n = n < sizeof(e->buf) ? n : sizeof(e->buf);
		n = n < vq_chain_writable(c) ? n : vq_chain_writable(c);
		FZ_ASSERT(vq_chain_read(c, dev->mem, e->buf, n) == 0, "echo read");
		FZ_ASSERT(vq_chain_write(c, dev->mem, e->buf, n) == 0, "echo write");
		FZ_ASSERT(c->written == n, "echo written");
		if (n && e->buf[0] == ECHO_CFG_BYTE) {
			e->config[0]++;
			virtio_dev_config_changed(dev);
		}
		if (vq_push(&dev->vqs[q], dev->mem, c))
			break;
		e->served++;
		if (e->budget && ++n_chains == e->budget) {
			virtio_dev_reschedule(dev, q); /* the rest on the next pass */
			break;
		}
	}
	if (r < 0)
		virtio_dev_fail(dev, vq_strerror(r));
	if (e->raise_direct)
		virtio_dev_raise_queue_irq(dev, q);
	else
		virtio_dev_notify_used(dev, q);
}

static void echo_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			      uint32_t len)
{
	struct echo *e = dev->priv;
	FZ_ASSERT(offset < sizeof(e->config) && len <= sizeof(e->config) - offset,
		  "config write [%u, +%u) past the config space", offset, len);
	memcpy(e->config + offset, data, len);
	virtio_dev_config_changed(dev);
}

static int echo_activate(struct virtio_dev *dev)
{
	struct echo *e = dev->priv;
	return e->backend_down ? -EIO : 0;
}

/* device.h: a reset runs with dev->lock (and every group lock) held. */
static void echo_reset(struct virtio_dev *dev)
{
	bool held = pthread_mutex_trylock(&dev->lock) == EBUSY;
	if (!held)
		pthread_mutex_unlock(&dev->lock);
	FZ_ASSERT(held, "ops->reset without dev->lock");
}

static void echo_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx)
{
	struct echo *e = dev->priv;
	put(ctx, "echoed", e->served);
}

static int echo_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct echo *e = dev->priv;
	if (cap < sizeof(e->config))
		return -ENOSPC;
	memcpy(buf, e->config, sizeof(e->config));
	*len = sizeof(e->config);
	return 0;
}

/* Any config bytes are fine: the driver may write all of them. */
static int echo_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct echo *e = dev->priv;
	if (len != sizeof(e->config))
		return -EINVAL;
	memcpy(e->config, buf, len);
	return 0;
}

static const struct virtio_dev_ops echo_ops = {
    .queue_notify = echo_notify,
    .config_write = echo_config_write,
    .activate = echo_activate,
    .reset = echo_reset,
    .counters = echo_counters,
    .save = echo_save,
    .restore = echo_restore,
};

/* The core refuses a description it cannot serve (device.h), touching nothing. */
static void check_refusals(const struct virtio_dev *good, const struct guest_mem *mem)
{
	static const struct virtio_dev_ops no_notify = {.config_write = echo_config_write};
	for (int i = 0; i < 10; i++) {
		struct virtio_dev d = *good;
		switch (i) {
		case 0:
			d.ops = NULL;
			break;
		case 1:
			d.ops = &no_notify;
			break;
		case 2:
			d.name = NULL;
			break;
		case 3:
			d.num_queues = 0;
			break;
		case 4:
			d.num_queues = VIRTIO_DEV_MAX_QUEUES + 1;
			break;
		case 5:
			d.queue_max_size = 48; /* not a power of two */
			break;
		case 6:
			d.queue_max_size = 2 * VQ_CHAIN_MAX_SEGS;
			break;
		case 7:
			d.config = NULL; /* with a config_len */
			break;
		case 8:
			d.num_groups = VIRTIO_DEV_MAX_GROUPS + 1;
			break;
		default:
			d.num_groups = 2;
			d.queue_group[0] = 2; /* a group it does not have */
			break;
		}
		FZ_ASSERT(virtio_dev_init(&d, mem) == -EINVAL && !d.initialized,
			  "description %d accepted", i);
	}
}

static int echo_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	struct echo *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	uint8_t b = fz_u8(in);
	uint8_t nq = 1 + b % 3;
	e->dev = (struct virtio_dev){
	    .name = "echo",
	    .device_id = 42,
	    .host_features = 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
			     1ull << VIRTIO_F_RING_PACKED,
	    .num_queues = nq,
	    .queue_max_size = 64,
	    .config = e->config,
	    .config_len = sizeof(e->config),
	    .ops = &echo_ops,
	    .priv = e,
	};
	e->budget = b & 0x40 ? 1 + (b >> 2) % 4 : 0;
	e->raise_direct = b & 0x20;
	if (b & 0x80 && nq > 1) { /* one queue group per queue, as multiqueue blk and net have */
		e->dev.num_groups = nq;
		for (uint8_t q = 0; q < nq; q++)
			e->dev.queue_group[q] = q;
	}
	if (b & 0x10)
		check_refusals(&e->dev, mem);
	if (virtio_dev_init(&e->dev, mem)) {
		virtio_dev_destroy(&e->dev);
		free(e);
		return -1;
	}
	*out = &e->dev;
	return 0;
}

static void echo_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev->priv);
}

/* What one I/O thread does per wakeup (io_thread.c serve_batch): its group's pending queues
 * served under the group's lock, interrupts and failures deferred, then carried out. */
static void group_pass(struct virtio_dev *dev, unsigned g)
{
	struct virtio_group *grp = &dev->groups[g];
	virtio_group_enter(dev, g);
	pthread_mutex_lock(grp->lock);
	virtio_group_process_pending(dev, g);
	pthread_mutex_unlock(grp->lock);
	virtio_group_leave();
	virtio_group_flush(dev, grp);
	FZ_ASSERT(!atomic_load(&grp->deferred_irqs) && !atomic_load(&grp->deferred_fail),
		  "group %u kept deferred work after its flush", g);
	FZ_ASSERT(!atomic_load(&dev->failing) || (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET),
		  "a deferred failure was not carried out");
}

static void check_counter(uint64_t now, uint64_t *seen, const char *name)
{
	FZ_ASSERT(now >= *seen, "counter %s went back from %llu to %llu", name,
		  (unsigned long long)*seen, (unsigned long long)now);
	*seen = now;
}

static void put_counter(void *ctx, const char *name, uint64_t value)
{
	struct echo *e = ctx;
	FZ_ASSERT(!strcmp(name, "echoed") && value == e->served, "extra counter %s = %llu", name,
		  (unsigned long long)value);
}

/* What the metrics code reads (vmm/vm/metrics.c), with no lock. */
static void read_counters(struct virtio_dev *dev)
{
	struct echo *e = dev->priv;
	struct virtio_dev_counters_snapshot now;
	virtio_dev_counters_read(dev, &now);
	check_counter(now.kicks, &e->seen.kicks, "kicks");
	check_counter(now.requests, &e->seen.requests, "requests");
	check_counter(now.bytes, &e->seen.bytes, "bytes");
	check_counter(now.errors, &e->seen.errors, "errors");
	check_counter(now.stalls, &e->seen.stalls, "stalls");
	check_counter(now.interrupts, &e->seen.interrupts, "interrupts");
	virtio_dev_extra_counters(dev, put_counter, e);
	pthread_mutex_lock(&dev->lock);
	for (uint16_t q = 0; q <= dev->num_queues; q++)
		FZ_ASSERT(virtio_dev_queue_irqfd(dev, q) == -1, "virtio-mmio has no irqfds");
	pthread_mutex_unlock(&dev->lock);
}

/* What a transport does for a driver that makes queue q ready with a size that is not a power
 * of two (a QueueNum write is only checked at activation): DRIVER_OK must fail the device
 * (2.1.2). Every later bring-up resets it. */
static void bad_queue_bring_up(struct virtio_dev *dev, uint16_t q)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 0, 0);
	virtio_dev_set_features(dev, 1, 1); /* VIRTIO_F_VERSION_1 */
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	dev->vqs[q].num = 3;
	virtio_dev_set_queue_ready(dev, q, true);
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	FZ_ASSERT(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET, "a queue of size 3 started");
	pthread_mutex_unlock(&dev->lock);
}

static void echo_special(struct virtio_dev *dev, struct fz_in *in)
{
	struct echo *e = dev->priv;
	uint8_t op = fz_u8(in);
	switch (op % 4) {
	case 0: { /* kicks through ioeventfds (queues only marked), then the I/O threads' pass */
		uint8_t kicks = fz_u8(in);
		pthread_mutex_lock(&dev->lock);
		for (uint16_t q = 0; q < dev->num_queues; q++)
			if (kicks >> q & 1)
				virtio_dev_kick(dev, q);
		pthread_mutex_unlock(&dev->lock);
		for (unsigned g = 0; g < virtio_dev_groups(dev); g++)
			group_pass(dev, g);
		break;
	}
	case 1:
		read_counters(dev);
		break;
	case 2: /* the host backend stops (or starts) being able to start, or a bad queue */
		if (op & 8)
			bad_queue_bring_up(dev, (op >> 4) % dev->num_queues);
		else
			e->backend_down = op & 4;
		break;
	default: /* one group's pass alone, with whatever is pending */
		group_pass(dev, (op >> 2) % virtio_dev_groups(dev));
		break;
	}
}

static const struct fz_dev_hooks echo_hooks = {
    .create = echo_create, .destroy = echo_destroy, .special = echo_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &echo_hooks);
}
