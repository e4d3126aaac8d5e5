/* virtio-vsock: the device ops, the tx queue (packets from the guest, 5.10.6.1) and the host
 * listener. See vsock.h. */
/* Before linux/vm_sockets.h, which uses struct sockaddr without including it (with the kernel
 * headers of Debian's arm64 cross toolchain, nothing else brings it in before). */
#include <sys/socket.h>

#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "virtio/core/serve.h"
#include "virtio/vsock/internal.h"

#define TX_BUDGET 64 /* packets per wakeup */

/* ---- the tx queue ---- */

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len, flags, buf_alloc, fwd_cnt;
	uint16_t type, op;
};

static struct pkt decode(const struct virtio_vsock_hdr *h)
{
	return (struct pkt){
	    .src_cid = le64toh(h->src_cid),
	    .dst_cid = le64toh(h->dst_cid),
	    .src_port = le32toh(h->src_port),
	    .dst_port = le32toh(h->dst_port),
	    .len = le32toh(h->len),
	    .flags = le32toh(h->flags),
	    .buf_alloc = le32toh(h->buf_alloc),
	    .fwd_cnt = le32toh(h->fwd_cnt),
	    .type = le16toh(h->type),
	    .op = le16toh(h->op),
	};
}

/* RW: the payload to the socket, within the credit we gave (5.10.6.3). */
static void guest_rw(struct vsock *v, struct vconn *c, struct vq_chain *chain, const struct pkt *p)
{
	if (c->state != VC_ESTABLISHED || c->guest_no_send) {
		vconn_reset(v, c);
		return;
	}
	if (c->rx_cnt - c->fwd_cnt + p->len > VIRTIO_VSOCK_BUF_ALLOC) {
		log_guest_warn("virtio-vsock: port %u sent past its credit, resetting it",
			       p->src_port);
		vconn_reset(v, c);
		return;
	}
	if (p->len == 0)
		return;
	int niov = vq_chain_read_iov(chain, v->dev.mem, p->len, v->iov, VSOCK_MAX_IOV);
	if (niov < 0) {
		vconn_reset(v, c);
		return;
	}
	vconn_forward(v, c, v->iov, niov, p->len);
}

/* RESPONSE to the REQUEST a host connection made us send. */
static void guest_response(struct vsock *v, struct vconn *c)
{
	if (c->state != VC_CONNECTING || (c->owe & OWE_REQUEST)) {
		vconn_reset(v, c);
		return;
	}
	if (!vconn_send_ok(v, c))
		return;
	c->state = VC_ESTABLISHED;
	c->readable = true; /* bytes the host sent before "OK" */
}

/* A packet for an existing connection. */
static void conn_packet(struct vsock *v, struct vconn *c, struct vq_chain *chain,
			const struct pkt *p)
{
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;
	switch (p->op) {
	case VIRTIO_VSOCK_OP_RW:
		guest_rw(v, c, chain, p);
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		guest_response(v, c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		vconn_free(v, c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		vconn_guest_shutdown(v, c, p->flags);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break; /* the fields above were the point */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= OWE_CREDIT;
		break;
	default: /* a second REQUEST, an unknown op */
		vconn_reset(v, c);
		break;
	}
}

/* A packet that matches no connection: a REQUEST opens one, an RST is ignored, anything else
 * is answered with RST (5.10.6.4). */
static void new_packet(struct vsock *v, const struct pkt *p)
{
	if (p->op == VIRTIO_VSOCK_OP_RST)
		return;
	if (p->op == VIRTIO_VSOCK_OP_REQUEST) {
		struct vconn *c = vconn_connect(v, p->dst_port, p->src_port);
		if (c) {
			c->peer_buf_alloc = p->buf_alloc;
			c->peer_fwd_cnt = p->fwd_cnt;
			return;
		}
	}
	vsock_queue_rst(v, p->dst_port, p->src_port);
}

/* One packet. Payload beyond the header is read only by an RW. */
static int handle_tx(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes)
{
	struct vsock *v = to_vsock(dev);
	struct virtio_vsock_hdr h;
	struct pkt p;
	struct vconn *c;

	(void)opaque;
	if (vq_chain_read(chain, dev->mem, &h, sizeof(h)) < 0) {
		log_guest_warn("virtio-vsock: tx buffer shorter than a packet header");
		virtio_dev_count_error(dev);
		return VIRTIO_CHAIN_PUSH;
	}
	p = decode(&h);
	/* 5.10.6.1: the source is the guest, the destination the host; we route nothing else. */
	if (p.src_cid != v->opts.cid || p.dst_cid != VMADDR_CID_HOST) {
		log_guest_warn("virtio-vsock: packet from CID %llu to CID %llu dropped",
			       (unsigned long long)p.src_cid, (unsigned long long)p.dst_cid);
		virtio_dev_count_error(dev);
		return VIRTIO_CHAIN_PUSH;
	}
	c = vconn_find(v, p.dst_port, p.src_port);
	if (p.type != VIRTIO_VSOCK_TYPE_STREAM || p.len > VIRTIO_VSOCK_MAX_PKT ||
	    p.len > vq_chain_readable(chain) || (p.len && p.op != VIRTIO_VSOCK_OP_RW)) {
		virtio_dev_count_error(dev);
		if (c)
			vconn_reset(v, c);
		else if (p.op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(v, p.dst_port, p.src_port);
		return VIRTIO_CHAIN_PUSH;
	}
	/* Every host socket full: wait for them to drain rather than hold more (vsock.h). */
	if (c && p.op == VIRTIO_VSOCK_OP_RW && v->buffered + p.len > VIRTIO_VSOCK_MAX_BUFFERED) {
		v->tx_waiting = true;
		return VIRTIO_CHAIN_WAIT;
	}
	if (c)
		conn_packet(v, c, chain, &p);
	else
		new_packet(v, &p);
	*bytes += p.len;
	return VIRTIO_CHAIN_PUSH;
}

void vsock_tx_serve(struct vsock *v)
{
	const struct virtio_server s = {
	    .chain = &v->tx_chain,
	    .max_chains = TX_BUDGET,
	    .handle = handle_tx,
	};
	v->tx_waiting = false;
	virtio_serve_queue(&v->dev, VSOCK_TXQ, &s);
}

/* ---- device ops ---- */

static void vsock_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	struct vsock *v = to_vsock(dev);

	if (q == VSOCK_TXQ && !v->tx_waiting)
		vsock_tx_serve(v);
	if (q == VSOCK_EVQ)
		vsock_event_serve(v);
	/* tx work makes rx work (RESPONSE, RST, credit); an rx kick brings buffers */
	vsock_rx_serve(v);
}

static void ep_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd;
	(void)revents;
	vconn_poll(to_vsock(dev));
}

static int vsock_activate(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);

	/* The I/O thread's epoll set exists only after virtio_dev_init(); register once here. */
	if (!v->ep_added) {
		int err = virtio_dev_add_fd(dev, v->ep, EPOLLIN, ep_ready);
		if (err) {
			log_error("virtio-vsock: cannot watch its sockets: %s", strerror(-err));
			return err;
		}
		v->ep_added = true;
	}
	/* Runs on a vCPU thread (the DRIVER_OK write): no socket I/O here, the I/O thread serves
	 * the sockets (an inner epoll set with events pending is readable at once). */
	vsock_event_serve(v);
	return 0;
}

/* Removes PATH, unless another process has bound a socket there since (a restored clone with
 * the same path): the main thread's teardown (its sandbox allows unlink). */
static void unlink_ours(struct vsock *v)
{
	struct stat st;

	if (lstat(v->opts.uds, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == v->uds_dev &&
	    st.st_ino == v->uds_ino)
		unlink(v->opts.uds);
}

/* 2.4: every connection goes (the guest's sockets went with its driver). The listener stays. */
static void vsock_reset(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);

	vconn_free_all(v);
	v->rst_head = v->rst_len = 0;
	v->tx_waiting = false;
	v->reset_event = false;
}

static void vsock_destroy(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);

	vconn_free_all(v);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink_ours(v);
	}
	if (v->ep >= 0)
		close(v->ep);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	v->listen_fd = v->ep = v->timer_fd = -1;
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* Connections are not saved (their host sockets cannot be): only the CID, to be compared. The
 * restored device tells the guest with TRANSPORT_RESET (5.10.6.7). */
struct virtio_vsock_state {
	uint64_t cid;
};

static int vsock_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct virtio_vsock_state st = {to_vsock(dev)->opts.cid};

	if (cap < sizeof(st))
		return -ENOSPC;
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

static int vsock_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vsock *v = to_vsock(dev);
	struct virtio_vsock_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.cid != v->opts.cid)
		return -EINVAL;
	v->reset_event = true; /* sent at activate, or when the event queue gets a buffer */
	return 0;
}

static const struct virtio_dev_ops vsock_ops = {
    .activate = vsock_activate,
    .queue_notify = vsock_queue_notify,
    .reset = vsock_reset,
    .destroy = vsock_destroy,
    .save = vsock_save,
    .restore = vsock_restore,
};

/* What the I/O thread calls for the host sockets: Unix sockets only (the listener is bound
 * before the sandbox goes on). */
static const struct sandbox_rule vsock_rules[] = {
    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ALLOW(SYS_connect),
    SB_ALLOW(SYS_accept4),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_shutdown),
    SB_ALLOW(SYS_close),
};
const struct sandbox_list vsock_sandbox = SANDBOX_LIST("virtio-vsock", vsock_rules);

int virtio_vsock_check_opts(const struct virtio_vsock_opts *o, char *err, size_t errlen)
{
	char dir[sizeof(o->uds)];
	struct stat st;
	const char *slash = strrchr(o->uds, '/');

	if (slash == o->uds)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - o->uds), o->uds);
	else
		snprintf(dir, sizeof(dir), ".");
	int e = stat(dir, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (e) {
		snprintf(err, errlen, "vsock: the directory of uds=%s: %s", o->uds, strerror(e));
		return -e;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		e = errno;
		snprintf(err, errlen, "vsock: cannot create uds=%s: %s", o->uds, strerror(e));
		return -e;
	}
	if (lstat(o->uds, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "vsock: uds=%s exists and is not a socket", o->uds);
		return -EEXIST;
	}
	return 0;
}

/* Binds PATH, replacing a stale socket file (never another kind of file). */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("virtio-vsock: %s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		err = -errno;
		log_error("virtio-vsock: cannot listen on %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	/* Landlock (sandbox.h): the teardown removes the socket (unlink_ours); the connects to
	 * the host's PATH_PORT sockets are no file access for Landlock */
	sandbox_landlock_allow_dir_of(path, LANDLOCK_CHANGE);
	return fd;
}

static int setup_fds(struct vsock *v)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = UINT64_MAX};
	struct epoll_event tev = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
	struct stat st;

	v->ep = epoll_create1(EPOLL_CLOEXEC);
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->ep < 0 || v->timer_fd < 0)
		return -errno;
	v->listen_fd = listen_on(v->opts.uds);
	if (v->listen_fd < 0)
		return v->listen_fd;
	if (lstat(v->opts.uds, &st) == 0) {
		v->uds_dev = st.st_dev;
		v->uds_ino = st.st_ino;
	}
	if (epoll_ctl(v->ep, EPOLL_CTL_ADD, v->listen_fd, &ev) < 0 ||
	    epoll_ctl(v->ep, EPOLL_CTL_ADD, v->timer_fd, &tev) < 0)
		return -errno;
	return 0;
}

int virtio_vsock_create(struct virtio_dev **out, const struct virtio_vsock_opts *o)
{
	struct vsock *v;
	int err;

	if (o->cid < 3 || o->cid > 0xfffffffeu || !o->uds[0] ||
	    strlen(o->uds) > VIRTIO_VSOCK_UDS_MAX) {
		log_error("virtio-vsock: invalid CID %llu or socket path",
			  (unsigned long long)o->cid);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->opts = *o;
	v->listen_fd = v->ep = v->timer_fd = -1;
	v->handshake_ms = VIRTIO_VSOCK_HANDSHAKE_MS;
	v->next_port = 0x40000000u;
	v->work_slot = -1;
	v->config.guest_cid = htole64(o->cid);
	v->dev = (struct virtio_dev){
	    .name = "virtio-vsock",
	    .device_id = VIRTIO_ID_VSOCK,
	    .host_features = VIRTIO_DEV_RING_FEATURES,
	    .num_queues = 3,
	    .queue_max_size = VIRTIO_VSOCK_QUEUE_SIZE,
	    .config = &v->config,
	    .config_len = sizeof(v->config),
	    .ops = &vsock_ops,
	    .sandbox = &vsock_sandbox,
	    .priv = v,
	};
	err = setup_fds(v);
	if (err) {
		vsock_destroy(&v->dev);
		free(v);
		return err;
	}
	*out = &v->dev;
	return 0;
}

int virtio_vsock_epoll_fd(struct virtio_dev *dev)
{
	return to_vsock(dev)->ep;
}

void virtio_vsock_poll(struct virtio_dev *dev)
{
	vconn_poll(to_vsock(dev));
}

/* A reset still owed, or no connection to end: the guest has nothing a second reset would drop,
 * and a second one could end a connection it makes after the first (a restored guest reconnects
 * as soon as it reads the first). */
bool virtio_vsock_transport_reset(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);
	bool owed = false;

	pthread_mutex_lock(&dev->lock);
	if (!v->reset_event && v->nconns) {
		vconn_free_all(v); /* closes their host sockets: the host programs see EOF */
		v->rst_head = v->rst_len = 0;
		v->tx_waiting = false;
		v->reset_event = owed = true;
		if (virtio_dev_running(dev))
			vsock_event_serve(v);
	}
	pthread_mutex_unlock(&dev->lock);
	return owed;
}

unsigned virtio_vsock_conn_count(struct virtio_dev *dev)
{
	return to_vsock(dev)->nconns;
}

void virtio_vsock_set_handshake_timeout(struct virtio_dev *dev, unsigned ms)
{
	to_vsock(dev)->handshake_ms = ms;
}
