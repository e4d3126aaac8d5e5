/* Host-to-device input event queue. See virtio/input/events.h. */
#include "virtio/input/events.h"

#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int input_queue_init(struct input_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->fd < 0)
		return -errno;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void input_queue_destroy(struct input_queue *q)
{
	if (q->fd < 0)
		return;
	close(q->fd);
	q->fd = -1;
	pthread_mutex_destroy(&q->lock);
}

int input_queue_push(struct input_queue *q, const struct virtio_input_event *ev, size_t n)
{
	uint64_t one = 1;
	int err = 0;

	if (n == 0)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	if (n > INPUT_QUEUE_CAP - q->count) {
		q->dropped++;
		err = -ENOSPC;
	} else {
		for (size_t i = 0; i < n; i++)
			q->ev[(q->head + q->count++) % INPUT_QUEUE_CAP] = ev[i];
	}
	pthread_mutex_unlock(&q->lock);
	/* A full eventfd counter (never, in practice) only means the consumer is already due. */
	if (!err && write(q->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		err = -errno;
	return err;
}

int input_queue_push_syn(struct input_queue *q, uint16_t type, uint16_t code, int32_t value)
{
	struct virtio_input_event ev[2] = {
	    {.type = type, .code = code, .value = (uint32_t)value},
	    {.type = EV_SYN, .code = SYN_REPORT, .value = 0},
	};

	return input_queue_push(q, ev, 2);
}

bool input_queue_peek(struct input_queue *q, struct virtio_input_event *ev)
{
	bool some;

	pthread_mutex_lock(&q->lock);
	some = q->count > 0;
	if (some)
		*ev = q->ev[q->head];
	pthread_mutex_unlock(&q->lock);
	return some;
}

void input_queue_drop(struct input_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->count) {
		q->head = (q->head + 1) % INPUT_QUEUE_CAP;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
}

void input_queue_clear_wakeup(struct input_queue *q)
{
	uint64_t v;

	if (read(q->fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing pending */
}

unsigned input_queue_count(struct input_queue *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

unsigned input_queue_copy(struct input_queue *q, struct virtio_input_event *out, unsigned cap)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->count < cap ? q->count : cap;
	for (unsigned i = 0; i < n; i++)
		out[i] = q->ev[(q->head + i) % INPUT_QUEUE_CAP];
	pthread_mutex_unlock(&q->lock);
	return n;
}

int input_queue_replace(struct input_queue *q, const struct virtio_input_event *ev, unsigned n)
{
	uint64_t one = 1;

	if (n > INPUT_QUEUE_CAP)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	q->head = 0;
	q->count = n;
	if (n)
		memcpy(q->ev, ev, n * sizeof(*ev));
	pthread_mutex_unlock(&q->lock);
	/* A full eventfd counter (EAGAIN) only means the consumer is already due. */
	ssize_t w = n ? write(q->fd, &one, sizeof(one)) : 0;
	(void)w;
	return 0;
}
