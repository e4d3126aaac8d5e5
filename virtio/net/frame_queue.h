/* A bounded FIFO of Ethernet frames with an eventfd that is readable while the FIFO is not
 * empty: how a backend that produces frames from callbacks (libslirp's send_packet, a test's
 * injection) hands them to the device's I/O thread, which watches the eventfd as its rx_fd.
 *
 * Frames are copied in; when the FIFO is full the new frame is refused (the producer counts the
 * drop: slirp's TCP retransmits, 5.1.6.4 lets a NIC drop what it cannot hold). Not thread-safe:
 * producer and consumer run under the device lock. */
#ifndef VIRTIO_NET_FRAME_QUEUE_H
#define VIRTIO_NET_FRAME_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct net_frame;

struct net_frame_queue {
	struct net_frame *head, *tail;
	size_t count, max_frames;
	uint64_t dropped; /* frames refused because the FIFO was full */
	int event_fd;	  /* readable while count > 0 */
};

/* Returns 0 or -errno. max_frames > 0. */
int net_frame_queue_init(struct net_frame_queue *q, size_t max_frames);
void net_frame_queue_free(struct net_frame_queue *q);

/* Appends a copy of the frame. Returns 0, -ENOBUFS (full: counted in `dropped`) or -ENOMEM. */
int net_frame_queue_push(struct net_frame_queue *q, const void *data, size_t len);

/* Moves the oldest frame into buf. Returns its length, -EAGAIN when empty, or -EMSGSIZE when it
 * is longer than `len` (the frame is discarded). */
ssize_t net_frame_queue_pop(struct net_frame_queue *q, void *buf, size_t len);

#endif
