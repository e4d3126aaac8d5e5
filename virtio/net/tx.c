/* virtio-net transmit path (virtio 1.2 5.1.6.2): each kick pops every available frame, sends it
 * to the backend, and publishes all used buffers at the end with one notification. Frames go
 * out zero-copy from guest memory; only the header is copied (and validated: the backend must
 * see the header the device checked, not one the guest changed since). */
#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>
#include <unistd.h>

#include "virtio/net/internal.h"
#include "vmm/base/log.h"

#define TX_BUDGET  (2 * VIRTIO_NET_QUEUE_SIZE) /* frames per callback, then re-kick ourselves */
#define TX_MAX_IOV 1024			       /* UIO_MAXIOV: writev's limit */

/* Maps the rest of the chain (the frame) after `first` iovecs. Too many segments for writev:
 * copy into the bounce buffer instead. Returns the total iovec count or negative. */
static int tx_map(struct net_pair *pr, struct iovec *iov, int first, size_t len)
{
	struct vq_chain *c = &pr->chain;
	int k = vq_chain_read_iov(c, pr->n->dev.mem, len, iov + first, TX_MAX_IOV - first);

	if (k == -ENOBUFS) {
		k = vq_chain_read(c, pr->n->dev.mem, pr->tx_bounce, len);
		if (k < 0)
			return k;
		iov[first] = (struct iovec){pr->tx_bounce, len};
		k = 1;
	}
	return k < 0 ? k : first + k;
}

/* Sends the frame in pr->chain. Malformed frames are counted and not sent; the buffer is used
 * either way (len 0: the device writes nothing into a transmit buffer). */
static void tx_one(struct net_pair *pr)
{
	struct vq_chain *c = &pr->chain;
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov[TX_MAX_IOV];
	size_t len;
	int first = pr->be->vnet_hdr ? 1 : 0, k, err;

	if (vq_chain_read(c, pr->n->dev.mem, &hdr, sizeof(hdr)) < 0) {
		pr->stats.tx_errors++; /* shorter than the header */
		return;
	}
	len = vq_chain_readable(c);
	if (len < ETH_HLEN || len > VIRTIO_NET_MAX_FRAME ||
	    virtio_net_tx_hdr_check(&hdr, pr->n->dev.driver_features, len) < 0) {
		pr->stats.tx_errors++;
		return;
	}
	iov[0] = (struct iovec){&hdr, sizeof(hdr)};
	k = tx_map(pr, iov, first, len);
	if (k < 0) {
		pr->stats.tx_errors++;
		return;
	}
	err = pr->be->ops->send(pr->be, iov, k);
	if (err) {
		pr->stats.tx_dropped++;
		return;
	}
	pr->stats.tx_frames++;
	pr->stats.tx_bytes += len;
}

void net_tx_kick(struct net_pair *pr)
{
	struct virtqueue *vq = &pr->n->dev.vqs[net_txq(pr)];
	const struct guest_mem *mem = pr->n->dev.mem;
	unsigned sent = 0, batch = 0;
	bool throttled = pr->tx_timer.armed; /* waiting: the tx timer serves the queue */
	uint64_t bytes0 = pr->stats.tx_bytes, errors0 = pr->stats.tx_errors;
	int p;

	for (p = 0; !throttled;) {
		vq_disable_notify(vq, mem); /* 2.7.10: no kicks while we are draining anyway */
		while ((p = vq_pop(vq, mem, &pr->chain)) > 0) {
			if (!net_throttle_tx(pr)) {
				throttled = true; /* the frame went back to the ring */
				p = 0;
				break;
			}
			tx_one(pr);
			p = vq_add_used(vq, mem, vq_chain_used(&pr->chain));
			if (p < 0)
				break;
			sent++;
			if (++batch == TX_BUDGET)
				break;
		}
		if (p < 0 || throttled)
			break;
		if (batch == TX_BUDGET) {
			/* Frames left: come back on the I/O thread's next pass
			 * (virtio/core/serve.h), after the vCPUs had a chance at the lock. */
			virtio_dev_reschedule(&pr->n->dev, net_txq(pr));
			break;
		}
		p = virtio_dev_rearm_kicks(&pr->n->dev, vq); /* 1: a frame came meanwhile */
		if (p <= 0)
			break;
	}
	if (p < 0)
		virtio_dev_fail(&pr->n->dev, vq_strerror(p));
	/* The device counters from the net stats (one count, two views): every used buffer is a
	 * request, malformed frames are errors (drops by the backend stay in the net stats). */
	virtio_dev_count_requests(&pr->n->dev, sent, pr->stats.tx_bytes - bytes0);
	virtio_dev_count(&pr->n->dev.counters.errors, pr->stats.tx_errors - errors0);
	if (sent && vq_publish_used(vq, mem) == 0)
		virtio_dev_notify_used(&pr->n->dev, net_txq(pr));
}
