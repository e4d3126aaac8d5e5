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

#include "base/log.h"
#include "virtio/net/egress_filter.h"
#include "virtio/net/internal.h"
#include "virtio/net/tap.h"

/* ---- backend fds, served by each pair's I/O thread ---- */

/* The pair whose backend fd `fd` is (rx_fd or service_fd), or NULL. */
static struct net_pair *fd_pair(struct vnet *n, int fd)
{
	for (uint16_t i = 0; i < n->max_pairs; i++) {
		if (n->p[i].be->rx_fd == fd || n->p[i].be->service_fd == fd)
			return &n->p[i];
	}
	return NULL;
}

static void rx_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct net_pair *pr = fd_pair(to_vnet(dev), fd);

	(void)revents;
	if (pr)
		net_rx_pump(pr);
}

static void service_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct net_pair *pr = fd_pair(to_vnet(dev), fd);

	(void)revents;
	if (pr)
		pr->be->ops->service(pr->be);
}

/* The I/O threads' epoll sets exist only after virtio_dev_init(): register at the first
 * DRIVER_OK, where every group lock is held (no group thread is in a callback). Each pair's rx
 * fd (unwatched at first: net_rx_watch() turns it on), service fd and timers join its group. */
static int add_pair_fds(struct net_pair *pr)
{
	struct virtio_dev *dev = &pr->n->dev;
	struct net_backend *be = pr->be;
	int err =
	    virtio_dev_add_group_fd(dev, net_pair_group(pr), be->rx_fd, EPOLLONESHOT, rx_ready);

	if (!err && be->service_fd >= 0 && be->ops->service)
		err = virtio_dev_add_group_fd(dev, net_pair_group(pr), be->service_fd, EPOLLIN,
					      service_ready);
	if (!err)
		err = net_throttle_register(pr);
	return err;
}

static int add_fds(struct vnet *n)
{
	if (n->fds_added)
		return 0;
	for (uint16_t i = 0; i < n->max_pairs; i++) {
		int err = add_pair_fds(&n->p[i]);

		if (err) {
			log_error("virtio-net: cannot watch the %s backend of queue pair %u: %s",
				  n->p[i].be->kind, i, strerror(-err));
			return err;
		}
	}
	n->fds_added = true;
	return 0;
}

/* ---- queue pairs in use (5.1.6.5.5) ---- */

/* A tap queue of an IFF_MULTI_QUEUE tap is detached while its pair is unused, so that the
 * kernel does not steer flows to a queue nobody reads. */
static void pair_enable_backend(struct net_pair *pr, bool on)
{
	struct net_backend *be = pr->be;
	int err;

	if (pr->be_enabled == on || !be->ops->set_enabled)
		return;
	err = be->ops->set_enabled(be, on);
	if (err)
		log_warn("virtio-net: cannot %s the %s backend of queue pair %u: %s",
			 on ? "enable" : "disable", be->kind, pr->index, strerror(-err));
	else
		pr->be_enabled = on;
}

void net_set_pairs(struct vnet *n, uint16_t pairs)
{
	uint16_t old = n->pairs;

	n->pairs = pairs;
	for (uint16_t i = 1; i < n->max_pairs; i++) {
		struct net_pair *pr = &n->p[i];

		pair_enable_backend(pr, i < pairs);
		if (i >= pairs) {
			net_rx_reset(pr); /* a staged frame can no longer be delivered there */
			if (n->fds_added)
				net_rx_watch(pr, false);
		} else if (i >= old && virtio_dev_running(&n->dev)) {
			virtio_dev_kick(&n->dev, net_rxq(pr)); /* its thread starts reading */
		}
	}
}

/* ---- device ops ---- */

static bool net_features_ok(struct virtio_dev *dev, uint64_t features)
{
	(void)dev;
	return virtio_net_features_consistent(features);
}

/* DRIVER_OK: each backend's receive offloads follow what the guest can take (an offload the
 * guest did not negotiate must never reach it, 5.1.6.4), then receiving starts on the pairs in
 * use (1 after a reset; a restored count after a snapshot restore). */
static int net_activate(struct virtio_dev *dev)
{
	struct vnet *n = to_vnet(dev);
	int err = add_fds(n);

	for (uint16_t i = 0; !err && i < n->max_pairs; i++) {
		struct net_backend *be = n->p[i].be;
		unsigned flags = virtio_net_tun_offloads(dev->driver_features) & be->offload_caps;

		if (!be->ops->set_offloads || !be->offload_caps)
			continue;
		err = be->ops->set_offloads(be, flags);
		if (err)
			log_error("virtio-net: cannot set the %s offloads 0x%x: %s", be->kind,
				  flags, strerror(-err));
	}
	if (err)
		return err;
	net_set_pairs(n, n->pairs);
	/* Each pair's I/O thread starts reading when its backend has a frame: the backend's
	 * batched reads (io_uring) are allowed there, not on the vCPU that wrote DRIVER_OK
	 * (vmm/vm/vcpu.c's sandbox). */
	for (uint16_t i = 0; i < n->pairs; i++) {
		n->p[i].rx_broken = false;
		net_rx_watch(&n->p[i], true);
	}
	return 0;
}

static void net_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	struct vnet *n = to_vnet(dev);

	if (q == net_ctrlq(n))
		net_ctrl_kick(n);
	else if (q / 2 >= n->max_pairs)
		return; /* without MQ, queues past the control queue are nobody's */
	else if (q % 2 == 0)
		net_rx_pump(&n->p[q / 2]); /* new buffers: deliver a waiting frame, read again */
	else
		net_tx_kick(&n->p[q / 2]);
}

/* 2.4: forget the frames in progress and stop reading until the next DRIVER_OK; one pair in
 * use again. The receive filter goes back to its default (5.1.6.5.1: promiscuous off ... "the
 * device resets"). */
static void net_reset(struct virtio_dev *dev)
{
	struct vnet *n = to_vnet(dev);

	net_set_pairs(n, 1);
	net_rx_reset(&n->p[0]);
	if (n->fds_added)
		net_rx_watch(&n->p[0], false);
	memset(&n->rx_mode, 0, offsetof(struct virtio_net_rx_mode, mac));
}

static void net_destroy(struct virtio_dev *dev)
{
	struct vnet *n = to_vnet(dev);

	for (uint16_t i = 0; i < n->max_pairs; i++) {
		struct net_pair *pr = &n->p[i];

		net_backend_destroy(pr->be);
		pr->be = NULL;
		free(pr->stage);
		free(pr->tx_bounce);
		pr->stage = pr->tx_bounce = NULL;
		rl_timer_destroy(&pr->rx_timer);
		rl_timer_destroy(&pr->tx_timer);
	}
	rate_limiter_destroy(&n->rx_rl);
	rate_limiter_destroy(&n->tx_rl);
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* What the device keeps between frames: the config space as the guest reads it (MAC, status) and
 * the receive filter the control queue set. Frames staged or read ahead in the device and not yet
 * delivered (up to NET_RX_BATCH_MAX per pair) are not kept: they are lost, as frames on the wire
 * may be. The backend (tap, slirp) is the new VM's. */
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
	/* Added with multiqueue: the queue pairs in use (5.1.6.5.5); an older state has 1. */
	uint16_t pairs;
	uint8_t reserved_mq[6]; /* zero */
};
#define NET_STATE_V1_LEN offsetof(struct virtio_net_state, rx_rl)
#define NET_STATE_V2_LEN offsetof(struct virtio_net_state, pairs)

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
	rate_limiter_save(&n->rx_rl, &st.rx_rl);
	rate_limiter_save(&n->tx_rl, &st.tx_rl);
	st.pairs = n->pairs;
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
	       st->n_multi <= VIRTIO_NET_MAC_TABLE && !st->reserved[0] && !st->reserved[1] &&
	       !memcmp(st->reserved_mq, (uint8_t[6]){0}, sizeof(st->reserved_mq));
}

/* 1..max_virtqueue_pairs, and more than 1 only when the driver had negotiated MQ (the
 * transport-independent state, features included, is restored first). */
static bool net_pairs_ok(const struct vnet *n, uint16_t pairs)
{
	return pairs >= 1 && pairs <= n->max_pairs &&
	       (pairs == 1 || virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_MQ));
}

static int net_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vnet *n = to_vnet(dev);
	struct virtio_net_state st;

	if (len != sizeof(st) && len != NET_STATE_V2_LEN && len != NET_STATE_V1_LEN)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	st.pairs = 1;
	memcpy(&st, buf, len);
	if (st.cfg.max_virtqueue_pairs != n->cfg.max_virtqueue_pairs) {
		log_error("virtio-net: the snapshot's NIC has %u queue pairs, this one %u (give "
			  "the same queues=): not restored",
			  le16toh(st.cfg.max_virtqueue_pairs), n->max_pairs);
		return -EINVAL;
	}
	if (!net_state_ok(n, &st) || !net_pairs_ok(n, st.pairs))
		return -EINVAL;
	if (len >= NET_STATE_V2_LEN) {
		struct rate_limiter_state rx_old;
		rate_limiter_save(&n->rx_rl, &rx_old);
		if (rate_limiter_restore(&n->rx_rl, &st.rx_rl) ||
		    rate_limiter_restore(&n->tx_rl, &st.tx_rl)) {
			rate_limiter_restore(&n->rx_rl, &rx_old); /* changes nothing on failure */
			return -EINVAL;
		}
	}
	n->pairs = st.pairs; /* ops->activate follows: it enables them */
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

/* The metrics' "devices" entry: frames the egress policy refused (0 without a policy). */
static void net_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx)
{
	put(ctx, "tx_egress_dropped",
	    atomic_load_explicit(&to_vnet(dev)->tx_egress_dropped, memory_order_relaxed));
}

static const struct virtio_dev_ops net_ops = {
    .counters = net_counters,
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
    .features_ok = net_features_ok,
    .destroy = net_destroy,
    .save = net_save,
    .restore = net_restore,
};

void virtio_net_set_mtu(struct virtio_dev *dev, unsigned mtu)
{
	to_vnet(dev)->cfg.mtu = htole16((uint16_t)mtu); /* before init: nothing else runs */
}

/* ---- creation ---- */

static void fill_config(struct vnet *n, const uint8_t mac[6])
{
	memcpy(n->cfg.mac, mac, 6);
	memcpy(n->rx_mode.mac, mac, 6);
	n->cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->cfg.max_virtqueue_pairs = htole16(n->max_pairs); /* 5.1.4: read with MQ only */
	n->cfg.mtu = htole16(VIRTIO_NET_MTU);
	n->cfg.speed = htole32(UINT32_MAX); /* unknown (SPEED_DUPLEX is not offered anyway) */
	n->cfg.duplex = 0xff;
}

/* Pair i's buffers and timers (its backend is set already). Returns 0 or -ENOMEM / -errno. */
static int pair_init(struct vnet *n, uint16_t i)
{
	struct net_pair *pr = &n->p[i];
	int err;

	pr->n = n;
	pr->index = i;
	pr->be_enabled = true; /* a backend starts enabled; pairs past the first are disabled */
	pr->stage = malloc(NET_STAGE_LEN);
	pr->tx_bounce = malloc(VIRTIO_NET_MAX_FRAME);
	if (!pr->stage || !pr->tx_bounce)
		return -ENOMEM;
	err = rl_timer_init(&pr->rx_timer);
	return err ? err : rl_timer_init(&pr->tx_timer);
}

/* Queue layout and groups (5.1.2): rx/tx of pair i are queues 2i, 2i+1 and group i (until
 * virtio_net_set_io_threads() folds them); the control queue is last and in group 0. One pair
 * keeps the one-group device. */
static void fill_dev(struct vnet *n)
{
	struct net_backend *be = n->p[0].be;
	uint64_t f = virtio_net_offered_features(be->vnet_hdr, be->offload_caps);

	if (n->max_pairs > 1)
		f |= 1ull << VIRTIO_NET_F_MQ; /* needs CTRL_VQ, always offered */
	n->dev = (struct virtio_dev){
	    .name = "virtio-net",
	    .device_id = VIRTIO_ID_NET,
	    .host_features = f,
	    .num_queues = (uint16_t)(2 * n->max_pairs + 1),
	    .queue_max_size = VIRTIO_NET_QUEUE_SIZE,
	    .config = &n->cfg,
	    .config_len = sizeof(n->cfg),
	    .ops = &net_ops,
	    .sandbox = be->sandbox,
	    .priv = n,
	    .num_groups = n->max_pairs,
	};
	for (uint16_t q = 0; q < 2 * n->max_pairs; q++)
		n->dev.queue_group[q] = (uint8_t)(q / 2);
	n->dev.queue_group[2 * n->max_pairs] = 0;
}

int virtio_net_create_with_backends(struct virtio_dev **out, struct net_backend **be,
				    unsigned npairs, const uint8_t mac[6])
{
	struct vnet *n =
	    npairs >= 1 && npairs <= VIRTIO_NET_MAX_PAIRS ? calloc(1, sizeof(*n)) : NULL;
	int err = n ? 0 : (npairs >= 1 && npairs <= VIRTIO_NET_MAX_PAIRS ? -ENOMEM : -EINVAL);

	for (unsigned i = 0; n && i < npairs; i++) {
		n->max_pairs = (uint16_t)(i + 1); /* what is freed on failure */
		n->p[i].be = be[i];
		be[i] = NULL;
		n->p[i].rx_timer.fd = n->p[i].tx_timer.fd = -1;
		err = err ?: pair_init(n, (uint16_t)i);
	}
	if (!err)
		err = rate_limiter_init(&n->rx_rl, NULL, NULL, NULL);
	if (!err && (err = rate_limiter_init(&n->tx_rl, NULL, NULL, NULL)))
		rate_limiter_destroy(&n->rx_rl);
	if (err) {
		if (n) {
			for (uint16_t i = 0; i < n->max_pairs; i++) {
				net_backend_destroy(n->p[i].be);
				free(n->p[i].stage);
				free(n->p[i].tx_bounce);
				rl_timer_destroy(&n->p[i].rx_timer);
				rl_timer_destroy(&n->p[i].tx_timer);
			}
		}
		for (unsigned i = 0; i < npairs; i++)
			net_backend_destroy(be[i]); /* those not handed over yet */
		free(n);
		return err;
	}
	n->pairs = 1;
	fill_config(n, mac);
	fill_dev(n);
	/* Until the driver sets more, only pair 0 takes frames (a tap steers nothing to the
	 * others). Nothing runs yet: no lock needed. */
	for (uint16_t i = 1; i < n->max_pairs; i++)
		pair_enable_backend(&n->p[i], false);
	*out = &n->dev;
	return 0;
}

int virtio_net_tap_fd(struct virtio_dev *dev)
{
	if (!dev || dev->ops != &net_ops)
		return -1;
	const struct vnet *n = to_vnet(dev);
	struct net_backend *be = n->p[0].be;
	if (be && be->egress == be) /* the filter every NIC has (egress_filter.h): its tap */
		be = net_egress_inner(be);
	return n->max_pairs == 1 ? net_tap_single_fd(be) : -1;
}

int virtio_net_set_io_threads(struct virtio_dev *dev, unsigned threads)
{
	struct vnet *n = to_vnet(dev);

	if (dev->initialized)
		return -EBUSY; /* the groups are built by virtio_dev_init() */
	if (threads < 1 || threads > n->max_pairs)
		return -EINVAL;
	n->dev.num_groups = (uint16_t)threads;
	for (uint16_t q = 0; q < 2 * n->max_pairs; q++)
		n->dev.queue_group[q] = (uint8_t)(q / 2 % threads);
	return 0;
}

/* Every group lock with dev->lock: the pairs' own threads update their counters. */
static void lock_all(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_lock_groups(dev, -1);
}

static void unlock_all(struct virtio_dev *dev)
{
	virtio_dev_unlock_groups(dev, -1);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out)
{
	struct vnet *n = to_vnet(dev);

	memset(out, 0, sizeof(*out));
	lock_all(dev);
	for (uint16_t i = 0; i < n->max_pairs; i++) {
		const struct virtio_net_stats *s = &n->p[i].stats;

		out->rx_frames += s->rx_frames;
		out->rx_bytes += s->rx_bytes;
		out->rx_dropped += s->rx_dropped + n->p[i].be->dropped;
		out->rx_errors += s->rx_errors;
		out->tx_frames += s->tx_frames;
		out->tx_bytes += s->tx_bytes;
		out->tx_dropped += s->tx_dropped;
		out->tx_errors += s->tx_errors;
	}
	out->tx_egress_dropped = atomic_load_explicit(&n->tx_egress_dropped, memory_order_relaxed);
	unlock_all(dev);
}

void virtio_net_get_rx_mode(struct virtio_dev *dev, struct virtio_net_rx_mode *out)
{
	lock_all(dev); /* the control queue's group writes it */
	*out = to_vnet(dev)->rx_mode;
	unlock_all(dev);
}

unsigned virtio_net_pairs_in_use(struct virtio_dev *dev)
{
	unsigned pairs;

	lock_all(dev);
	pairs = to_vnet(dev)->pairs;
	unlock_all(dev);
	return pairs;
}

struct net_backend *virtio_net_pair_backend(struct virtio_dev *dev, unsigned pair)
{
	struct vnet *n = to_vnet(dev);

	return pair < n->max_pairs ? n->p[pair].be : NULL;
}
