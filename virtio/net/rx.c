/* virtio-net receive path (virtio 1.2 5.1.6.3, 5.1.6.4): backend -> staging buffer -> guest
 * buffers. A frame leaves the staging buffer only when it was delivered or deliberately dropped
 * (counted); while the guest has no buffer the backend is not read at all. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/net/internal.h"
#include "vmm/base/log.h"

#define RX_BUDGET 256 /* frames per callback: the fd stays readable, epoll calls us again */

/* Stopped: EPOLLONESHOT with no events, so even an EPOLLERR / EPOLLHUP (always reported) wakes
 * the thread at most once instead of spinning. */
void net_rx_watch(struct vnet *n, bool on)
{
	int err;

	if (n->rx_watching == on)
		return;
	err = virtio_dev_mod_fd(&n->dev, n->be->rx_fd, on ? EPOLLIN : EPOLLONESHOT);
	if (err)
		log_warn("virtio-net: cannot %s the %s backend: %s", on ? "watch" : "pause",
			 n->be->kind, strerror(-err));
	else
		n->rx_watching = on;
}

void net_rx_reset(struct vnet *n)
{
	if (n->rx_pending)
		n->stats.rx_dropped++;
	n->rx_pending = 0;
	n->rx_charged = false;
}

/* ---- backend -> staging buffer ---- */

/* Reads one frame into n->stage (header first). Returns 1 when a frame is staged, 0 when the
 * frame was dropped (counted; read the next one), -EAGAIN when the backend is empty, or another
 * -errno when the backend failed. */
static int rx_fetch(struct vnet *n)
{
	struct net_backend *be = n->be;
	struct virtio_net_hdr_v1 *hdr = (struct virtio_net_hdr_v1 *)n->stage;
	ssize_t r;

	if (be->vnet_hdr) {
		r = be->ops->recv(be, n->stage, NET_STAGE_LEN);
	} else {
		r = be->ops->recv(be, n->stage + NET_HDR_LEN, NET_STAGE_LEN - NET_HDR_LEN);
		if (r >= 0) {
			memset(hdr, 0, NET_HDR_LEN);
			r += NET_HDR_LEN;
		}
	}
	if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR)
		return -EAGAIN;
	if (r == -EMSGSIZE || (r >= 0 && (size_t)r > NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)) {
		n->stats.rx_dropped++; /* larger than any frame virtio-net can carry */
		return 0;
	}
	if (r < 0)
		return (int)r;
	if ((size_t)r < NET_HDR_LEN + VIRTIO_NET_MIN_FRAME ||
	    virtio_net_rx_hdr_fixup(hdr, n->dev.driver_features) < 0) {
		n->stats.rx_errors++; /* a runt, or offloads the guest did not ask for */
		return 0;
	}
	n->rx_pending = (size_t)r;
	return 1;
}

/* ---- staging buffer -> guest ---- */

/* Next receive buffer: 1 popped, 0 none (kicks re-enabled and the ring checked again, 2.7.10),
 * negative when the driver broke the queue. */
static int rx_pop(struct vnet *n, struct virtqueue *vq)
{
	int p = vq_pop(vq, n->dev.mem, &n->chain);

	if (p != 0)
		return p;
	p = vq_enable_notify(vq, n->dev.mem);
	if (p <= 0)
		return p;
	return vq_pop(vq, n->dev.mem, &n->chain);
}

/* Gives back the `count` buffers popped for the frame in progress, newest first, so the ring is
 * exactly as the driver left it. */
static int rx_unpop(struct vnet *n, struct virtqueue *vq, unsigned count)
{
	while (count--) {
		n->chain.ndescs = n->rx_used[count].ndescs;
		int err = vq_unpop(vq, n->dev.mem, &n->chain);

		if (err)
			return err;
	}
	return 0;
}

/* Copies host bytes into the guest through the iovecs mapped for the header. */
static void iov_store(const struct iovec *iov, int niov, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (int i = 0; i < niov && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, p, n);
		p += n;
		len -= n;
	}
}

struct rx_frame {
	size_t off;		       /* bytes of the staged frame (header included) placed */
	unsigned nbufs;		       /* buffers used */
	struct iovec hdr[NET_HDR_LEN]; /* where the header goes in the first buffer */
	int nhdr;
};

/* Fills the buffer just popped with the next part of the frame. Returns 1 when it was used, 0
 * when it is too small for what it must hold (the frame cannot be delivered into it). */
static int rx_fill(struct vnet *n, struct rx_frame *f, bool mrg)
{
	struct vq_chain *c = &n->chain;
	size_t room = vq_chain_writable(c), len;

	if (f->nbufs == VIRTIO_NET_QUEUE_SIZE)
		return 0; /* cannot happen: the ring holds at most that many */
	if (f->nbufs == 0) {
		/* 5.1.6.3.1: without MRG_RXBUF one buffer holds it all; with it, the first must
		 * at least hold the header, which is written last (num_buffers is known then). */
		if (room < (mrg ? NET_HDR_LEN : n->rx_pending))
			return 0;
		f->nhdr = vq_chain_write_iov(c, n->dev.mem, NET_HDR_LEN, f->hdr, NET_HDR_LEN);
		if (f->nhdr < 0 || vq_chain_add_written(c, NET_HDR_LEN) < 0)
			return 0;
		f->off = NET_HDR_LEN;
		room -= NET_HDR_LEN;
	}
	len = n->rx_pending - f->off < room ? n->rx_pending - f->off : room;
	if (len && vq_chain_write(c, n->dev.mem, n->stage + f->off, len) < 0)
		return 0;
	f->off += len;
	n->rx_used[f->nbufs++] = vq_chain_used(c);
	return 1;
}

/* Drops the staged frame: gives back every buffer popped for it (the one just popped too when
 * `current`), so the guest's buffers stay available for the next frame. Returns 2 or the
 * unpop error. */
static int rx_drop(struct vnet *n, struct virtqueue *vq, const struct rx_frame *f, bool current)
{
	int err = current ? vq_unpop(vq, n->dev.mem, &n->chain) : 0;

	n->stats.rx_dropped++;
	if (!err)
		err = rx_unpop(n, vq, f->nbufs);
	return err ?: 2;
}

/* Delivers the staged frame. Returns 1 delivered, 2 dropped (counted; buffers untouched), 0 when
 * the guest must add buffers first (nothing consumed), negative when the ring is broken. */
static int rx_deliver(struct vnet *n)
{
	struct virtqueue *vq = &n->dev.vqs[VIRTIO_NET_RXQ];
	bool mrg = virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr_v1 *hdr = (struct virtio_net_hdr_v1 *)n->stage;
	struct rx_frame f = {0};
	int p;

	while (f.off < n->rx_pending) {
		p = rx_pop(n, vq);
		if (p < 0)
			return p;
		if (p == 0 && vq->inflight < vq->size)
			return rx_unpop(n, vq, f.nbufs) ?: 0; /* the driver may add buffers */
		if (p == 0)
			return rx_drop(n, vq, &f, false); /* the whole ring cannot hold it */
		if (!rx_fill(n, &f, mrg))
			return rx_drop(n, vq, &f, true); /* 5.1.6.3.1: buffer too small */
	}
	/* 5.1.6.4: num_buffers is 1 without MRG_RXBUF. The header goes in last. */
	hdr->num_buffers = htole16((uint16_t)f.nbufs);
	iov_store(f.hdr, f.nhdr, hdr, NET_HDR_LEN);
	for (unsigned i = 0; i < f.nbufs; i++) {
		p = vq_add_used(vq, n->dev.mem, n->rx_used[i]);
		if (p < 0)
			return p;
	}
	n->stats.rx_frames++;
	n->stats.rx_bytes += n->rx_pending - NET_HDR_LEN;
	virtio_dev_count_requests(&n->dev, f.nbufs, n->rx_pending - NET_HDR_LEN);
	return 1;
}

/* ---- the pump ---- */

static bool rx_usable(struct vnet *n)
{
	return virtio_dev_running(&n->dev) && vq_is_active(&n->dev.vqs[VIRTIO_NET_RXQ]) &&
	       !n->rx_broken;
}

/* One step: 1 = go on, 0 = stop (backend empty, or waiting for guest buffers), <0 = broken. */
static int rx_step(struct vnet *n, unsigned *delivered)
{
	int r;

	if (!n->rx_pending) {
		r = rx_fetch(n);
		if (r == -EAGAIN)
			return 0;
		if (r < 0) {
			log_warn("virtio-net: %s backend read failed: %s; receive stopped",
				 n->be->kind, strerror(-r));
			n->stats.rx_errors++;
			n->rx_broken = true;
			return 0;
		}
		if (r == 0)
			return 1;
	}
	if (!n->rx_charged && !net_throttle_rx(n, n->rx_pending - NET_HDR_LEN))
		return 0; /* staged until the rx timer fires: the backend is not read meanwhile */
	n->rx_charged = true;
	r = rx_deliver(n);
	if (r <= 0)
		return r;
	if (r == 1)
		(*delivered)++;
	n->rx_pending = 0;
	n->rx_charged = false;
	return 1;
}

void net_rx_pump(struct vnet *n)
{
	struct virtqueue *vq = &n->dev.vqs[VIRTIO_NET_RXQ];
	unsigned delivered = 0, steps = 0;
	uint64_t errors0 = n->stats.rx_errors;
	int r = 1;

	if (!rx_usable(n)) {
		net_rx_watch(n, false);
		return;
	}
	while (steps++ < RX_BUDGET && (r = rx_step(n, &delivered)) > 0)
		;
	virtio_dev_count(&n->dev.counters.errors, n->stats.rx_errors - errors0);
	if (r > 0 || n->rx_pending)
		virtio_dev_count_stall(&n->dev); /* budget spent, or no guest buffer for a frame */
	if (r < 0) {
		virtio_dev_fail(&n->dev, vq_strerror(r));
		net_rx_watch(n, false);
		return;
	}
	if (delivered && vq_publish_used(vq, n->dev.mem) == 0)
		virtio_dev_notify_used(&n->dev, VIRTIO_NET_RXQ);
	/* Waiting for buffers (a frame is staged): stop reading until the rx queue is kicked. */
	net_rx_watch(n, !n->rx_pending && !n->rx_broken);
	if (!n->rx_pending)
		vq_disable_notify(vq, n->dev.mem); /* kicks are only useful while waiting */
}
