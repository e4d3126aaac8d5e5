/* A queue of input events from the host (the SDL window's thread, an input script) to a
 * virtio-input device, safe across threads. Producers push whole groups (the events up to and
 * including SYN_REPORT) or nothing, so a full queue never leaves a half gesture; the device
 * takes events one at a time as the guest supplies eventq buffers, and is woken through an
 * eventfd it registers with its I/O thread (virtio_dev_add_fd). */
#ifndef VIRTIO_INPUT_EVENTS_H
#define VIRTIO_INPUT_EVENTS_H

#include <linux/virtio_input.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INPUT_QUEUE_CAP 1024 /* events waiting for the guest */

struct input_queue {
	pthread_mutex_t lock;
	struct virtio_input_event ev[INPUT_QUEUE_CAP];
	unsigned head, count;
	unsigned long dropped; /* groups refused because the queue was full */
	int fd;		       /* eventfd: readable after a push */
};

/* Returns 0 or -errno. */
int input_queue_init(struct input_queue *q);
void input_queue_destroy(struct input_queue *q);

/* Appends `n` events as one group, all or nothing; wakes the consumer. Any thread. Returns 0,
 * -ENOSPC (queue full: the group is dropped and counted) or -EINVAL (n == 0). */
int input_queue_push(struct input_queue *q, const struct virtio_input_event *ev, size_t n);
/* One event then SYN_REPORT, as one group. */
int input_queue_push_syn(struct input_queue *q, uint16_t type, uint16_t code, int32_t value);

/* Consumer: copies the oldest event to *ev without removing it; false when empty. */
bool input_queue_peek(struct input_queue *q, struct virtio_input_event *ev);
/* Consumer: removes the oldest event (after it was delivered). */
void input_queue_drop(struct input_queue *q);
/* Consumer: drains the eventfd (call before looking at the queue, so no wake-up is lost). */
void input_queue_clear_wakeup(struct input_queue *q);
unsigned input_queue_count(struct input_queue *q);

/* Snapshot: copies the waiting events, oldest first, to out (room for `cap`); returns how many
 * were copied (at most cap, at most INPUT_QUEUE_CAP). */
unsigned input_queue_copy(struct input_queue *q, struct virtio_input_event *out, unsigned cap);
/* Restore: the queue holds exactly ev[0, n) (n <= INPUT_QUEUE_CAP) and wakes the consumer.
 * Returns 0 or -EINVAL (n too large: the queue is unchanged). */
int input_queue_replace(struct input_queue *q, const struct virtio_input_event *ev, unsigned n);

static inline int input_queue_fd(const struct input_queue *q)
{
	return q->fd;
}

#endif
