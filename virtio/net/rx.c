/* virtio-net receive path (virtio 1.2 5.1.6.3, 5.1.6.4), per queue pair: backend -> staging
 * buffer -> guest buffers. A frame leaves the staging buffer only when it was delivered or
 * deliberately dropped (counted); while the guest has no buffer the backend is not read at all. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/net/internal.h"
#include "vmm/base/log.h"

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
}

/* ---- backend -> staging buffer ---- */

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
		pr->stats.rx_errors++; /* a runt, or offloads the guest did not ask for */
		return 0;
	}
	pr->rx_pending = (size_t)r;
	return 1;
}

/* ---- staging buffer -> guest ---- */

/* Next receive buffer: 1 popped, 0 none (kicks re-enabled and the ring checked again, 2.7.10),
 * negative when the driver broke the queue. */
static int rx_pop(struct net_pair *pr, struct virtqueue *vq)
{
	int p = vq_pop(vq, pr->n->dev.mem, &pr->chain);

	if (p != 0)
		return p;
	p = virtio_dev_rearm_kicks(&pr->n->dev, vq);
	if (p <= 0)
		return p;
	return vq_pop(vq, pr->n->dev.mem, &pr->chain);
}

/* Gives back the `count` buffers popped for the frame in progress, newest first, so the ring is
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

struct rx_frame {
	size_t off;		       /* bytes of the staged frame (header included) placed */
	unsigned nbufs;		       /* buffers used */
	struct iovec hdr[NET_HDR_LEN]; /* where the header goes in the first buffer */
	int nhdr;
};

/* Fills the buffer just popped with the next part of the frame. Returns 1 when it was used, 0
 * when it is too small for what it must hold (the frame cannot be delivered into it). */
static int rx_fill(struct net_pair *pr, struct rx_frame *f, bool mrg)
{
	struct vq_chain *c = &pr->chain;
	size_t room = vq_chain_writable(c), len;

	if (f->nbufs == VIRTIO_NET_QUEUE_SIZE)
		return 0; /* cannot happen: the ring holds at most that many */
	if (f->nbufs == 0) {
		/* 5.1.6.3.1: without MRG_RXBUF one buffer holds it all; with it, the first must
		 * at least hold the header, which is written last (num_buffers is known then). */
		if (room < (mrg ? NET_HDR_LEN : pr->rx_pending))
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

/* Drops the staged frame: gives back every buffer popped for it (the one just popped too when
 * `current`), so the guest's buffers stay available for the next frame. Returns 2 or the
 * unpop error. */
static int rx_drop(struct net_pair *pr, struct virtqueue *vq, const struct rx_frame *f,
		   bool current)
{
	int err = current ? vq_unpop(vq, pr->n->dev.mem, &pr->chain) : 0;

	pr->stats.rx_dropped++;
	if (!err)
		err = rx_unpop(pr, vq, f->nbufs);
	return err ?: 2;
}

/* Delivers the staged frame. Returns 1 delivered, 2 dropped (counted; buffers untouched), 0 when
 * the guest must add buffers first (nothing consumed), negative when the ring is broken. */
static int rx_deliver(struct net_pair *pr)
{
	struct virtqueue *vq = &pr->n->dev.vqs[net_rxq(pr)];
	bool mrg = virtio_dev_has_feature(&pr->n->dev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr_v1 *hdr = (struct virtio_net_hdr_v1 *)pr->rx_frame;
	struct rx_frame f = {0};
	int p;

	while (f.off < pr->rx_pending) {
		p = rx_pop(pr, vq);
		if (p < 0)
			return p;
		if (p == 0 && vq->inflight < vq->size)
			return rx_unpop(pr, vq, f.nbufs) ?: 0; /* the driver may add buffers */
		if (p == 0)
			return rx_drop(pr, vq, &f, false); /* the whole ring cannot hold it */
		if (!rx_fill(pr, &f, mrg))
			return rx_drop(pr, vq, &f, true); /* 5.1.6.3.1: buffer too small */
	}
	/* 5.1.6.4: num_buffers is 1 without MRG_RXBUF. The header goes in last. */
	hdr->num_buffers = htole16((uint16_t)f.nbufs);
	vq_iov_from_buf(f.hdr, f.nhdr, hdr, NET_HDR_LEN); /* mapped for exactly this header */
	for (unsigned i = 0; i < f.nbufs; i++) {
		p = vq_add_used(vq, pr->n->dev.mem, pr->rx_used[i]);
		if (p < 0)
			return p;
	}
	pr->stats.rx_frames++;
	pr->stats.rx_bytes += pr->rx_pending - NET_HDR_LEN;
	virtio_dev_count_requests(&pr->n->dev, f.nbufs, pr->rx_pending - NET_HDR_LEN);
	return 1;
}

/* ---- the pump ---- */

static bool rx_usable(struct net_pair *pr)
{
	/* 5.1.6.5.5: no frame on a receive queue beyond the pairs the driver set. */
	return virtio_dev_running(&pr->n->dev) && pr->index < pr->n->pairs &&
	       vq_is_active(&pr->n->dev.vqs[net_rxq(pr)]) && !pr->rx_broken;
}

/* One step: 1 = go on, 0 = stop (backend empty, or waiting for guest buffers), <0 = broken. */
static int rx_step(struct net_pair *pr, unsigned *delivered)
{
	int r;

	if (!pr->rx_pending) {
		r = rx_fetch(pr);
		if (r == -EAGAIN)
			return 0;
		if (r < 0) {
			log_warn("virtio-net: %s backend read failed: %s; receive stopped",
				 pr->be->kind, strerror(-r));
			pr->stats.rx_errors++;
			pr->rx_broken = true;
			return 0;
		}
		if (r == 0)
			return 1;
	}
	if (!pr->rx_charged && !net_throttle_rx(pr, pr->rx_pending - NET_HDR_LEN))
		return 0; /* staged until the rx timer fires: the backend is not read meanwhile */
	pr->rx_charged = true;
	r = rx_deliver(pr);
	if (r <= 0)
		return r;
	if (r == 1)
		(*delivered)++;
	pr->rx_pending = 0;
	pr->rx_charged = false;
	return 1;
}

void net_rx_pump(struct net_pair *pr)
{
	struct virtqueue *vq = &pr->n->dev.vqs[net_rxq(pr)];
	unsigned delivered = 0, steps = 0;
	uint64_t errors0 = pr->stats.rx_errors;
	int r = 1;

	if (!rx_usable(pr)) {
		net_rx_watch(pr, false);
		return;
	}
	while (steps++ < RX_BUDGET && (r = rx_step(pr, &delivered)) > 0)
		;
	virtio_dev_count(&pr->n->dev.counters.errors, pr->stats.rx_errors - errors0);
	/* Budget spent with frames read ahead: the backend may be empty, so epoll would not call
	 * us again; come back on the next pass. */
	if (r > 0 && pr->rx_next < pr->rx_count)
		virtio_dev_reschedule(&pr->n->dev, net_rxq(pr));
	else if (r > 0 || pr->rx_pending)
		virtio_dev_count_stall(&pr->n->dev); /* budget spent, or no guest buffer */
	if (r < 0) {
		virtio_dev_fail(&pr->n->dev, vq_strerror(r));
		net_rx_watch(pr, false);
		return;
	}
	if (delivered && vq_publish_used(vq, pr->n->dev.mem) == 0)
		virtio_dev_notify_used(&pr->n->dev, net_rxq(pr));
	/* Waiting for buffers (a frame is staged): stop reading until the rx queue is kicked. */
	net_rx_watch(pr, !pr->rx_pending && !pr->rx_broken);
	if (!pr->rx_pending)
		vq_disable_notify(vq, pr->n->dev.mem); /* kicks are only useful while waiting */
}
