/* State shared by the virtio-net files (net.c, rx.c, tx.c, ctrl.c). Not for other
 * modules: they use virtio/net/net.h. */
#ifndef VIRTIO_NET_INTERNAL_H
#define VIRTIO_NET_INTERNAL_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "virtio/core/rate_limiter.h"
#include "virtio/net/features.h"
#include "virtio/net/net.h"

/* The staging buffer holds header + frame, and one more byte to see that a frame was too big. */
#define NET_STAGE_LEN (NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 1)

/* One direction's rate limiter and the timer its queue waits on (throttle.c). */
struct net_throttle {
	struct rate_limiter rl;
	struct rl_timer timer;
};

struct vnet {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_net_config cfg;
	struct net_backend *be;
	struct virtio_net_stats stats;
	struct virtio_net_rx_mode rx_mode;

	bool fds_added;	       /* backend fds registered with the I/O thread */
	bool rx_watching;      /* the backend's rx_fd is watched (EPOLLIN) */
	bool rx_broken;	       /* the backend failed to read: stop until the next activation */
	size_t rx_pending;     /* bytes (header included) of a frame in `stage` not delivered */
	uint8_t *stage;	       /* NET_STAGE_LEN: received frame, header first */
	uint8_t *tx_bounce;    /* VIRTIO_NET_MAX_FRAME: a tx frame with too many segments */
	struct vq_chain chain; /* scratch for vq_pop() */
	struct vq_used rx_used[VIRTIO_NET_QUEUE_SIZE]; /* the buffers of the frame in progress */
	struct net_throttle rx_thr, tx_thr;
	bool rx_charged; /* the staged frame has passed the rx limiter */
};

static inline struct vnet *to_vnet(struct virtio_dev *dev)
{
	return (struct vnet *)dev;
}

/* rx.c: reads the backend into the receive queue while both have something. */
void net_rx_pump(struct vnet *n);
/* Starts / stops watching the backend's rx_fd. */
void net_rx_watch(struct vnet *n, bool on);
/* Forgets a frame in progress (device reset), counting it as dropped. */
void net_rx_reset(struct vnet *n);

/* tx.c: serves the transmit queue after a kick. */
void net_tx_kick(struct vnet *n);

/* throttle.c: the per-direction rate limiters. init/destroy: -errno. net_throttle_rx(): the
 * staged frame of `bytes` may be delivered (else the rx timer is armed). net_throttle_tx(): the
 * chain just popped into n->chain may be sent (else it was given back and the tx timer armed). */
int net_throttle_init(struct net_throttle *t);
void net_throttle_destroy(struct net_throttle *t);
bool net_throttle_rx(struct vnet *n, uint64_t bytes);
bool net_throttle_tx(struct vnet *n);

/* ctrl.c: serves the control queue after a kick. */
void net_ctrl_kick(struct vnet *n);

#endif
