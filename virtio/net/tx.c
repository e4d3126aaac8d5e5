/* virtio-net transmit path (virtio 1.2 5.1.6.2): each kick pops the available frames (up to a
 * budget), sends them to the backend, and publishes all used buffers at the end with one
 * notification. Frames go out zero-copy from guest memory; only the header is copied (and
 * validated: the backend must see the header the device checked, not one the guest changed
 * since). */
#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/net/internal.h"

#define TX_BUDGET  (2 * VIRTIO_NET_QUEUE_SIZE) /* frames per callback, then re-kick ourselves */
#define TX_MAX_IOV 1024			       /* UIO_MAXIOV: writev's limit */

/* A malformed frame: counted in the net stats and as a device error. Returns 0 (bytes sent). */
static size_t tx_error(struct net_pair *pr)
{
	pr->stats.tx_errors++;
	virtio_dev_count_error(&pr->n->dev);
	return 0;
}

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

/* Sends the frame in pr->chain. Malformed frames are counted (net stats and device errors) and
 * not sent; the buffer is used either way (len 0: the device writes nothing into a transmit
 * buffer). Returns the frame bytes sent (0: not sent). */
static size_t tx_one(struct net_pair *pr)
{
	struct vq_chain *c = &pr->chain;
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov[TX_MAX_IOV];
	size_t len;
	int first = pr->be->vnet_hdr ? 1 : 0, k;

	if (vq_chain_read(c, pr->n->dev.mem, &hdr, sizeof(hdr)) < 0)
		return tx_error(pr); /* shorter than the header */
	len = vq_chain_readable(c);
	if (len < ETH_HLEN || len > VIRTIO_NET_MAX_FRAME ||
	    virtio_net_tx_hdr_check(&hdr, pr->n->dev.driver_features, len) < 0)
		return tx_error(pr);
	iov[0] = (struct iovec){&hdr, sizeof(hdr)};
	k = tx_map(pr, iov, first, len);
	if (k < 0)
		return tx_error(pr);
	int r = pr->be->ops->send(pr->be, iov, k);
	if (r == -NET_SEND_REFUSED) { /* the egress policy's (egress_filter.h) */
		atomic_fetch_add_explicit(&pr->n->tx_egress_dropped, 1, memory_order_relaxed);
		return 0;
	}
	if (r) {
		pr->stats.tx_dropped++;
		return 0;
	}
	pr->stats.tx_frames++;
	pr->stats.tx_bytes += len;
	return len;
}

/* Not waiting for the tx timer. */
static int tx_has_work(struct virtio_dev *dev, void *opaque)
{
	struct net_pair *pr = opaque;

	(void)dev;
	return pr->tx_timer.armed ? VIRTIO_WORK_NONE : VIRTIO_WORK_CHAIN;
}

/* One frame: refused by the rate limiter (given back; the tx timer serves the queue again), or
 * sent (or counted as malformed / dropped) and completed. The bytes sent are the device's
 * counter's. */
static int tx_chain(struct virtio_dev *dev, struct vq_chain *c, void *opaque, uint64_t *bytes)
{
	struct net_pair *pr = opaque;

	(void)dev, (void)c; /* c is pr->chain */
	if (!net_throttle_tx(pr))
		return VIRTIO_CHAIN_WAIT;
	*bytes += tx_one(pr);
	return VIRTIO_CHAIN_PUSH;
}

/* Through the one serve loop (virtio/core/serve.h): up to TX_BUDGET frames per wakeup, kicks off
 * while popping (2.7.10), the used buffers published together with one notification. */
void net_tx_kick(struct net_pair *pr)
{
	const struct virtio_server s = {
	    .chain = &pr->chain,
	    .max_chains = TX_BUDGET,
	    .quiet = true,
	    .has_work = tx_has_work,
	    .handle = tx_chain,
	    .opaque = pr,
	};

	virtio_serve_queue(&pr->n->dev, net_txq(pr), &s);
}
