/* A guest-side virtio-net driver (virtio 1.2 section 5.1) over the runtime's virtio-mmio core
 * and virtqueues: one receive/transmit queue pair (receiveq1 = queue 0, transmitq1 = queue 1, no
 * control queue), or with cfg->pairs >= 2 several pairs (VIRTIO_NET_F_MQ, 5.1.6.5.5: pair p's
 * queues are 2p and 2p + 1) and the control queue (queue 2 * max_virtqueue_pairs, 5.1.2).
 *
 * Every buffer in both directions starts with the 12-byte struct virtio_net_hdr_v1 (5.1.6:
 * VERSION_1 is always negotiated). Receive buffers are posted in two shapes, alternately, so the
 * device meets both: one descriptor (header + frame), or two (a 12-byte header descriptor, then
 * the frame's). Without VIRTIO_NET_F_MRG_RXBUF each buffer holds a whole frame (5.1.6.3.1: 1526
 * bytes, or 65562 with GUEST_TSO/UFO); with it, num_buffers (5.1.6.4) says how many buffers a
 * frame took, and net_recv() gathers them. Transmit copies a frame into one of a few slots and
 * sends it as one descriptor, or (every other frame) as header + frame descriptors. Every pair
 * has its own receive buffers and transmit slots.
 *
 * Waiting: net_wait() sleeps (sti; hlt) on the device's interrupt, ring 0 only. net_recv(),
 * net_send(), net_post_rx() (and their _on variants) are plain memory and MMIO, so a ring-3
 * (run_user) loop may poll with them. One CPU, not thread-safe. */
#ifndef GUEST_NET_DEV_H
#define GUEST_NET_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include "virtio_vq.h"

#define NET_HDR_LEN    12u    /* struct virtio_net_hdr_v1 */
#define NET_FRAME_MAX  65550u /* 5.1.6.3.1: a 65562-byte buffer minus the header */
#define NET_FRAME_STD  1514u  /* Ethernet header + 1500 bytes of MTU */
#define NET_QUEUE_SIZE 256u
#define NET_MAX_PAIRS  8u /* queue pairs net_dev_init() sets up at most */

/* net_dev_init() error beyond VDEV_ERR_* / VQ_ERR_*: the device has fewer than cfg->pairs
 * queue pairs, or refused (or never answered) VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET. */
#define NET_ERR_MQ (-32)

struct net_dev_config {
	uint64_t wanted;     /* features beyond VERSION_1 and MAC (e.g. MRG_RXBUF, CSUM ...) */
	uint32_t rx_buf_len; /* bytes per receive buffer, header included; 0 = what the
			      * negotiated features need */
	uint16_t rx_nbufs;   /* 0 = NET_QUEUE_SIZE */
	uint16_t tx_nbufs;   /* transmit slots; 0 = 16 */
	uint32_t tx_buf_len; /* bytes per slot, header included; 0 = 12 + NET_FRAME_MAX */
	bool defer_rx;	     /* leave the receive queue empty until net_post_rx() */
	uint8_t vector;	     /* interrupt vector; 0 = no interrupt (polling only) */
	uint16_t pairs;	     /* queue pairs; 0 or 1 = one, no MQ. 2..NET_MAX_PAIRS: MQ and
			      * CTRL_VQ required, every pair set up and put in use with
			      * VQ_PAIRS_SET */
};

/* One receiveq/transmitq pair with its receive buffers and transmit slots. */
struct net_pair {
	struct vq rx, tx;
	uint8_t *rx_mem;  /* rx_nbufs * rx_buf_len */
	bool *rx_posted;  /* by buffer: with the device */
	uint8_t *tx_mem;  /* tx_nbufs * tx_buf_len */
	bool *tx_busy;	  /* by slot: with the device */
	uint16_t tx_next; /* the slot the next frame takes */
	uint64_t rx_frames, tx_frames;
};

struct net_dev {
	struct vdev *vdev;
	struct net_pair pair[NET_MAX_PAIRS];
	uint16_t npairs;    /* pairs in use (1 without MQ) */
	uint16_t pairs_set; /* pairs whose queues are set up (cfg->pairs, at least 1) */
	uint16_t max_pairs; /* config max_virtqueue_pairs with MQ, else 1 */
	uint16_t rx_cursor; /* net_recv(): the pair it looks at first */
	struct vq ctrl;	    /* with MQ: the control queue */
	uint8_t *ctrl_mem;  /* command header, data, ack */
	uint8_t mac[6];
	uint16_t mtu; /* config space mtu, or 1500 without VIRTIO_NET_F_MTU */
	bool mrg;
	uint32_t rx_buf_len;
	uint16_t rx_nbufs;
	uint32_t tx_buf_len;
	uint16_t tx_nbufs;
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, rx_bad; /* all pairs */
	uint64_t rx_num_buffers_not_1; /* without MRG_RXBUF: headers whose num_buffers != 1 */
};

/* Negotiates (VERSION_1 and MAC required, cfg->wanted if offered; with cfg->pairs >= 2 MQ and
 * CTRL_VQ too), reads the config space, sets up the queues of every pair (and the control
 * queue), routes the interrupt, sets DRIVER_OK, puts the pairs in use (net_set_pairs) and posts
 * every receive buffer (unless cfg->defer_rx). Ring 0. Returns 0, or a VDEV_ERR_* / VQ_ERR_* /
 * NET_ERR_MQ (a message says which). */
int net_dev_init(struct net_dev *n, struct vdev *d, const struct net_dev_config *cfg);

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (5.1.6.5.5) on the control queue, polled for up to 2 s.
 * Returns the device's ack (VIRTIO_NET_OK, VIRTIO_NET_ERR), or -1 without a control queue or
 * without an answer. On VIRTIO_NET_OK with 1 <= pairs <= the pairs set up, n->npairs = pairs. */
int net_set_pairs(struct net_dev *n, uint16_t pairs);

/* Posts every receive buffer (of every pair set up) not already with the device, then kicks. */
void net_post_rx(struct net_dev *n);

/* Takes the next received frame of pair p: copies it (header stripped) into buf (up to cap
 * bytes; the rest is cut) and the header into *hdr when hdr is not NULL, gives the buffers back
 * to the device. Returns the frame's full length, 0 when none is waiting, -1 when the device
 * broke a rule (bad num_buffers, a used length shorter than the header; counted in rx_bad). */
int net_recv_on(struct net_dev *n, uint16_t p, void *buf, uint32_t cap,
		struct virtio_net_hdr_v1 *hdr);

/* net_recv_on() of the first pair in use with a frame waiting, taking turns between pairs. */
int net_recv(struct net_dev *n, void *buf, uint32_t cap, struct virtio_net_hdr_v1 *hdr);

/* Sends one frame with header *hdr (NULL: all zero) on pair p's transmit queue. Waits
 * (polling, bounded) for a free slot. Returns 0, or -1 when len is too long for a slot, p is not
 * in use or no slot freed up in time. */
int net_send_on(struct net_dev *n, uint16_t p, const void *frame, uint32_t len,
		const struct virtio_net_hdr_v1 *hdr);

/* net_send_on() pair 0. */
int net_send(struct net_dev *n, const void *frame, uint32_t len,
	     const struct virtio_net_hdr_v1 *hdr);

/* Takes back the transmit slots the device finished with, on every pair set up. */
void net_tx_reclaim(struct net_dev *n);

/* Transmit descriptors still with the device, on every pair set up (0: every frame sent is
 * done). */
unsigned net_tx_in_flight(const struct net_dev *n);

/* Sleeps on the device's interrupt until a frame is waiting (on any pair in use) or timeout_ms
 * pass. Returns true when a frame is waiting. Ring 0, needs cfg->vector. */
bool net_wait(struct net_dev *n, uint32_t timeout_ms);

#endif
