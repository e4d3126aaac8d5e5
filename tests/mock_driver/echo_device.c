/* The echo test device (see echo_device.h). */
#include "echo_device.h"

#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

static void echo_notify(struct virtio_dev *dev, uint16_t q)
{
	struct vq_chain *c = malloc(sizeof(*c));
	struct echo_device *e = dev->priv;
	int r;

	e->notifies++;
	while ((r = vq_pop(&dev->vqs[q], dev->mem, c)) == 1) {
		uint8_t buf[256];
		uint32_t n = vq_chain_readable(c);
		n = n < sizeof(buf) ? n : sizeof(buf);
		n = n < vq_chain_writable(c) ? n : vq_chain_writable(c);
		vq_chain_read(c, dev->mem, buf, n);
		vq_chain_write(c, dev->mem, buf, n);
		vq_push(&dev->vqs[q], dev->mem, c);
	}
	if (r < 0)
		virtio_dev_fail(dev, vq_strerror(r));
	virtio_dev_notify_used(dev, q);
	free(c);
}

static void echo_reset(struct virtio_dev *dev)
{
	((struct echo_device *)dev->priv)->resets++;
}

static void record_irq(void *opaque, uint16_t queue)
{
	struct echo_device *e = opaque;
	if (queue == VIRTIO_IRQ_CONFIG)
		e->raised_config++;
	else
		e->raised++;
}

static const struct virtio_dev_ops echo_ops = {.queue_notify = echo_notify, .reset = echo_reset};

int echo_device_init(struct echo_device *e, uint16_t num_queues, const struct guest_mem *mem)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->config, "\x01\x02\x03\x04\x05\x06\x07\x08", sizeof(e->config));
	e->dev = (struct virtio_dev){
	    .name = "echo",
	    .device_id = ECHO_DEVICE_ID,
	    .host_features = 1ULL << VIRTIO_RING_F_EVENT_IDX,
	    .num_queues = num_queues,
	    .queue_max_size = 64,
	    .config = e->config,
	    .config_len = sizeof(e->config),
	    .ops = &echo_ops,
	    .priv = e,
	};
	int err = virtio_dev_init(&e->dev, mem);
	e->dev.irq = (struct virtio_irq){record_irq, e};
	return err;
}
