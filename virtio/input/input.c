/* virtio-input device (virtio 1.2 section 5.8). See virtio/input/input.h. */
#include "virtio/input/input.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/core/serve.h"
#include "vmm/base/log.h"

#define INPUT_BUDGET (2 * VIRTIO_INPUT_QUEUE_SIZE) /* chains per wakeup */

struct vinput {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_input_config config;
	enum input_kind kind;
	struct input_queue *events;
	struct vq_chain chain;
	bool fd_added;
};

static struct vinput *to_input(struct virtio_dev *dev)
{
	return dev->priv;
}

static bool events_left(struct virtio_dev *dev, void *opaque)
{
	struct virtio_input_event ev;

	(void)opaque;
	return input_queue_peek(to_input(dev)->events, &ev);
}

/* 5.8.6.2: one event per eventq buffer. A buffer too small for an event goes back used with len 0
 * and the event waits for the next one. */
static int event_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
			uint64_t *bytes)
{
	struct vinput *in = to_input(dev);
	struct virtio_input_event ev;

	(void)opaque;
	(void)bytes;
	if (input_queue_peek(in->events, &ev) &&
	    vq_chain_write(chain, dev->mem, &ev, sizeof(ev)) == 0)
		input_queue_drop(in->events);
	return VIRTIO_CHAIN_PUSH;
}

/* While both events and buffers last, at most INPUT_BUDGET per wakeup. */
static void deliver(struct vinput *in)
{
	const struct virtio_server s = {
	    .chain = &in->chain,
	    .max_chains = INPUT_BUDGET,
	    .has_work = events_left,
	    .handle = event_handle,
	};

	if (!virtio_dev_running(&in->dev))
		return;
	input_queue_clear_wakeup(in->events);
	virtio_serve_queue(&in->dev, VIRTIO_INPUT_EVENTQ, &s);
}

/* 5.8.6.1: the driver reports LED (and other output) states; nothing on the host to drive. */
static int status_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
			 uint64_t *bytes)
{
	struct virtio_input_event ev;

	(void)opaque;
	(void)bytes;
	if (vq_chain_read(chain, dev->mem, &ev, sizeof(ev)) == 0)
		log_debug("%s: status event type %u code %u value %u", dev->name, ev.type, ev.code,
			  ev.value);
	return VIRTIO_CHAIN_PUSH;
}

static void drain_status(struct vinput *in)
{
	const struct virtio_server s = {
	    .chain = &in->chain,
	    .max_chains = INPUT_BUDGET,
	    .handle = status_handle,
	};

	virtio_serve_queue(&in->dev, VIRTIO_INPUT_STATUSQ, &s);
}

static void input_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	if (q == VIRTIO_INPUT_EVENTQ)
		deliver(to_input(dev));
	else if (q == VIRTIO_INPUT_STATUSQ)
		drain_status(to_input(dev));
}

static void events_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd;
	(void)revents;
	deliver(to_input(dev));
}

static int input_activate(struct virtio_dev *dev)
{
	struct vinput *in = to_input(dev);

	if (!in->fd_added) {
		int err = virtio_dev_add_fd(dev, input_queue_fd(in->events), EPOLLIN, events_ready);

		if (err) {
			log_error("%s: cannot watch its event source: %s", dev->name,
				  strerror(-err));
			return err;
		}
		in->fd_added = true;
	}
	deliver(in);
	drain_status(in);
	return 0;
}

/* 5.8.4: the driver writes select (offset 0) and subsel (offset 1); the rest is read-only. */
static void input_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			       uint32_t len)
{
	struct vinput *in = to_input(dev);
	const uint8_t *b = data;

	for (uint32_t i = 0; i < len; i++) {
		if (offset + i == 0)
			in->config.select = b[i];
		else if (offset + i == 1)
			in->config.subsel = b[i];
	}
	if (offset <= 1)
		input_config_select(in->kind, &in->config);
}

static const struct virtio_dev_ops input_ops = {
    .activate = input_activate,
    .queue_notify = input_queue_notify,
    .config_write = input_config_write,
};

int virtio_input_create(struct virtio_dev **out, enum input_kind kind, struct input_queue *events)
{
	struct vinput *in = calloc(1, sizeof(*in));

	if (!in)
		return -ENOMEM;
	in->kind = kind;
	in->events = events;
	input_config_select(kind, &in->config);
	in->dev = (struct virtio_dev){
	    .name = kind == INPUT_KEYBOARD ? "virtio-keyboard" : "virtio-tablet",
	    .device_id = VIRTIO_ID_INPUT,
	    .host_features = 1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			     1ULL << VIRTIO_F_RING_PACKED,
	    .num_queues = 2,
	    .queue_max_size = VIRTIO_INPUT_QUEUE_SIZE,
	    .config = &in->config,
	    .config_len = sizeof(in->config),
	    .ops = &input_ops,
	    .priv = in,
	};
	*out = &in->dev;
	return 0;
}
