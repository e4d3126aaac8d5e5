/* virtio-net rate limiters, one per direction (virtio/core/rate_limiter.h), shared by the queue
 * pairs (the limiter has its own mutex): bandwidth counts frame bytes without the virtio-net
 * header, ops count frames.
 *
 * Transmit: a frame the limiter refuses goes back to the ring (the serve loop's vq_unpop, for
 * VIRTIO_CHAIN_WAIT) and the pair's transmit queue waits for the pair's tx timer. Receive: a frame
 * read from the backend is charged once, before it is delivered; a refused frame stays staged,
 * which stops reading the pair's backend (rx.c unwatches it while a frame is staged) until the
 * pair's rx timer fires. Neither spins: the timers are one-shot timerfds, each registered with its
 * pair's I/O thread when the device is first activated (every group lock held), never from the
 * group threads. */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/log.h"
#include "virtio/net/internal.h"

/* The pair whose timer `fd` is, or NULL. */
static struct net_pair *timer_pair(struct vnet *n, int fd, bool rx)
{
	for (uint16_t i = 0; i < n->max_pairs; i++) {
		struct net_pair *pr = &n->p[i];

		if ((rx ? pr->rx_timer.fd : pr->tx_timer.fd) == fd)
			return pr;
	}
	return NULL;
}

static void rx_timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct net_pair *pr = timer_pair(to_vnet(dev), fd, true);

	(void)revents;
	if (!pr)
		return;
	rl_timer_fired(&pr->rx_timer);
	net_rx_pump(pr);
}

/* A device that failed (NEEDS_RESET) or was reset while the timer ran serves nothing: kicks
 * check this in virtio_dev_process_pending(), the timer is not a kick (the rx side checks it in
 * net_rx_pump()). */
static void tx_timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct net_pair *pr = timer_pair(to_vnet(dev), fd, false);

	(void)revents;
	if (!pr)
		return;
	rl_timer_fired(&pr->tx_timer);
	if (virtio_dev_running(dev))
		net_tx_kick(pr);
}

int net_throttle_register(struct net_pair *pr)
{
	struct virtio_dev *dev = &pr->n->dev;
	int err = 0;

	if (!pr->rx_timer.watched) {
		err = virtio_dev_add_group_fd(dev, net_pair_group(pr), pr->rx_timer.fd, EPOLLIN,
					      rx_timer_ready);
		pr->rx_timer.watched = !err;
	}
	if (!err && !pr->tx_timer.watched) {
		err = virtio_dev_add_group_fd(dev, net_pair_group(pr), pr->tx_timer.fd, EPOLLIN,
					      tx_timer_ready);
		pr->tx_timer.watched = !err;
	}
	return err;
}

/* Arms the timer for `ns`. False when it cannot wait (then the caller goes on unthrottled
 * rather than stalling forever). */
static bool wait_for(struct rl_timer *t, uint64_t ns)
{
	return t->watched && !rl_timer_arm(t, ns);
}

bool net_throttle_rx(struct net_pair *pr, uint64_t bytes)
{
	uint64_t ns;

	if (pr->rx_timer.armed)
		return false;
	if (rate_limiter_consume(&pr->n->rx_rl, bytes, 1, &ns) || !wait_for(&pr->rx_timer, ns))
		return true;
	virtio_dev_count_stall(&pr->n->dev);
	return false;
}

bool net_throttle_tx(struct net_pair *pr)
{
	const struct vq_chain *c = &pr->chain;
	uint64_t ns, bytes = c->readable_len > NET_HDR_LEN ? c->readable_len - NET_HDR_LEN : 0;

	return rate_limiter_consume(&pr->n->tx_rl, bytes, 1, &ns) || !wait_for(&pr->tx_timer, ns);
}

/* Every group lock held: applies `p` (NULL: nothing) to `rl` and serves a pair waiting on its
 * old limit again at once (the timer still fires once: a pass with nothing to do). */
static void update(struct vnet *n, struct rate_limiter *rl, const struct rate_limiter_patch *p,
		   struct rate_limiter_cfg *now, bool rx)
{
	bool change = p && rate_limiter_patch_any(p);

	if (change)
		(void)rate_limiter_apply_patch(rl, p, now); /* the buckets were checked */
	else if (now)
		rate_limiter_get_cfg(rl, now);
	for (uint16_t i = 0; change && i < n->max_pairs; i++) {
		struct net_pair *pr = &n->p[i];
		struct rl_timer *t = rx ? &pr->rx_timer : &pr->tx_timer;

		if (!t->armed)
			continue;
		t->armed = false;
		virtio_dev_kick(&n->dev, rx ? net_rxq(pr) : net_txq(pr));
	}
}

/* A patch whose named buckets are good (then the merge with good buckets is good too). */
static bool patch_ok(const struct rate_limiter_patch *p)
{
	return !p || !rate_limiter_patch_check(p, NULL, 0);
}

int virtio_net_patch_rate_limiters(struct virtio_dev *dev, const struct rate_limiter_patch *rx,
				   const struct rate_limiter_patch *tx,
				   struct rate_limiter_cfg *rx_now, struct rate_limiter_cfg *tx_now)
{
	struct vnet *n = to_vnet(dev);

	if (dev->device_id != VIRTIO_ID_NET)
		return -ENODEV;
	if (!patch_ok(rx) || !patch_ok(tx))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_lock_groups(dev, -1); /* the pairs' timers belong to their groups */
	update(n, &n->rx_rl, rx, rx_now, true);
	update(n, &n->tx_rl, tx, tx_now, false);
	virtio_dev_unlock_groups(dev, -1);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
