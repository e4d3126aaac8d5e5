/* libFuzzer target: the virtio-mmio transport and the device core (virtio/transport/virtio_mmio.c,
 * virtio/core/device.c) with an echo device: each chain's readable bytes are copied into its
 * writable bytes. Registers, status transitions, resets in the middle of I/O, queue setup and
 * notifies come from the input (fuzz_virtio_dev.h), which also scribbles ring memory. The device
 * has 1 to 3 queues, sometimes one queue group each (the framework's group locking paths). */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct echo {
	struct virtio_dev dev;
	uint8_t config[12];
	struct vq_chain chain;
	uint8_t buf[512];
};

static void echo_notify(struct virtio_dev *dev, uint16_t q)
{
	struct echo *e = dev->priv;
	struct vq_chain *c = &e->chain;
	int r;
	while ((r = vq_pop(&dev->vqs[q], dev->mem, c)) == 1) {
		uint32_t n = vq_chain_readable(c);
		n = n < sizeof(e->buf) ? n : sizeof(e->buf);
		n = n < vq_chain_writable(c) ? n : vq_chain_writable(c);
		FZ_ASSERT(vq_chain_read(c, dev->mem, e->buf, n) == 0, "echo read");
		FZ_ASSERT(vq_chain_write(c, dev->mem, e->buf, n) == 0, "echo write");
		FZ_ASSERT(c->written == n, "echo written");
		if (vq_push(&dev->vqs[q], dev->mem, c))
			break;
	}
	if (r < 0)
		virtio_dev_fail(dev, vq_strerror(r));
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

static const struct virtio_dev_ops echo_ops = {
    .queue_notify = echo_notify,
    .config_write = echo_config_write,
};

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
	if (b & 0x80 && nq > 1) { /* one queue group per queue, as multiqueue blk and net have */
		e->dev.num_groups = nq;
		for (uint8_t q = 0; q < nq; q++)
			e->dev.queue_group[q] = q;
	}
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

static const struct fz_dev_hooks echo_hooks = {.create = echo_create, .destroy = echo_destroy};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &echo_hooks);
}
