/* Bounded frame FIFO with a "not empty" eventfd (see frame_queue.h). */
#include "virtio/net/frame_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct net_frame {
	struct net_frame *next;
	size_t len;
	uint8_t data[];
};

int net_frame_queue_init(struct net_frame_queue *q, size_t max_frames)
{
	*q = (struct net_frame_queue){.max_frames = max_frames, .event_fd = -1};
	if (max_frames == 0)
		return -EINVAL;
	q->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return q->event_fd < 0 ? -errno : 0;
}

void net_frame_queue_free(struct net_frame_queue *q)
{
	while (q->head) {
		struct net_frame *f = q->head;

		q->head = f->next;
		free(f);
	}
	q->tail = NULL;
	q->count = 0;
	if (q->event_fd >= 0)
		close(q->event_fd);
	q->event_fd = -1;
}

/* The eventfd counter is 1 exactly while the FIFO holds frames (level-triggered readiness). */
static void signal_nonempty(struct net_frame_queue *q)
{
	uint64_t one = 1;

	if (write(q->event_fd, &one, sizeof(one)) < 0)
		return; /* counter saturated: it is readable anyway */
}

static void clear_signal(struct net_frame_queue *q)
{
	uint64_t v;

	if (read(q->event_fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: already clear */
}

int net_frame_queue_push(struct net_frame_queue *q, const void *data, size_t len)
{
	struct net_frame *f;

	if (q->count >= q->max_frames) {
		q->dropped++;
		return -ENOBUFS;
	}
	f = malloc(sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->next = NULL;
	f->len = len;
	memcpy(f->data, data, len);
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	if (q->count++ == 0)
		signal_nonempty(q);
	return 0;
}

ssize_t net_frame_queue_pop(struct net_frame_queue *q, void *buf, size_t len)
{
	struct net_frame *f = q->head;
	ssize_t ret;

	if (!f)
		return -EAGAIN;
	q->head = f->next;
	if (!q->head)
		q->tail = NULL;
	if (--q->count == 0)
		clear_signal(q);
	ret = f->len <= len ? (ssize_t)f->len : -EMSGSIZE;
	if (ret >= 0)
		memcpy(buf, f->data, f->len);
	free(f);
	return ret;
}
