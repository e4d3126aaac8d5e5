/* virtio-net device glue: description, config space, features, activation, reset, counters.
 * See net.h; the queues are served by rx.c, tx.c and ctrl.c. Sections: virtio 1.2.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/net/internal.h"
#include "vmm/base/log.h"

/* ---- backend fds, served by the device's I/O thread ---- */

static void rx_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd;
	(void)revents;
	net_rx_pump(to_vnet(dev));
}

static void service_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct net_backend *be = to_vnet(dev)->be;

	(void)fd;
	(void)revents;
	be->ops->service(be);
}

/* The I/O thread's epoll set exists only after virtio_dev_init(): register at first DRIVER_OK.
 * The rx fd starts unwatched; net_rx_watch() turns it on. */
static int add_fds(struct vnet *n)
{
	int err;

	if (n->fds_added)
		return 0;
	err = virtio_dev_add_fd(&n->dev, n->be->rx_fd, EPOLLONESHOT, rx_ready);
	if (!err && n->be->service_fd >= 0 && n->be->ops->service)
		err = virtio_dev_add_fd(&n->dev, n->be->service_fd, EPOLLIN, service_ready);
	if (err) {
		log_error("virtio-net: cannot watch the %s backend: %s", n->be->kind,
			  strerror(-err));
		return err;
	}
	n->fds_added = true;
	return 0;
}

/* ---- device ops ---- */

static bool net_features_ok(struct virtio_dev *dev, uint64_t features)
{
	(void)dev;
	return virtio_net_features_consistent(features);
}

/* DRIVER_OK: the backend's receive offloads follow what the guest can take (an offload the guest
 * did not negotiate must never reach it, 5.1.6.4), then receiving starts. */
static int net_activate(struct virtio_dev *dev)
{
	struct vnet *n = to_vnet(dev);
	struct net_backend *be = n->be;
	int err = add_fds(n);

	if (err)
		return err;
	if (be->ops->set_offloads && be->offload_caps) {
		unsigned flags = virtio_net_tun_offloads(dev->driver_features) & be->offload_caps;

		err = be->ops->set_offloads(be, flags);
		if (err) {
			log_error("virtio-net: cannot set the %s offloads 0x%x: %s", be->kind,
				  flags, strerror(-err));
			return err;
		}
	}
	n->rx_broken = false;
	net_rx_pump(n);
	return 0;
}

static void net_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	struct vnet *n = to_vnet(dev);

	if (q == VIRTIO_NET_RXQ)
		net_rx_pump(n); /* new buffers: deliver a waiting frame, read the backend again */
	else if (q == VIRTIO_NET_TXQ)
		net_tx_kick(n);
	else if (q == VIRTIO_NET_CTRLQ)
		net_ctrl_kick(n);
}

/* 2.4: forget the frame in progress and stop reading until the next DRIVER_OK. The receive
 * filter goes back to its default (5.1.6.5.1: promiscuous off ... "the device resets"). */
static void net_reset(struct virtio_dev *dev)
{
	struct vnet *n = to_vnet(dev);

	net_rx_reset(n);
	if (n->fds_added)
		net_rx_watch(n, false);
	memset(&n->rx_mode, 0, offsetof(struct virtio_net_rx_mode, mac));
}

static void net_destroy(struct virtio_dev *dev)
{
	struct vnet *n = to_vnet(dev);

	net_backend_destroy(n->be);
	n->be = NULL;
	free(n->stage);
	free(n->tx_bounce);
	n->stage = n->tx_bounce = NULL;
	net_throttle_destroy(&n->rx_thr);
	net_throttle_destroy(&n->tx_thr);
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* What the device keeps between frames: the config space as the guest reads it (MAC, status) and
 * the receive filter the control queue set. A frame staged in the device and not yet delivered is
 * not kept: it is lost, as a frame on the wire may be. The backend (tap, slirp) is the new VM's. */
struct virtio_net_state {
	struct virtio_net_config cfg;				 /* little endian */
	uint8_t promisc, allmulti, uni_overflow, multi_overflow; /* 0 or 1 */
	uint32_t n_uni, n_multi;				 /* <= VIRTIO_NET_MAC_TABLE */
	uint8_t uni[VIRTIO_NET_MAC_TABLE][6];
	uint8_t multi[VIRTIO_NET_MAC_TABLE][6];
	uint8_t mac[6];
	uint8_t reserved[2]; /* zero */
	/* Added with rate limiters (configuration and levels, so a limit changed at run time
	 * survives); an older state ends before them and keeps the command line's limiters. */
	struct rate_limiter_state rx_rl, tx_rl;
};
#define NET_STATE_V1_LEN offsetof(struct virtio_net_state, rx_rl)

static int net_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vnet *n = to_vnet(dev);
	struct virtio_net_state st;

	if (cap < sizeof(st))
		return -ENOSPC;
	memset(&st, 0, sizeof(st));
	st.cfg = n->cfg;
	st.promisc = n->rx_mode.promisc;
	st.allmulti = n->rx_mode.allmulti;
	st.uni_overflow = n->rx_mode.uni_overflow;
	st.multi_overflow = n->rx_mode.multi_overflow;
	st.n_uni = n->rx_mode.n_uni;
	st.n_multi = n->rx_mode.n_multi;
	memcpy(st.uni, n->rx_mode.uni, sizeof(st.uni));
	memcpy(st.multi, n->rx_mode.multi, sizeof(st.multi));
	memcpy(st.mac, n->rx_mode.mac, sizeof(st.mac));
	rate_limiter_save(&n->rx_thr.rl, &st.rx_rl);
	rate_limiter_save(&n->tx_thr.rl, &st.tx_rl);
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

/* Only the MAC and the status may differ from what this device offers (the rest is its
 * description: queue pairs, MTU, speed). */
static bool net_state_ok(const struct vnet *n, const struct virtio_net_state *st)
{
	struct virtio_net_config want = n->cfg;

	memcpy(want.mac, st->cfg.mac, sizeof(want.mac));
	want.status = st->cfg.status;
	return !memcmp(&want, &st->cfg, sizeof(want)) &&
	       !(le16toh(st->cfg.status) & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) &&
	       st->promisc <= 1 && st->allmulti <= 1 && st->uni_overflow <= 1 &&
	       st->multi_overflow <= 1 && st->n_uni <= VIRTIO_NET_MAC_TABLE &&
	       st->n_multi <= VIRTIO_NET_MAC_TABLE && !st->reserved[0] && !st->reserved[1];
}

static int net_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vnet *n = to_vnet(dev);
	struct virtio_net_state st;

	if (len != sizeof(st) && len != NET_STATE_V1_LEN)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	memcpy(&st, buf, len);
	if (!net_state_ok(n, &st))
		return -EINVAL;
	if (len == sizeof(st)) {
		struct rate_limiter_state rx_old, tx_old;
		rate_limiter_save(&n->rx_thr.rl, &rx_old);
		rate_limiter_save(&n->tx_thr.rl, &tx_old);
		if (rate_limiter_restore(&n->rx_thr.rl, &st.rx_rl) ||
		    rate_limiter_restore(&n->tx_thr.rl, &st.tx_rl)) {
			rate_limiter_restore(&n->rx_thr.rl,
					     &rx_old); /* changes nothing on failure */
			return -EINVAL;
		}
	}
	n->cfg = st.cfg;
	n->rx_mode.promisc = st.promisc;
	n->rx_mode.allmulti = st.allmulti;
	n->rx_mode.uni_overflow = st.uni_overflow;
	n->rx_mode.multi_overflow = st.multi_overflow;
	n->rx_mode.n_uni = st.n_uni;
	n->rx_mode.n_multi = st.n_multi;
	memcpy(n->rx_mode.uni, st.uni, sizeof(st.uni));
	memcpy(n->rx_mode.multi, st.multi, sizeof(st.multi));
	memcpy(n->rx_mode.mac, st.mac, sizeof(st.mac));
	return 0;
}

static const struct virtio_dev_ops net_ops = {
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
    .features_ok = net_features_ok,
    .destroy = net_destroy,
    .save = net_save,
    .restore = net_restore,
};

/* ---- creation ---- */

static void fill_config(struct vnet *n, const uint8_t mac[6])
{
	memcpy(n->cfg.mac, mac, 6);
	memcpy(n->rx_mode.mac, mac, 6);
	n->cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->cfg.max_virtqueue_pairs = htole16(1);
	n->cfg.mtu = htole16(VIRTIO_NET_MTU);
	n->cfg.speed = htole32(UINT32_MAX); /* unknown (SPEED_DUPLEX is not offered anyway) */
	n->cfg.duplex = 0xff;
}

int virtio_net_create_with_backend(struct virtio_dev **out, struct net_backend *be,
				   const uint8_t mac[6])
{
	struct vnet *n = calloc(1, sizeof(*n));

	if (n) {
		n->stage = malloc(NET_STAGE_LEN);
		n->tx_bounce = malloc(VIRTIO_NET_MAX_FRAME);
		n->rx_thr.timer.fd = n->tx_thr.timer.fd = -1;
	}
	if (!n || !n->stage || !n->tx_bounce || net_throttle_init(&n->rx_thr) ||
	    net_throttle_init(&n->tx_thr)) {
		if (n) {
			free(n->stage);
			free(n->tx_bounce);
			rl_timer_destroy(&n->rx_thr.timer);
			rl_timer_destroy(&n->tx_thr.timer);
		}
		free(n);
		net_backend_destroy(be);
		return -ENOMEM;
	}
	n->be = be;
	fill_config(n, mac);
	n->dev = (struct virtio_dev){
	    .name = "virtio-net",
	    .device_id = VIRTIO_ID_NET,
	    .host_features = virtio_net_offered_features(be->vnet_hdr, be->offload_caps),
	    .num_queues = VIRTIO_NET_NUM_QUEUES,
	    .queue_max_size = VIRTIO_NET_QUEUE_SIZE,
	    .config = &n->cfg,
	    .config_len = sizeof(n->cfg),
	    .ops = &net_ops,
	    .sandbox = be->sandbox,
	    .priv = n,
	};
	*out = &n->dev;
	return 0;
}

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out)
{
	pthread_mutex_lock(&dev->lock);
	*out = to_vnet(dev)->stats;
	out->rx_dropped += to_vnet(dev)->be->dropped;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_net_get_rx_mode(struct virtio_dev *dev, struct virtio_net_rx_mode *out)
{
	pthread_mutex_lock(&dev->lock);
	*out = to_vnet(dev)->rx_mode;
	pthread_mutex_unlock(&dev->lock);
}

struct net_backend *virtio_net_backend(struct virtio_dev *dev)
{
	return to_vnet(dev)->be;
}
