/* virtio-net receive path (virtio 1.2 5.1.6.3, 5.1.6.4), per queue pair: backend -> staging
 * buffer -> guest buffers. A frame leaves the staging buffer only when it was delivered or
 * deliberately dropped (counted); while the guest has no buffer the backend is not read at all. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/log.h"
#include "virtio/net/internal.h"

#define RX_BUDGET 256 /* frames per callback: the fd stays readable, epoll calls us again */

/* Stopped: EPOLLONESHOT with no events, so even an EPOLLERR / EPOLLHUP (always reported) wakes
 * the thread at most once instead of spinning. */
void net_rx_watch(struct net_pair *pr, bool on)
{
	int err;

	if (pr->rx_watching == on)
		return;
	err = virtio_dev_mod_fd(&pr->n->dev, pr->be->rx_fd, on ? EPOLLIN : EPOLLONESHOT);
	if (err)
		log_warn("virtio-net: cannot %s the %s backend: %s", on ? "watch" : "pause",
			 pr->be->kind, strerror(-err));
	else
		pr->rx_watching = on;
}

void net_rx_reset(struct net_pair *pr)
{
	if (pr->rx_pending)
		pr->stats.rx_dropped++;
	pr->stats.rx_dropped += pr->rx_count - pr->rx_next; /* read, never staged */
	pr->rx_pending = 0;
	pr->rx_next = pr->rx_count = 0;
	pr->rx_charged = false;
	pr->fill.nbufs = 0;
	pr->rx_added = false;
}

/* ---- backend -> staging buffer ---- */

/* A frame the backend gave that no guest may see, or a failed read: counted in the net stats
 * and as a device error. */
static void rx_error(struct net_pair *pr)
{
	pr->stats.rx_errors++;
	virtio_dev_count_error(&pr->n->dev);
}

/* Batch sizes: the first read of a burst asks for one frame; each batch that comes back full
 * doubles the next, one that does not shrinks it to what came (plus one), so an idle tap costs
 * one empty read per wake-up, and a flood NET_RX_BATCH_MAX frames per system call. */
static unsigned rx_next_want(unsigned want, int got)
{
	if (got >= (int)want)
		return want * 2 < NET_RX_BATCH_MAX ? want * 2 : NET_RX_BATCH_MAX;
	return got > 0 ? (unsigned)got + 1 : 1;
}

/* Points pr->rx_frame at the next frame: the next one of the batch, read ahead with recv_batch()
 * when the backend has it, else one read with recv() into pr->stage. Returns the frame's length
 * (header included) or -errno as recv() does. */
static ssize_t rx_read(struct net_pair *pr)
{
	struct net_backend *be = pr->be;
	ssize_t r;

	if (be->vnet_hdr && be->ops->recv_batch) {
		if (pr->rx_next == pr->rx_count) {
			int got = be->ops->recv_batch(be, pr->rx_batch, pr->rx_want ?: 1);

			pr->rx_want = rx_next_want(pr->rx_want ?: 1, got);
			if (got <= 0)
				return got ?: -EAGAIN;
			pr->rx_next = 0;
			pr->rx_count = (unsigned)got;
		}
		pr->rx_frame = pr->rx_batch[pr->rx_next].data;
		return pr->rx_batch[pr->rx_next++].len;
	}
	pr->rx_frame = pr->stage;
	if (be->vnet_hdr)
		return be->ops->recv(be, pr->stage, NET_STAGE_LEN);
	r = be->ops->recv(be, pr->stage + NET_HDR_LEN, NET_STAGE_LEN - NET_HDR_LEN);
	if (r >= 0) {
		memset(pr->stage, 0, NET_HDR_LEN);
		r += NET_HDR_LEN;
	}
	return r;
}

/* Stages the next frame at pr->rx_frame (header first). Returns 1 when a frame is staged, 0 when
 * the frame was dropped (counted; read the next one), -EAGAIN when the backend is empty, or
 * another -errno when the backend failed. */
static int rx_fetch(struct net_pair *pr)
{
	ssize_t r = rx_read(pr);

	if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR)
		return -EAGAIN;
	if (r == -EMSGSIZE || (r >= 0 && (size_t)r > NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)) {
		pr->stats.rx_dropped++; /* larger than any frame virtio-net can carry */
		return 0;
	}
	if (r < 0)
		return (int)r;
	if ((size_t)r < NET_HDR_LEN + VIRTIO_NET_MIN_FRAME ||
	    virtio_net_rx_hdr_fixup((struct virtio_net_hdr_v1 *)pr->rx_frame,
				    pr->n->dev.driver_features) < 0) {
		rx_error(pr); /* a runt, or offloads the guest did not ask for */
		return 0;
	}
	pr->rx_pending = (size_t)r;
	return 1;
}

/* ---- staging buffer -> guest: one chain at a time, through the serve loop ---- */

/* Gives back the `count` buffers reserved for the frame in progress, newest first, so the ring is
 * exactly as the driver left it. */
static int rx_unpop(struct net_pair *pr, struct virtqueue *vq, unsigned count)
{
	while (count--) {
		pr->chain.ndescs = pr->rx_used[count].ndescs;
		int err = vq_unpop(vq, pr->n->dev.mem, &pr->chain);

		if (err)
			return err;
	}
	return 0;
}

/* The staged frame is done with (delivered or dropped): the next one may be read. */
static void rx_forget(struct net_pair *pr)
{
	pr->rx_pending = 0;
	pr->rx_charged = false;
}

/* Fills the buffer just popped with the next part of the frame. Returns 1 when it was used, 0
 * when it is too small for what it must hold (the frame cannot be delivered into it). */
static int rx_fill(struct net_pair *pr, struct net_rx_fill *f)
{
	struct vq_chain *c = &pr->chain;
	size_t room = vq_chain_writable(c), len;

	if (f->nbufs == VIRTIO_NET_QUEUE_SIZE)
		return 0; /* cannot happen: the ring holds at most that many */
	if (f->nbufs == 0) {
		/* 5.1.6.3.1: without MRG_RXBUF one buffer holds it all; with it, the first must
		 * at least hold the header, which is written last (num_buffers is known then). */
		if (room < (f->mrg ? NET_HDR_LEN : pr->rx_pending))
			return 0;
		f->nhdr = vq_chain_write_iov(c, pr->n->dev.mem, NET_HDR_LEN, f->hdr, NET_HDR_LEN);
		if (f->nhdr < 0 || vq_chain_add_written(c, NET_HDR_LEN) < 0)
			return 0;
		f->off = NET_HDR_LEN;
		room -= NET_HDR_LEN;
	}
	len = pr->rx_pending - f->off < room ? pr->rx_pending - f->off : room;
	if (len && vq_chain_write(c, pr->n->dev.mem, pr->rx_frame + f->off, len) < 0)
		return 0;
	f->off += len;
	pr->rx_used[f->nbufs++] = vq_chain_used(c);
	return 1;
}

/* Drops the staged frame: gives back every buffer reserved for it (the one just popped too when
 * `current`), so the guest's buffers stay available for the next frame. Returns
 * VIRTIO_CHAIN_TAKEN or the unpop error. */
static int rx_drop(struct net_pair *pr, struct virtqueue *vq, bool current)
{
	int err = current ? vq_unpop(vq, pr->n->dev.mem, &pr->chain) : 0;

	pr->stats.rx_dropped++;
	if (!err)
		err = rx_unpop(pr, vq, pr->fill.nbufs);
	pr->fill.nbufs = 0;
	rx_forget(pr);
	return err ?: VIRTIO_CHAIN_TAKEN;
}

/* The whole frame is in the guest's buffers: the header goes in last (5.1.6.4: num_buffers, 1
 * without MRG_RXBUF), then the used elements, published at the end of the batch. Returns
 * VIRTIO_CHAIN_TAKEN or a ring error. */
static int rx_complete(struct net_pair *pr, struct virtqueue *vq)
{
	struct virtio_net_hdr_v1 *hdr = (struct virtio_net_hdr_v1 *)pr->rx_frame;
	struct net_rx_fill *f = &pr->fill;

	hdr->num_buffers = htole16((uint16_t)f->nbufs);
	vq_iov_from_buf(f->hdr, f->nhdr, hdr, NET_HDR_LEN); /* mapped for exactly this header */
	for (unsigned i = 0; i < f->nbufs; i++) {
		int p = vq_add_used(vq, pr->n->dev.mem, pr->rx_used[i]);

		if (p < 0)
			return p;
	}
	pr->stats.rx_frames++;
	pr->stats.rx_bytes += pr->rx_pending - NET_HDR_LEN;
	virtio_dev_count_requests(&pr->n->dev, f->nbufs, pr->rx_pending - NET_HDR_LEN);
	pr->rx_added = true;
	f->nbufs = 0;
	rx_forget(pr);
	return VIRTIO_CHAIN_TAKEN;
}

/* serve.h has_work(): a frame staged (read from the backend if none is) and let through by the
 * rate limiter. A frame dropped on the way is one frame of the budget. */
static int rx_has_work(struct virtio_dev *dev, void *opaque)
{
	struct net_pair *pr = opaque;

	if (!pr->rx_pending) {
		int r = rx_fetch(pr);

		if (r == -EAGAIN)
			return VIRTIO_WORK_NONE;
		if (r < 0) {
			log_warn("virtio-net: %s backend read failed: %s; receive stopped",
				 pr->be->kind, strerror(-r));
			rx_error(pr);
			pr->rx_broken = true;
			return VIRTIO_WORK_NONE;
		}
		if (r == 0)
			return VIRTIO_WORK_DONE;
	}
	if (!pr->rx_charged && !net_throttle_rx(pr, pr->rx_pending - NET_HDR_LEN))
		return VIRTIO_WORK_NONE; /* staged until the rx timer fires: the backend is not read
					  * meanwhile */
	pr->rx_charged = true;
	pr->fill.off = 0;
	pr->fill.nbufs = 0;
	pr->fill.mrg = virtio_dev_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);
	return VIRTIO_WORK_CHAIN;
}

/* serve.h handle(): the next buffer of the staged frame. The frame needs more (MRG_RXBUF), or is
 * complete, or is dropped: it cannot go into this buffer (5.1.6.3.1: too small), or it still
 * needs more when every descriptor of the ring holds a part of it (no buffer can come). */
static int rx_chain(struct virtio_dev *dev, struct vq_chain *c, void *opaque, uint64_t *bytes)
{
	struct net_pair *pr = opaque;
	struct virtqueue *vq = &dev->vqs[net_rxq(pr)];

	(void)c, (void)bytes; /* c is pr->chain; no byte budget */
	if (!rx_fill(pr, &pr->fill))
		return rx_drop(pr, vq, true);
	if (pr->fill.off < pr->rx_pending)
		return vq->inflight < vq->size ? VIRTIO_CHAIN_MORE : rx_drop(pr, vq, false);
	return rx_complete(pr, vq);
}

/* The ring ran dry while the staged frame had buffers reserved: give them back, the frame waits
 * staged for the driver's next buffers. Returns 0 or a ring error. */
static int rx_ring_dry(struct net_pair *pr, struct virtqueue *vq)
{
	int err = rx_unpop(pr, vq, pr->fill.nbufs);

	pr->fill.nbufs = 0;
	return err;
}

/* serve.h end_batch(): whatever stopped the pass, the frames delivered are published with one
 * notification, and reading the backend goes on only while no frame waits for guest buffers. */
static void rx_end_batch(struct virtio_dev *dev, uint16_t q, void *opaque,
			 enum virtio_serve_result res)
{
	struct net_pair *pr = opaque;
	struct virtqueue *vq = &dev->vqs[q];
	int err = 0;

	if (res == VIRTIO_SERVE_IDLE && pr->rx_pending && pr->rx_charged)
		err = rx_ring_dry(pr, vq);
	/* Budget spent with frames read ahead: the backend may be empty, so epoll would not call
	 * us again; come back on the next pass. */
	if (res == VIRTIO_SERVE_YIELDED && pr->rx_next < pr->rx_count)
		virtio_dev_reschedule(dev, q);
	else if (res == VIRTIO_SERVE_YIELDED || pr->rx_pending)
		virtio_dev_count_stall(dev); /* budget spent, or no guest buffer */
	if (err)
		virtio_dev_fail(dev, vq_strerror(err));
	if (err || res == VIRTIO_SERVE_FAILED || res == VIRTIO_SERVE_NOT_READY) {
		pr->rx_added = false;
		net_rx_watch(pr, false);
		return;
	}
	if (pr->rx_added && vq_publish_used(vq, dev->mem) == 0)
		virtio_dev_notify_used(dev, q);
	pr->rx_added = false;
	/* Waiting for buffers (a frame is staged): stop reading until the rx queue is kicked. */
	net_rx_watch(pr, !pr->rx_pending && !pr->rx_broken);
	if (!pr->rx_pending)
		vq_disable_notify(vq, dev->mem); /* kicks are only useful while waiting */
}

static bool rx_usable(struct net_pair *pr)
{
	/* 5.1.6.5.5: no frame on a receive queue beyond the pairs the driver set. */
	return virtio_dev_running(&pr->n->dev) && pr->index < pr->n->pairs &&
	       vq_is_active(&pr->n->dev.vqs[net_rxq(pr)]) && !pr->rx_broken;
}

/* Through the one serve loop (virtio/core/serve.h): a frame is read first, then buffers are
 * popped for it (reserved with VIRTIO_CHAIN_MORE while it needs more), up to RX_BUDGET frames
 * per wakeup; a spent budget is left to the backend fd (it stays readable), or rescheduled when
 * frames were read ahead. Kicks are wanted only while a frame waits for buffers. */
void net_rx_pump(struct net_pair *pr)
{
	const struct virtio_server s = {
	    .chain = &pr->chain,
	    .max_chains = RX_BUDGET,
	    .own_wakeup = true,
	    .has_work = rx_has_work,
	    .handle = rx_chain,
	    .end_batch = rx_end_batch,
	    .opaque = pr,
	};

	if (!rx_usable(pr)) {
		net_rx_watch(pr, false);
		return;
	}
	virtio_serve_queue(&pr->n->dev, net_rxq(pr), &s);
}
