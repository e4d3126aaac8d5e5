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
static int tx_map(struct vnet *n, struct iovec *iov, int first, size_t len)
{
	struct vq_chain *c = &n->chain;
	int k = vq_chain_read_iov(c, n->dev.mem, len, iov + first, TX_MAX_IOV - first);

	if (k == -ENOBUFS) {
		k = vq_chain_read(c, n->dev.mem, n->tx_bounce, len);
		if (k < 0)
			return k;
		iov[first] = (struct iovec){n->tx_bounce, len};
		k = 1;
	}
	return k < 0 ? k : first + k;
}

/* Sends the frame in n->chain. Malformed frames are counted and not sent; the buffer is used
 * either way (len 0: the device writes nothing into a transmit buffer). */
static void tx_one(struct vnet *n)
{
	struct vq_chain *c = &n->chain;
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov[TX_MAX_IOV];
	size_t len;
	int first = n->be->vnet_hdr ? 1 : 0, k, err;

	if (vq_chain_read(c, n->dev.mem, &hdr, sizeof(hdr)) < 0) {
		n->stats.tx_errors++; /* shorter than the header */
		return;
	}
	len = vq_chain_readable(c);
	if (len < ETH_HLEN || len > VIRTIO_NET_MAX_FRAME ||
	    virtio_net_tx_hdr_check(&hdr, n->dev.driver_features, len) < 0) {
		n->stats.tx_errors++;
		return;
	}
	iov[0] = (struct iovec){&hdr, sizeof(hdr)};
	k = tx_map(n, iov, first, len);
	if (k < 0) {
		n->stats.tx_errors++;
		return;
	}
	err = n->be->ops->send(n->be, iov, k);
	if (err) {
		n->stats.tx_dropped++;
		return;
	}
	n->stats.tx_frames++;
	n->stats.tx_bytes += len;
}

void net_tx_kick(struct vnet *n)
{
	struct virtqueue *vq = &n->dev.vqs[VIRTIO_NET_TXQ];
	const struct guest_mem *mem = n->dev.mem;
	unsigned sent = 0, batch = 0;
	bool throttled = n->tx_thr.timer.armed; /* waiting: the tx timer serves the queue */
	uint64_t bytes0 = n->stats.tx_bytes, errors0 = n->stats.tx_errors;
	int p;

	for (p = 0; !throttled;) {
		vq_disable_notify(vq, mem); /* 2.7.10: no kicks while we are draining anyway */
		while ((p = vq_pop(vq, mem, &n->chain)) > 0) {
			if (!net_throttle_tx(n)) {
				throttled = true; /* the frame went back to the ring */
				p = 0;
				break;
			}
			tx_one(n);
			p = vq_add_used(vq, mem, vq_chain_used(&n->chain));
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
			virtio_dev_reschedule(&n->dev, VIRTIO_NET_TXQ);
			break;
		}
		p = vq_enable_notify(vq, mem); /* 1: a frame came in meanwhile, go again */
		if (p <= 0)
			break;
	}
	if (p < 0)
		virtio_dev_fail(&n->dev, vq_strerror(p));
	/* The device counters from the net stats (one count, two views): every used buffer is a
	 * request, malformed frames are errors (drops by the backend stay in the net stats). */
	virtio_dev_count_requests(&n->dev, sent, n->stats.tx_bytes - bytes0);
	virtio_dev_count(&n->dev.counters.errors, n->stats.tx_errors - errors0);
	if (sent && vq_publish_used(vq, mem) == 0)
		virtio_dev_notify_used(&n->dev, VIRTIO_NET_TXQ);
}
