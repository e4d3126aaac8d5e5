/* virtio-mmio version 2 register file (virtio 1.2, 4.2.2). */
#include "virtio/transport/virtio_mmio.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_SEL = 0x0ac,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_QUEUE_RESET = 0x0c0,
	REG_CONFIG_GENERATION = 0x0fc,
};

void virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *dev)
{
	memset(t, 0, sizeof(*t));
	t->dev = dev;
}

void virtio_mmio_save(const struct virtio_mmio *t, struct virtio_mmio_state *s)
{
	*s = (struct virtio_mmio_state){t->device_features_sel, t->driver_features_sel,
					t->queue_sel, 0};
}

int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *s)
{
	if (s->reserved)
		return -EINVAL;
	t->device_features_sel = s->device_features_sel;
	t->driver_features_sel = s->driver_features_sel;
	t->queue_sel = s->queue_sel;
	return 0;
}

/* The selected queue, or NULL when QueueSel names no queue. */
static struct virtqueue *selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->dev->num_queues ? &t->dev->vqs[t->queue_sel] : NULL;
}

static uint32_t read_queue_reg(struct virtio_mmio *t, uint64_t reg)
{
	struct virtqueue *vq = selected(t);
	if (!vq)
		return 0; /* QueueNumMax 0: "the queue is not available" */
	switch (reg) {
	case REG_QUEUE_NUM_MAX:
		return vq->max_size;
	case REG_QUEUE_NUM:
		return vq->num;
	case REG_QUEUE_READY:
		return t->dev->queue_ready[t->queue_sel];
	case REG_QUEUE_DESC_LOW:
		return (uint32_t)vq->desc_addr;
	case REG_QUEUE_DESC_HIGH:
		return (uint32_t)(vq->desc_addr >> 32);
	case REG_QUEUE_DRIVER_LOW:
		return (uint32_t)vq->driver_addr;
	case REG_QUEUE_DRIVER_HIGH:
		return (uint32_t)(vq->driver_addr >> 32);
	case REG_QUEUE_DEVICE_LOW:
		return (uint32_t)vq->device_addr;
	case REG_QUEUE_DEVICE_HIGH:
		return (uint32_t)(vq->device_addr >> 32);
	default:
		return 0;
	}
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t reg)
{
	struct virtio_dev *dev = t->dev;
	switch (reg) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID:
		return dev->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return virtio_dev_get_features(dev, t->device_features_sel);
	case REG_INTERRUPT_STATUS:
		return virtio_dev_isr(dev);
	case REG_STATUS:
		return dev->status;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions: length -1 (4.2.2) */
	case REG_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return read_queue_reg(t, reg);
	}
}

/* Ring addresses and size may change only while the queue is not ready (4.2.3.2). */
static void set_addr(struct virtio_mmio *t, uint64_t *addr, bool high, uint32_t v)
{
	if (t->dev->queue_ready[t->queue_sel])
		return;
	*addr = high ? (*addr & 0xffffffffULL) | ((uint64_t)v << 32) : (*addr & ~0xffffffffULL) | v;
}

/* 4.2.2.2: the driver stops a queue by writing 0 to QueueReady and reading it back, after which
 * the device may not use the queue. Requests still in flight (popped, not pushed: an async
 * virtio-blk read, a held rx chain) cannot be recalled from here, and once the queue is reset
 * and made ready again they would complete into the new ring with stale ids. So a running
 * device that loses a queue with requests in flight fails (DEVICE_NEEDS_RESET, 2.1.2): no
 * queue activates again before the driver's reset, which the device models already drain.
 * Without requests in flight the queue simply resets (Linux writes 0 only after a reset). */
static void set_queue_ready(struct virtio_mmio *t, struct virtqueue *vq, bool ready)
{
	struct virtio_dev *dev = t->dev;
	if (!ready && dev->queue_ready[t->queue_sel] && virtio_dev_running(dev) && vq->inflight)
		virtio_dev_fail(dev, "QueueReady cleared with requests in flight");
	virtio_dev_set_queue_ready(dev, (uint16_t)t->queue_sel, ready);
}

static void write_queue_reg(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	struct virtqueue *vq = selected(t);
	if (!vq)
		return;
	switch (reg) {
	case REG_QUEUE_NUM:
		if (!t->dev->queue_ready[t->queue_sel])
			vq->num = v; /* validated (power of two, <= max) at activation */
		break;
	case REG_QUEUE_READY:
		set_queue_ready(t, vq, v & 1);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_addr(t, &vq->desc_addr, reg == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_addr(t, &vq->driver_addr, reg == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_addr(t, &vq->device_addr, reg == REG_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		log_debug("%s: write 0x%x to read-only or unknown register 0x%llx", t->dev->name, v,
			  (unsigned long long)reg);
		break;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	struct virtio_dev *dev = t->dev;
	switch (reg) {
	case REG_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		virtio_dev_set_features(dev, t->driver_features_sel, v);
		break;
	case REG_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case REG_QUEUE_NOTIFY:
		/* Reached only when no ioeventfd took the write (tests, or a value that matches no
		 * queue). Bits 16-31 carry ring position with NOTIFICATION_DATA, not offered. */
		virtio_dev_kick(dev, (uint16_t)v);
		break;
	case REG_INTERRUPT_ACK:
		virtio_dev_ack(dev, v);
		break;
	case REG_STATUS:
		virtio_dev_set_status(dev, (uint8_t)v);
		break;
	case REG_SHM_SEL:
	case REG_QUEUE_RESET: /* VIRTIO_F_RING_RESET is not offered */
		break;
	default:
		write_queue_reg(t, reg, v);
		break;
	}
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len)
{
	pthread_mutex_lock(&t->dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		virtio_dev_config_read(t->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len);
	} else if (len == 4 && offset % 4 == 0) {
		uint32_t v = read_reg(t, offset);
		memcpy(data, &v, 4);
	} else {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&t->dev->lock);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len)
{
	pthread_mutex_lock(&t->dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		virtio_dev_config_write(t->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len);
	} else if (len == 4 && offset % 4 == 0) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_reg(t, offset, v);
	} else {
		log_debug("%s: %u-byte register write at 0x%llx ignored", t->dev->name, len,
			  (unsigned long long)offset);
	}
	pthread_mutex_unlock(&t->dev->lock);
}

static void bus_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	virtio_mmio_read(opaque, offset, data, len);
}

static void bus_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	virtio_mmio_write(opaque, offset, data, len);
}

const struct io_ops virtio_mmio_ops = {bus_read, bus_write};
