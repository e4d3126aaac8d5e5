/* virtio-net rate limiters, one per direction (virtio/core/rate_limiter.h): bandwidth counts
 * frame bytes without the virtio-net header, ops count frames.
 *
 * Transmit: a frame the limiter refuses goes back to the ring (vq_unpop) and the queue waits for
 * the tx timer. Receive: a frame read from the backend is charged once, before it is delivered;
 * a refused frame stays staged, which stops reading the backend (rx.c unwatches it while a frame
 * is staged) until the rx timer fires. Neither spins: the timers are one-shot timerfds on the
 * device's I/O thread, registered at the first wait. */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/net/internal.h"
#include "vmm/base/log.h"

static void rx_timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd;
	(void)revents;
	rl_timer_fired(&to_vnet(dev)->rx_thr.timer);
	net_rx_pump(to_vnet(dev));
}

/* A device that failed (NEEDS_RESET) or was reset while the timer ran serves nothing: kicks
 * check this in virtio_dev_process_pending(), the timer is not a kick (the rx side checks it in
 * net_rx_pump()). */
static void tx_timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd;
	(void)revents;
	rl_timer_fired(&to_vnet(dev)->tx_thr.timer);
	if (virtio_dev_running(dev))
		net_tx_kick(to_vnet(dev));
}

int net_throttle_init(struct net_throttle *t)
{
	int r = rate_limiter_init(&t->rl, NULL, NULL, NULL);

	if (!r)
		r = rl_timer_init(&t->timer);
	return r;
}

void net_throttle_destroy(struct net_throttle *t)
{
	rl_timer_destroy(&t->timer);
	rate_limiter_destroy(&t->rl);
}

/* Arms the direction's timer for `ns`, registering it first. False when it cannot wait (then the
 * caller goes on unthrottled rather than stalling forever). */
static bool wait_for(struct vnet *n, struct net_throttle *t, uint64_t ns)
{
	bool rx = t == &n->rx_thr;

	if (!t->timer.watched &&
	    virtio_dev_add_fd(&n->dev, t->timer.fd, EPOLLIN, rx ? rx_timer_ready : tx_timer_ready))
		return false;
	t->timer.watched = true;
	if (rl_timer_arm(&t->timer, ns))
		return false;
	virtio_dev_count_stall(&n->dev);
	return true;
}

bool net_throttle_rx(struct vnet *n, uint64_t bytes)
{
	uint64_t ns;

	if (n->rx_thr.timer.armed)
		return false;
	if (rate_limiter_consume(&n->rx_thr.rl, bytes, 1, &ns))
		return true;
	return !wait_for(n, &n->rx_thr, ns);
}

bool net_throttle_tx(struct vnet *n)
{
	struct vq_chain *c = &n->chain;
	uint64_t ns, bytes = c->readable_len > NET_HDR_LEN ? c->readable_len - NET_HDR_LEN : 0;
	int err;

	if (rate_limiter_consume(&n->tx_thr.rl, bytes, 1, &ns) || !wait_for(n, &n->tx_thr, ns))
		return true;
	err = vq_unpop(&n->dev.vqs[VIRTIO_NET_TXQ], n->dev.mem, c);
	if (err)
		virtio_dev_fail(&n->dev, vq_strerror(err));
	return false;
}

/* Under dev->lock: a direction waiting on its old limit is served again at once. */
static int update(struct vnet *n, struct net_throttle *t, const struct rate_limiter_cfg *cfg,
		  uint16_t q)
{
	int r = cfg ? rate_limiter_update(&t->rl, cfg) : 0;

	if (!r && cfg && t->timer.armed) {
		t->timer.armed = false; /* it still fires once: a pass with nothing to do */
		virtio_dev_kick(&n->dev, q);
	}
	return r;
}

int virtio_net_set_rate_limiters(struct virtio_dev *dev, const struct rate_limiter_cfg *rx,
				 const struct rate_limiter_cfg *tx)
{
	struct vnet *n = to_vnet(dev);
	int r;

	if (dev->device_id != VIRTIO_ID_NET)
		return -ENODEV;
	if ((rx && rate_limiter_cfg_check(rx, NULL, 0)) ||
	    (tx && rate_limiter_cfg_check(tx, NULL, 0)))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	r = update(n, &n->rx_thr, rx, VIRTIO_NET_RXQ);
	if (!r)
		r = update(n, &n->tx_thr, tx, VIRTIO_NET_TXQ);
	pthread_mutex_unlock(&dev->lock);
	return r;
}
