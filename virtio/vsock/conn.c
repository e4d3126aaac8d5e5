/* The connection table and the host side of each stream: non-blocking Unix sockets in the
 * device's inner epoll set, edge-triggered (a flag remembers "may have bytes" / "may take bytes"
 * until EAGAIN), so a socket the device cannot serve now (no guest buffer, no credit) never
 * makes the I/O thread spin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "virtio/vsock/internal.h"

#define LISTEN_TAG	UINT64_MAX
#define TIMER_TAG	(UINT64_MAX - 1) /* connection tags have a slot < 1024 in the low half */
#define FIRST_HOST_PORT 0x40000000u	 /* local ports of host-initiated connections start here */
#define HANDSHAKE_MAX	32		 /* "CONNECT 4294967295\n" is 19 bytes */

static uint64_t tag_of(const struct vconn *c)
{
	return (uint64_t)c->gen << 32 | c->slot;
}

struct vconn *vconn_find(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
		struct vconn *c = v->conns[i];
		if (c && c->state != VC_HANDSHAKE && c->local_port == local_port &&
		    c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

/* The timer at `ms` (CLOCK_MONOTONIC), or disarmed when ms is 0. */
static void timer_set(struct vsock *v, uint64_t ms)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(ms / 1000u), .tv_nsec = (long)(ms % 1000u) * 1000000L}};
	if (timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("virtio-vsock: timerfd_settime: %s", strerror(errno));
	v->timer_armed = ms != 0;
}

/* Closes the host connections whose handshake is past its deadline and arms the timer for the
 * next one (or disarms it). */
static void vconn_expire_handshakes(struct vsock *v)
{
	uint64_t now = mono_ms(), next = 0;

	for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS && v->handshakes; i++) {
		struct vconn *c = v->conns[i];
		if (!c || c->state != VC_HANDSHAKE)
			continue;
		if (c->deadline_ms <= now) {
			log_debug("virtio-vsock: a host connection sent no CONNECT line in %u ms",
				  v->handshake_ms);
			vconn_free(v, c);
		} else if (!next || c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	timer_set(v, next);
}

/* Takes ownership of fd. NULL (fd closed) when the table is full. */
static struct vconn *vconn_new(struct vsock *v, int fd, enum vconn_state state)
{
	struct vconn *c = NULL;
	unsigned slot = 0;

	while (slot < VIRTIO_VSOCK_MAX_CONNS && v->conns[slot])
		slot++;
	if (slot < VIRTIO_VSOCK_MAX_CONNS)
		c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	*c = (struct vconn){.fd = fd,
			    .slot = (uint16_t)slot,
			    .gen = ++v->next_gen,
			    .state = state,
			    .writable = true};
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				 .data.u64 = tag_of(c)};
	if (epoll_ctl(v->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("virtio-vsock: epoll_ctl: %s", strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	v->conns[slot] = c;
	v->nconns++;
	if (state == VC_HANDSHAKE) {
		v->handshakes++;
		c->deadline_ms = mono_ms() + v->handshake_ms;
		if (!v->timer_armed) /* else it fires earlier, and rearms for this one */
			timer_set(v, c->deadline_ms);
	}
	return c;
}

void vconn_free(struct vsock *v, struct vconn *c)
{
	if (c->state == VC_HANDSHAKE)
		v->handshakes--;
	v->buffered -= c->out_len;
	close(c->fd); /* also leaves the epoll set */
	free(c->out);
	v->conns[c->slot] = NULL;
	v->nconns--;
	free(c);
}

void vconn_reset(struct vsock *v, struct vconn *c)
{
	uint32_t src = c->local_port, dst = c->peer_port;
	bool guest_knows = c->state != VC_HANDSHAKE;

	vconn_free(v, c);
	if (guest_knows)
		vsock_queue_rst(v, src, dst);
}

void vconn_free_all(struct vsock *v)
{
	for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
		if (v->conns[i])
			vconn_free(v, v->conns[i]);
	}
	v->buffered = 0;
}

uint32_t vconn_peer_credit(const struct vconn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

struct vconn *vconn_connect(struct vsock *v, uint32_t port, uint32_t peer)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (v->nconns >= VIRTIO_VSOCK_MAX_CONNS)
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->opts.uds, port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* A Unix stream connect never waits: it succeeds, or fails (EAGAIN: a full backlog). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_debug("virtio-vsock: connect %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct vconn *c = vconn_new(v, fd, VC_ESTABLISHED);
	if (c) {
		c->local_port = port;
		c->peer_port = peer;
		c->owe = OWE_RESPONSE;
		c->readable = true;
	}
	return c;
}

/* ---- guest -> host bytes ---- */

/* Sends what it can of `iov` without blocking: bytes taken, 0 on EAGAIN, -1 when the socket
 * failed. */
static ssize_t try_sendmsg(struct vconn *c, const struct iovec *iov, int niov)
{
	struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov};
	ssize_t n;

	do
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->writable = false;
		return 0;
	}
	return -1;
}

static ssize_t try_send(struct vconn *c, const uint8_t *p, size_t len)
{
	const struct iovec iov = {(void *)p, len};
	return try_sendmsg(c, &iov, 1);
}

/* Tells the guest about freed space when it may be waiting for it: its view of our free space
 * fell below one packet, or a quarter of the buffer was freed since it last heard. */
static void credit_check(struct vconn *c)
{
	uint32_t unheard = c->fwd_cnt - c->fwd_cnt_sent;
	uint32_t guest_view_used = c->rx_cnt - c->fwd_cnt_sent;

	if (!unheard)
		return;
	if (unheard >= VIRTIO_VSOCK_BUF_ALLOC / 4 ||
	    guest_view_used + VIRTIO_VSOCK_MAX_PKT > VIRTIO_VSOCK_BUF_ALLOC)
		c->owe |= OWE_CREDIT;
}

/* Copies `len` bytes to the end of `out` (the caller made room). */
static void out_put(struct vsock *v, struct vconn *c, const uint8_t *p, uint32_t len)
{
	uint32_t tail = (c->out_head + c->out_len) % VIRTIO_VSOCK_BUF_ALLOC;
	uint32_t first = VIRTIO_VSOCK_BUF_ALLOC - tail < len ? VIRTIO_VSOCK_BUF_ALLOC - tail : len;
	memcpy(c->out + tail, p, first);
	memcpy(c->out, p + first, len - first);
	c->out_len += len;
	v->buffered += len;
}

/* Keeps the bytes of `iov` past the first `skip`, `len` of them, for the socket to take later. */
static bool out_append(struct vsock *v, struct vconn *c, const struct iovec *iov, int niov,
		       size_t skip, uint32_t len)
{
	if (!len)
		return true;
	if (!c->out && !(c->out = malloc(VIRTIO_VSOCK_BUF_ALLOC)))
		return false;
	/* The credit check in vsock.c keeps out_len + len <= VIRTIO_VSOCK_BUF_ALLOC. */
	for (int i = 0; i < niov && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - skip;
		n = n < len ? n : len;
		out_put(v, c, (const uint8_t *)iov[i].iov_base + skip, (uint32_t)n);
		len -= (uint32_t)n;
		skip = 0;
	}
	return true;
}

/* Writes `out` to the socket while it takes bytes. False when the socket failed. */
static bool out_flush(struct vsock *v, struct vconn *c)
{
	while (c->out_len && c->writable) {
		uint32_t chunk = VIRTIO_VSOCK_BUF_ALLOC - c->out_head;
		ssize_t n =
		    try_send(c, c->out + c->out_head, chunk < c->out_len ? chunk : c->out_len);
		if (n < 0)
			return false;
		c->out_head = (c->out_head + (uint32_t)n) % VIRTIO_VSOCK_BUF_ALLOC;
		c->out_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
		v->buffered -= (uint64_t)n;
	}
	if (!c->out_len) {
		free(c->out); /* idle connections hold no buffer */
		c->out = NULL;
		c->out_head = 0;
	}
	return true;
}

bool vconn_forward(struct vsock *v, struct vconn *c, const struct iovec *iov, int niov,
		   uint32_t len)
{
	ssize_t n = 0;

	c->rx_cnt += len;
	if (!c->out_len && c->writable)
		n = try_sendmsg(c, iov, niov);
	if (n < 0 || !out_append(v, c, iov, niov, (size_t)n, len - (uint32_t)n)) {
		vconn_reset(v, c);
		return false;
	}
	c->fwd_cnt += (uint32_t)n;
	credit_check(c);
	return true;
}

/* The guest closed both ways and everything it sent is written: finish with an RST (5.10.6.4:
 * the peer answers a full shutdown with RST). */
static void maybe_finish(struct vsock *v, struct vconn *c)
{
	if (c->guest_no_send && !c->out_len && !c->shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = true;
	}
	if (c->close_when_drained && !c->out_len)
		vconn_reset(v, c);
}

void vconn_guest_shutdown(struct vsock *v, struct vconn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
		c->guest_no_rcv = true;
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_no_send = true;
	if (c->guest_no_rcv && c->guest_no_send)
		c->close_when_drained = true;
	maybe_finish(v, c);
}

bool vconn_send_ok(struct vsock *v, struct vconn *c)
{
	char line[24];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->local_port);

	/* A fresh socket's buffer takes a short line whole; anything else is a broken host. */
	if (try_send(c, (const uint8_t *)line, (size_t)len) != len) {
		vconn_reset(v, c);
		return false;
	}
	return true;
}

/* ---- host-initiated connections ---- */

static void accept_all(struct vsock *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: the next connection retries */
		}
		if (v->handshakes >= VIRTIO_VSOCK_MAX_HANDSHAKES ||
		    v->nconns >= VIRTIO_VSOCK_MAX_CONNS) {
			log_debug("virtio-vsock: too many connections, refusing one");
			close(fd);
			continue;
		}
		vconn_new(v, fd, VC_HANDSHAKE);
	}
}

/* A local port no connection to guest port `peer` uses. */
static uint32_t pick_port(struct vsock *v, uint32_t peer)
{
	uint32_t p;

	do {
		p = v->next_port++;
		if (v->next_port < FIRST_HOST_PORT)
			v->next_port = FIRST_HOST_PORT;
	} while (vconn_find(v, p, peer));
	return p;
}

/* Parses "CONNECT <port>" (the newline already cut). */
static bool parse_connect(const char *line, uint32_t *port)
{
	char *end;
	unsigned long p;

	if (strncmp(line, "CONNECT ", 8) || line[8] < '0' || line[8] > '9')
		return false;
	errno = 0;
	p = strtoul(line + 8, &end, 10);
	if (errno || *end || p > UINT32_MAX)
		return false;
	*port = (uint32_t)p;
	return true;
}

/* Reads the handshake line: peeks for the newline, then consumes exactly the line, so bytes the
 * host sent after it stay in the socket for the stream. */
static void handshake(struct vsock *v, struct vconn *c)
{
	char buf[HANDSHAKE_MAX + 1];
	ssize_t n = recv(c->fd, buf, HANDSHAKE_MAX, MSG_PEEK | MSG_DONTWAIT);
	char *nl;
	uint32_t port;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vconn_free(v, c);
		return;
	}
	buf[n] = '\0';
	nl = memchr(buf, '\n', (size_t)n);
	if (!nl) {
		if (n == HANDSHAKE_MAX || memchr(buf, '\0', (size_t)n))
			vconn_free(v, c); /* no line of ours */
		return;			  /* the rest comes with the next edge */
	}
	if (recv(c->fd, buf, (size_t)(nl - buf + 1), MSG_DONTWAIT) != nl - buf + 1) {
		vconn_free(v, c);
		return;
	}
	*nl = '\0';
	if (!parse_connect(buf, &port)) {
		log_debug("virtio-vsock: bad handshake from the host");
		vconn_free(v, c);
		return;
	}
	v->handshakes--;
	c->state = VC_CONNECTING;
	c->peer_port = port;
	c->local_port = pick_port(v, port);
	c->owe = OWE_REQUEST;
}

static void conn_event(struct vsock *v, struct vconn *c, uint32_t events)
{
	if (c->state == VC_HANDSHAKE) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			handshake(v, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
		c->writable = true;
		if (!out_flush(v, c)) {
			vconn_reset(v, c);
			return;
		}
		credit_check(c);
		maybe_finish(v, c);
	}
}

static struct vconn *conn_by_tag(struct vsock *v, uint64_t tag)
{
	uint32_t slot = (uint32_t)tag;
	struct vconn *c = slot < VIRTIO_VSOCK_MAX_CONNS ? v->conns[slot] : NULL;
	return c && c->gen == (uint32_t)(tag >> 32) ? c : NULL;
}

void vconn_poll(struct vsock *v)
{
	struct epoll_event evs[64];
	int n = epoll_wait(v->ep, evs, 64, 0);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == LISTEN_TAG) {
			accept_all(v);
			continue;
		}
		if (evs[i].data.u64 == TIMER_TAG) {
			uint64_t expirations;
			if (read(v->timer_fd, &expirations, sizeof(expirations)) < 0 &&
			    errno != EAGAIN)
				log_warn("virtio-vsock: timerfd read: %s", strerror(errno));
			vconn_expire_handshakes(v);
			continue;
		}
		struct vconn *c = conn_by_tag(v, evs[i].data.u64);
		if (c)
			conn_event(v, c, evs[i].events);
	}
	if (v->tx_waiting && v->buffered < VIRTIO_VSOCK_MAX_BUFFERED / 2)
		vsock_tx_serve(v);
	vsock_rx_serve(v);
}
