/* virtio-input device (virtio 1.2 section 5.8). See virtio/input/input.h. */
#include "virtio/input/input.h"

#include <errno.h>
#include <linux/input-event-codes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/log.h"
#include "virtio/core/serve.h"

#define INPUT_BUDGET (2 * VIRTIO_INPUT_QUEUE_SIZE) /* chains per wakeup */

struct vinput {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_input_config config;
	enum input_kind kind;
	struct input_queue *events;
	struct vq_chain chain;
	bool fd_added;
	uint16_t leds; /* bit n: LED n on, as the driver last set it through the statusq */
};

/* The LEDs the keyboard offers (config.c): Num, Caps and Scroll Lock; the tablet none. */
static uint16_t leds_offered(enum input_kind kind)
{
	return kind == INPUT_KEYBOARD ? 1u << LED_NUML | 1u << LED_CAPSL | 1u << LED_SCROLLL : 0;
}

static struct vinput *to_input(struct virtio_dev *dev)
{
	return dev->priv;
}

static int events_left(struct virtio_dev *dev, void *opaque)
{
	struct virtio_input_event ev;

	(void)opaque;
	return input_queue_peek(to_input(dev)->events, &ev) ? VIRTIO_WORK_CHAIN : VIRTIO_WORK_NONE;
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
	if (vq_chain_read(chain, dev->mem, &ev, sizeof(ev)) == 0) {
		struct vinput *in = to_input(dev);
		uint16_t bit = ev.code < 16 ? (uint16_t)(1u << ev.code) : 0;

		log_debug("%s: status event type %u code %u value %u", dev->name, ev.type, ev.code,
			  ev.value);
		if (ev.type == EV_LED && (bit & leds_offered(in->kind)))
			in->leds = ev.value ? in->leds | bit : in->leds & (uint16_t)~bit;
	}
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

/* The snapshot: the driver's config selection, the LEDs, then the events waiting for eventq
 * buffers (the host queue is the device's state too: they were injected before the snapshot). */
struct vinput_snap {
	uint8_t select, subsel;
	uint16_t leds;
	uint32_t nevents; /* struct virtio_input_event follow */
};

static size_t input_save_size(struct virtio_dev *dev)
{
	return sizeof(struct vinput_snap) +
	       input_queue_count(to_input(dev)->events) * sizeof(struct virtio_input_event);
}

static int input_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vinput *in = to_input(dev);
	struct vinput_snap h = {in->config.select, in->config.subsel, in->leds, 0};
	size_t room = cap < sizeof(h) ? 0 : (cap - sizeof(h)) / sizeof(struct virtio_input_event);
	struct virtio_input_event *ev = calloc(INPUT_QUEUE_CAP, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	h.nevents = input_queue_copy(in->events, ev, INPUT_QUEUE_CAP);
	if (cap < sizeof(h) || h.nevents > room) {
		free(ev);
		return -ENOSPC;
	}
	memcpy(buf, &h, sizeof(h));
	memcpy((uint8_t *)buf + sizeof(h), ev, h.nevents * sizeof(*ev));
	*len = sizeof(h) + h.nevents * sizeof(*ev);
	free(ev);
	return 0;
}

/* An event this device could have queued: SYN, or a type and code its config space offers. */
static bool event_ok(enum input_kind kind, const struct virtio_input_event *ev)
{
	struct virtio_input_config cfg = {.select = VIRTIO_INPUT_CFG_EV_BITS};

	if (ev->type == EV_SYN)
		return ev->code == SYN_REPORT;
	if (ev->type > 0xff)
		return false;
	cfg.subsel = (uint8_t)ev->type;
	input_config_select(kind, &cfg);
	return ev->code / 8 < cfg.size && (cfg.u.bitmap[ev->code / 8] >> (ev->code % 8) & 1);
}

static int input_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vinput *in = to_input(dev);
	const struct virtio_input_event *src;
	struct virtio_input_event *ev;
	struct vinput_snap h;
	int r = 0;

	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	if (h.leds & ~leds_offered(in->kind) || h.nevents > INPUT_QUEUE_CAP ||
	    len != sizeof(h) + h.nevents * sizeof(*ev))
		return -EINVAL;
	src = (const void *)((const uint8_t *)buf + sizeof(h));
	ev = calloc(h.nevents ? h.nevents : 1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	memcpy(ev, src, h.nevents * sizeof(*ev));
	for (uint32_t i = 0; !r && i < h.nevents; i++)
		r = event_ok(in->kind, &ev[i]) ? 0 : -EINVAL;
	if (!r)
		r = input_queue_replace(in->events, ev, h.nevents);
	free(ev);
	if (r)
		return r;
	in->leds = h.leds;
	in->config.select = h.select;
	in->config.subsel = h.subsel;
	input_config_select(in->kind, &in->config);
	return 0;
}

static const struct virtio_dev_ops input_ops = {
    .activate = input_activate,
    .queue_notify = input_queue_notify,
    .config_write = input_config_write,
    .save = input_save,
    .restore = input_restore,
    .save_size = input_save_size,
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
	    .host_features = VIRTIO_DEV_RING_FEATURES,
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
