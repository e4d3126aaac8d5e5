/* The rx queue (device to guest, 5.10.6.2) and the event queue (5.10.6.7). Each rx buffer gets
 * one packet: an RST for a packet that matched no connection, else the next connection with
 * something to say, round robin: its control packet first (REQUEST, RESPONSE, CREDIT_UPDATE,
 * CREDIT_REQUEST), else as much of its socket's bytes as the buffer and the
 * guest's credit allow. Every packet carries our buf_alloc and fwd_cnt (5.10.6.3). */
/* Before linux/vm_sockets.h, which uses struct sockaddr without including it (with the kernel
 * headers of Debian's arm64 cross toolchain, nothing else brings it in before). */
#include <sys/socket.h>

#include <endian.h>
#include <errno.h>
#include <linux/vm_sockets.h>

#include "base/log.h"
#include "virtio/core/serve.h"
#include "virtio/vsock/internal.h"

#define RX_BUDGET 64 /* packets per wakeup */

void vsock_queue_rst(struct vsock *v, uint32_t src_port, uint32_t dst_port)
{
	if (v->rst_len == VSOCK_RST_RING) {
		log_debug("virtio-vsock: RST queue full, dropping one");
		return;
	}
	v->rst[(v->rst_head + v->rst_len++) % VSOCK_RST_RING] =
	    (struct vsock_rst){src_port, dst_port};
}

static struct virtio_vsock_hdr make_hdr(struct vsock *v, uint32_t src, uint32_t dst, uint16_t op,
					uint32_t flags, uint32_t len, uint32_t fwd_cnt)
{
	return (struct virtio_vsock_hdr){
	    .src_cid = htole64(VMADDR_CID_HOST),
	    .dst_cid = htole64(v->opts.cid),
	    .src_port = htole32(src),
	    .dst_port = htole32(dst),
	    .len = htole32(len),
	    .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
	    .op = htole16(op),
	    .flags = htole32(flags),
	    .buf_alloc = htole32(VIRTIO_VSOCK_BUF_ALLOC),
	    .fwd_cnt = htole32(fwd_cnt),
	};
}

/* Data the connection may send now: established, the guest still reads, has credit. */
static bool data_ready(const struct vconn *c)
{
	return c->state == VC_ESTABLISHED && c->readable && !c->guest_no_rcv && !c->host_eof &&
	       vconn_peer_credit(c) > 0;
}

static bool conn_has_work(const struct vconn *c)
{
	return c->state != VC_HANDSHAKE && (c->owe || data_ready(c));
}

static int rx_has_work(struct virtio_dev *dev, void *opaque)
{
	struct vsock *v = to_vsock(dev);

	(void)opaque;
	v->work_slot = -1;
	if (v->rst_len)
		return VIRTIO_WORK_CHAIN;
	for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS && v->nconns; i++) {
		unsigned s = (v->rr + i) % VIRTIO_VSOCK_MAX_CONNS;
		if (v->conns[s] && conn_has_work(v->conns[s])) {
			v->work_slot = (int)s;
			return VIRTIO_WORK_CHAIN;
		}
	}
	return VIRTIO_WORK_NONE;
}

static int put_hdr(struct vsock *v, struct vq_chain *chain, const struct virtio_vsock_hdr *h)
{
	return vq_chain_write(chain, v->dev.mem, h, sizeof(*h));
}

/* The control packet a connection owes, highest priority first. */
static int send_control(struct vsock *v, struct vconn *c, struct vq_chain *chain)
{
	static const struct {
		uint32_t bit;
		uint16_t op;
	} order[] = {
	    {OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST},
	    {OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE},
	    {OWE_CREDIT, VIRTIO_VSOCK_OP_CREDIT_UPDATE},
	    {OWE_CREDIT_REQ, VIRTIO_VSOCK_OP_CREDIT_REQUEST},
	};
	unsigned i = 0;

	while (!(c->owe & order[i].bit))
		i++;
	struct virtio_vsock_hdr h =
	    make_hdr(v, c->local_port, c->peer_port, order[i].op, 0, 0, c->fwd_cnt);
	c->owe &= ~order[i].bit;
	c->fwd_cnt_sent = c->fwd_cnt;
	return put_hdr(v, chain, &h);
}

/* The host closed its side (or half of it): SHUTDOWN SEND, "no more bytes from us". The guest's
 * bytes still go to the socket until the guest closes too (its SHUTDOWN, our RST) or the
 * socket fails (RST). */
static int send_eof(struct vsock *v, struct vconn *c, struct vq_chain *chain)
{
	struct virtio_vsock_hdr h =
	    make_hdr(v, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_SHUTDOWN,
		     VIRTIO_VSOCK_SHUTDOWN_SEND, 0, c->fwd_cnt);
	c->readable = false;
	c->host_eof = true;
	c->fwd_cnt_sent = c->fwd_cnt;
	return put_hdr(v, chain, &h);
}

/* Reads the socket straight into the guest's buffers: bytes read, 0 at EOF, -1 with errno. */
static ssize_t sock_readv(int fd, struct iovec *iov, int niov)
{
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Maps the header and `want` payload bytes of the chain into v->iov: the header's iovec count,
 * the payload's in *np. Negative (the cursor is the caller's to rewind) on a chain error. */
static int map_packet(struct vsock *v, struct vq_chain *chain, uint32_t want, int *np)
{
	const size_t hdr = sizeof(struct virtio_vsock_hdr);
	int nh = vq_chain_write_iov(chain, v->dev.mem, hdr, v->iov, VSOCK_MAX_IOV);
	if (nh < 0)
		return nh;
	*np = vq_chain_write_iov(chain, v->dev.mem, want, v->iov + nh, VSOCK_MAX_IOV - nh);
	return *np < 0 ? *np : nh;
}

/* Socket bytes into the chain after the header, with no copy of our own (recvmsg() into the
 * guest's buffers). Returns 1 when a packet was written, 0 when the socket had nothing (EAGAIN:
 * the flag is cleared), negative on a chain error. */
static int send_data(struct vsock *v, struct vconn *c, struct vq_chain *chain, uint64_t *bytes)
{
	uint32_t room = vq_chain_writable(chain) - (uint32_t)sizeof(struct virtio_vsock_hdr);
	uint32_t want = vconn_peer_credit(c);
	int nh, np = 0;

	if (want > room)
		want = room;
	if (want > VIRTIO_VSOCK_MAX_PKT)
		want = VIRTIO_VSOCK_MAX_PKT;
	if (want == 0)
		return 0; /* a buffer with room for a header only: used for control packets */
	/* Mapping moves the writer cursor (nothing counts as written yet): back to `mark` when no
	 * data packet comes of it, so the chain serves the next connection or a control packet. */
	const struct vq_cursor mark = vq_chain_write_mark(chain);
	nh = map_packet(v, chain, want, &np);
	ssize_t n = nh < 0 ? -1 : sock_readv(c->fd, v->iov + nh, np);
	if (n <= 0 && vq_chain_write_rewind(chain, mark) < 0)
		return -1;
	if (nh < 0)
		return -1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = false;
		return 0;
	}
	if (n == 0)
		return send_eof(v, c, chain) < 0 ? -1 : 1;
	if (n < 0) {
		struct virtio_vsock_hdr h =
		    make_hdr(v, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RST, 0, 0, c->fwd_cnt);
		vconn_free(v, c);
		return put_hdr(v, chain, &h) < 0 ? -1 : 1;
	}
	struct virtio_vsock_hdr h = make_hdr(v, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RW, 0,
					     (uint32_t)n, c->fwd_cnt);
	vq_iov_from_buf(v->iov, nh, &h, sizeof(h)); /* nh iovecs mapped for the header */
	if (vq_chain_add_written(chain, (uint32_t)(sizeof(h) + (size_t)n)) < 0)
		return -1;
	c->tx_cnt += (uint32_t)n;
	c->fwd_cnt_sent = c->fwd_cnt;
	c->owe &= ~OWE_CREDIT; /* this packet carried it */
	if (vconn_peer_credit(c) == 0)
		c->owe |= OWE_CREDIT_REQ; /* the guest usually updates by itself; ask anyway */
	*bytes += (uint64_t)n;
	return 1;
}

/* One packet from connection c. Same returns as send_data. */
static int send_from(struct vsock *v, struct vconn *c, struct vq_chain *chain, uint64_t *bytes)
{
	if (c->owe)
		return send_control(v, c, chain) < 0 ? -1 : 1;
	return send_data(v, c, chain, bytes);
}

static int handle_rx(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes)
{
	struct vsock *v = to_vsock(dev);

	(void)opaque;
	/* 5.10.6.2: rx buffers hold at least a header; anything smaller is a broken driver. */
	if (vq_chain_writable(chain) < sizeof(struct virtio_vsock_hdr))
		return -EINVAL;
	if (v->rst_len) {
		struct vsock_rst r = v->rst[v->rst_head];
		struct virtio_vsock_hdr h =
		    make_hdr(v, r.src_port, r.dst_port, VIRTIO_VSOCK_OP_RST, 0, 0, 0);
		v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
		v->rst_len--;
		return put_hdr(v, chain, &h) < 0 ? -EFAULT : VIRTIO_CHAIN_PUSH;
	}
	/* The slot rx_has_work() found, then the others (its socket may have had nothing). */
	for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS && v->work_slot >= 0; i++) {
		unsigned s = ((unsigned)v->work_slot + i) % VIRTIO_VSOCK_MAX_CONNS;
		struct vconn *c = v->conns[s];
		if (!c || !conn_has_work(c))
			continue;
		int r = send_from(v, c, chain, bytes);
		if (r < 0)
			return -EFAULT;
		if (r > 0) {
			v->rr = (s + 1) % VIRTIO_VSOCK_MAX_CONNS;
			return VIRTIO_CHAIN_PUSH;
		}
	}
	return VIRTIO_CHAIN_WAIT;
}

void vsock_rx_serve(struct vsock *v)
{
	const struct virtio_server s = {
	    .chain = &v->rx_chain,
	    .max_chains = RX_BUDGET,
	    .has_work = rx_has_work,
	    .handle = handle_rx,
	};
	virtio_serve_queue(&v->dev, VSOCK_RXQ, &s);
}

static int handle_event(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
			uint64_t *bytes)
{
	struct vsock *v = to_vsock(dev);
	struct virtio_vsock_event ev = {.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)};

	(void)opaque;
	(void)bytes;
	if (vq_chain_write(chain, dev->mem, &ev, sizeof(ev)) < 0)
		return -EINVAL; /* 5.10.6.7: event buffers hold a struct virtio_vsock_event */
	v->reset_event = false;
	return VIRTIO_CHAIN_PUSH;
}

static int event_owed(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	return to_vsock(dev)->reset_event ? VIRTIO_WORK_CHAIN : VIRTIO_WORK_NONE;
}

void vsock_event_serve(struct vsock *v)
{
	const struct virtio_server s = {
	    .chain = &v->ev_chain,
	    .max_chains = 1,
	    .has_work = event_owed,
	    .handle = handle_event,
	};
	virtio_serve_queue(&v->dev, VSOCK_EVQ, &s);
}
