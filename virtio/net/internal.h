/* State shared by the virtio-net files (net.c, rx.c, tx.c, ctrl.c, throttle.c). Not for other
 * modules: they use virtio/net/net.h. */
#ifndef VIRTIO_NET_INTERNAL_H
#define VIRTIO_NET_INTERNAL_H

#include <linux/virtio_net.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "virtio/core/rate_limiter.h"
#include "virtio/core/serve.h"
#include "virtio/net/backend.h"
#include "virtio/net/features.h"
#include "virtio/net/net.h"

/* The staging buffer holds header + frame, and one more byte to see that a frame was too big. */
#define NET_STAGE_LEN NET_RX_SLOT_LEN

struct vnet;

/* The frame being delivered into the guest's buffers (rx.c): how far, into how many. */
struct net_rx_fill {
	size_t off;		       /* bytes of the staged frame (header included) placed */
	unsigned nbufs;		       /* buffers reserved for it (their used elements: rx_used) */
	bool mrg;		       /* VIRTIO_NET_F_MRG_RXBUF: the frame may take several */
	int nhdr;		       /* iovecs in hdr */
	struct iovec hdr[NET_HDR_LEN]; /* where the header goes in the first buffer */
};

/* One receive/transmit queue pair (virtio 1.2 5.1.2: receiveq(i+1) is queue 2i, transmitq(i+1)
 * queue 2i+1) and everything that serves it: its own backend (one tap queue), staging and bounce
 * buffers, chain scratch and rate-limiter timers. The pair belongs to one queue group
 * (net_pair_group(): its I/O thread and lock), so nothing here is touched by another group's
 * thread. */
struct net_pair {
	struct vnet *n;
	uint16_t index;
	struct net_backend *be;
	bool rx_watching;  /* the backend's rx_fd is watched (EPOLLIN) */
	bool rx_broken;	   /* the backend failed to read: stop until the next activation */
	bool rx_charged;   /* the staged frame has passed the rx limiter */
	bool be_enabled;   /* the backend queue takes frames (tap: attached) */
	size_t rx_pending; /* bytes (header included) of the frame at rx_frame not delivered */
	uint8_t *rx_frame; /* the frame being delivered: in `stage` or in a backend buffer */
	uint8_t *stage;	   /* NET_STAGE_LEN: a frame read with recv(), header first */
	/* Frames read with recv_batch() and not yet staged: rx_batch[rx_next..rx_count). */
	struct net_rx_frame rx_batch[NET_RX_BATCH_MAX];
	unsigned rx_next, rx_count;
	unsigned rx_want; /* frames the next recv_batch() asks for: grows while batches come full */
	uint8_t *tx_bounce;    /* VIRTIO_NET_MAX_FRAME: a tx frame with too many segments */
	struct vq_chain chain; /* scratch for vq_pop() */
	struct vq_used rx_used[VIRTIO_NET_QUEUE_SIZE]; /* the buffers of the frame in progress */
	struct net_rx_fill fill;		       /* the frame in progress */
	bool rx_added; /* used elements added in this pass, not yet published */
	struct rl_timer rx_timer, tx_timer; /* armed: this pair waits for its direction's limiter */
	struct virtio_net_stats stats;	    /* summed over the pairs by virtio_net_get_stats() */
};

struct vnet {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_net_config cfg;
	struct virtio_net_rx_mode rx_mode;
	/* One limiter per direction, shared by the pairs (it has its own mutex). */
	struct rate_limiter rx_rl, tx_rl;
	bool fds_added;	    /* the pairs' fds registered with their I/O threads */
	uint16_t max_pairs; /* 1..VIRTIO_NET_MAX_PAIRS; more than 1 offers VIRTIO_NET_F_MQ */
	uint16_t pairs;	    /* in use (5.1.6.5.5): 1 until the driver sets more */
	struct vq_chain ctrl_chain; /* scratch of the control queue */
	/* Frames the egress policy refused, every pair's (relaxed atomic: the metrics read it
	 * without a lock). */
	_Atomic uint64_t tx_egress_dropped;
	struct net_pair p[VIRTIO_NET_MAX_PAIRS];
};

static inline struct vnet *to_vnet(struct virtio_dev *dev)
{
	return (struct vnet *)dev;
}

/* Queue numbers (5.1.2). The control queue is 2N with N = max_virtqueue_pairs when the driver
 * negotiated VIRTIO_NET_F_MQ, else 2 (N = 1). */
static inline uint16_t net_rxq(const struct net_pair *pr)
{
	return (uint16_t)(2 * pr->index);
}
static inline uint16_t net_txq(const struct net_pair *pr)
{
	return (uint16_t)(2 * pr->index + 1);
}
/* The queue group (I/O thread) that serves the pair: its rx and tx queues, fds and timers. */
static inline unsigned net_pair_group(const struct net_pair *pr)
{
	return pr->n->dev.queue_group[net_rxq(pr)];
}
static inline uint16_t net_ctrlq(const struct vnet *n)
{
	return virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_MQ) ? (uint16_t)(2 * n->max_pairs) : 2;
}

/* rx.c: reads the pair's backend into its receive queue while both have something. Pairs at or
 * beyond n->pairs never receive. */
void net_rx_pump(struct net_pair *pr);
/* Starts / stops watching the backend's rx_fd. */
void net_rx_watch(struct net_pair *pr, bool on);
/* Forgets a frame in progress (device reset, pair disabled), counting it as dropped. */
void net_rx_reset(struct net_pair *pr);

/* tx.c: serves the pair's transmit queue after a kick. */
void net_tx_kick(struct net_pair *pr);

/* throttle.c: the per-direction rate limiters. net_throttle_register(): the pair's timers join
 * its group's epoll set (every group lock held). net_throttle_rx(): the staged frame of `bytes`
 * may be delivered (else the pair's rx timer is armed). net_throttle_tx(): the chain just popped
 * into pr->chain may be sent (else the pair's tx timer is armed: the caller gives the chain back
 * with VIRTIO_CHAIN_WAIT, and the serve loop counts the stall). */
int net_throttle_register(struct net_pair *pr);
bool net_throttle_rx(struct net_pair *pr, uint64_t bytes);
bool net_throttle_tx(struct net_pair *pr);

/* ctrl.c: serves the control queue after a kick. */
void net_ctrl_kick(struct vnet *n);

/* net.c: makes pairs [0, pairs) receive and the others not (their staged frames dropped, their
 * backend queues disabled); newly enabled pairs are kicked to start reading. Called with every
 * group lock held (activation, reset, the control queue's VQ_PAIRS_SET). */
void net_set_pairs(struct vnet *n, uint16_t pairs);

#endif
