/* User-mode networking backend through libslirp (see slirp.h). */
#include "virtio/net/slirp.h"

#include <errno.h>

#include "base/clock.h"
#include "base/log.h"

#ifndef HAVE_LIBSLIRP

int net_slirp_create(struct net_backend **out, const struct virtio_net_opts *opts)
{
	(void)out;
	(void)opts;
	log_error("virtio-net: user-mode networking needs libslirp, which this build lacks");
	return -ENOTSUP;
}

#else

#include <arpa/inet.h>
#include <libslirp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/net/features.h"
#include "virtio/net/frame_queue.h"
#include "virtio/net/slirp_api.h"
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

struct slirp_timer {
	struct slirp_timer *next;
	SlirpTimerCb cb; /* timer_new() style, or NULL: slirp_handle_timer(id, cb_opaque) */
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
};

struct slirp_be {
	struct net_backend be; /* first */
	Slirp *slirp;
	struct net_frame_queue rxq;
	int epfd, timer_fd;
	struct pollfd *pfds; /* the fds of the last slirp_pollfds_fill() */
	size_t npfds, cap;
	int *watched; /* fds currently in epfd (besides the timer) */
	size_t nwatched, wcap;
	struct slirp_timer *timers;
	uint8_t linear[VIRTIO_NET_MAX_FRAME]; /* a transmitted frame, made contiguous */
	bool warned;
};

static struct slirp_be *to_sb(struct net_backend *be)
{
	return (struct slirp_be *)be;
}

/* ---- callbacks from libslirp ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_be *s = opaque;

	if (net_frame_queue_push(&s->rxq, buf, len) < 0)
		s->be.dropped++; /* the guest is not reading: TCP will retransmit */
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct slirp_be *s = opaque;

	if (!s->warned)
		log_guest_warn("virtio-net: user network: guest error: %s", msg);
	s->warned = true;
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return mono_ns();
}

static struct slirp_timer *timer_add(struct slirp_be *s, SlirpTimerCb cb, SlirpTimerId id,
				     void *cb_opaque)
{
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL; /* libslirp does not check; its timer is then never armed */
	*t = (struct slirp_timer){s->timers, cb, id, cb_opaque, -1};
	s->timers = t;
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	return timer_add(opaque, cb, SLIRP_TIMER_NUM, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	return timer_add(opaque, NULL, id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_be *s = opaque;

	for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

/* Sockets are collected by slirp_pollfds_fill() each time; nothing to do per fd. */
static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque; /* we refresh after every call into slirp anyway */
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_register_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the poll set ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_be *s = opaque;
	short ev = 0;

	if (s->npfds == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct pollfd *p = realloc(s->pfds, cap * sizeof(*p));

		if (!p)
			return -1; /* slirp then gets no events for this fd */
		s->pfds = p;
		s->cap = cap;
	}
	/* A full FIFO means the guest is not reading: leave the host sockets' data where it is. */
	if ((events & SLIRP_POLL_IN) && s->rxq.count < s->rxq.max_frames)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->pfds[s->npfds] = (struct pollfd){.fd = fd, .events = ev};
	return (int)s->npfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_be *s = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (size_t)idx >= s->npfds)
		return 0;
	r = s->pfds[idx].revents;
	ev |= (r & POLLIN) ? SLIRP_POLL_IN : 0;
	ev |= (r & POLLOUT) ? SLIRP_POLL_OUT : 0;
	ev |= (r & POLLPRI) ? SLIRP_POLL_PRI : 0;
	ev |= (r & POLLERR) ? SLIRP_POLL_ERR : 0;
	ev |= (r & POLLHUP) ? SLIRP_POLL_HUP : 0;
	return ev;
}

static uint32_t epoll_events(short ev)
{
	return ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0) |
	       ((ev & POLLPRI) ? EPOLLPRI : 0);
}

/* Makes epfd hold exactly the fds of pfds. A number slirp closed and reused meanwhile has left
 * the epoll set by itself (close removes it), hence MOD falling back to ADD. */
static void sync_epoll(struct slirp_be *s)
{
	for (size_t i = 0; i < s->nwatched; i++)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->watched[i], NULL); /* may be gone: fine */
	s->nwatched = 0;
	if (s->wcap < s->npfds) {
		int *w = realloc(s->watched, s->npfds * sizeof(*w));

		if (!w)
			return;
		s->watched = w;
		s->wcap = s->npfds;
	}
	for (size_t i = 0; i < s->npfds; i++) {
		struct epoll_event ev = {.events = epoll_events(s->pfds[i].events), .data.fd = -1};

		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->pfds[i].fd, &ev) == 0)
			s->watched[s->nwatched++] = s->pfds[i].fd;
		else if (errno == EEXIST) /* the same fd twice: merge the events */
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->pfds[i].fd, &ev);
	}
}

/* Arms the timerfd at the earliest of slirp's poll timeout and its timers (both in ms). */
static void arm_timer(struct slirp_be *s, uint32_t timeout_ms)
{
	int64_t now_ms = mono_ns() / 1000000, deadline = -1;
	struct itimerspec its = {0};

	if (timeout_ms != UINT32_MAX)
		deadline = now_ms + timeout_ms;
	for (struct slirp_timer *t = s->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (deadline < 0 || t->expire_ms < deadline))
			deadline = t->expire_ms;
	if (deadline >= 0) {
		if (deadline <= now_ms)
			deadline = now_ms + 1; /* 0 would disarm */
		its.it_value.tv_sec = deadline / 1000;
		its.it_value.tv_nsec = (deadline % 1000) * 1000000;
	}
	if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_debug("virtio-net: slirp timerfd: %s", strerror(errno));
}

/* After every call into slirp: its fd set and timers may have changed. */
static void refresh(struct slirp_be *s)
{
	uint32_t timeout = UINT32_MAX;

	s->npfds = 0;
	slirp_fn.slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	sync_epoll(s);
	arm_timer(s, timeout);
}

static void run_timers(struct slirp_be *s)
{
	int64_t now_ms = mono_ns() / 1000000;
	struct slirp_timer *t;

	/* One at a time, rescanning: a callback may re-arm, add or free timers. */
	do {
		for (t = s->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now_ms)
				break;
		if (!t)
			break;
		t->expire_ms = -1;
		if (t->cb)
			t->cb(t->cb_opaque);
		else
			slirp_fn.slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
	} while (true);
}

/* ---- backend ops ---- */

static void sb_service(struct net_backend *be)
{
	struct slirp_be *s = to_sb(be);
	uint64_t expirations;
	int n;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("virtio-net: slirp timerfd read: %s", strerror(errno));
	n = poll(s->pfds, s->npfds, 0);
	slirp_fn.slirp_pollfds_poll(s->slirp, n < 0, get_revents, s);
	run_timers(s);
	refresh(s);
}

static int sb_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct slirp_be *s = to_sb(be);
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > sizeof(s->linear) - len)
			return -EMSGSIZE;
		memcpy(s->linear + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	slirp_fn.slirp_input(s->slirp, s->linear, (int)len);
	refresh(s);
	return 0;
}

static ssize_t sb_recv(struct net_backend *be, void *buf, size_t len)
{
	struct slirp_be *s = to_sb(be);
	bool was_full = s->rxq.count >= s->rxq.max_frames;
	ssize_t r = net_frame_queue_pop(&s->rxq, buf, len);

	if (was_full && r != -EAGAIN)
		refresh(s); /* room again: read the host sockets again */
	return r;
}

static void sb_destroy(struct net_backend *be)
{
	struct slirp_be *s = to_sb(be);

	if (s->slirp)
		slirp_fn.slirp_cleanup(s->slirp);
	while (s->timers)
		cb_timer_free(s->timers, s);
	net_frame_queue_free(&s->rxq);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	free(s->pfds);
	free(s->watched);
	free(s);
}

/* libslirp on the device's I/O thread is a user-space TCP/IP stack that opens real sockets for
 * the guest's connections (IPv4 and IPv6 only: argument 0 of socket is the family) and for the
 * port forwards (sandbox.h). */
static const struct sandbox_rule slirp_rules[] = {
    SB_ARG_EQ(SYS_socket, 0, AF_INET),
    SB_ARG_EQ(SYS_socket, 0, AF_INET6),
    SB_ALLOW(SYS_connect),
    SB_ALLOW(SYS_bind),
    SB_ALLOW(SYS_listen),
    SB_ALLOW(SYS_accept),
    SB_ALLOW(SYS_accept4),
    SB_ALLOW(SYS_sendto),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_setsockopt),
    SB_ALLOW(SYS_getsockopt),
    SB_ALLOW(SYS_getsockname),
    SB_ALLOW(SYS_getpeername),
    SB_ALLOW(SYS_shutdown),
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_readv),
    SB_ALLOW(SYS_writev),
    SB_ARG_EQ(SYS_ioctl, 1, FIONREAD),
    SB_ALLOW(SYS_timerfd_settime), /* its timers (TCP retransmission, DHCP) */
};
static const struct sandbox_list slirp_sandbox = SANDBOX_LIST("slirp", slirp_rules);

static const struct net_backend_ops slirp_ops = {
    .send = sb_send,
    .recv = sb_recv,
    .service = sb_service,
    .destroy = sb_destroy,
};

/* ---- creation ---- */

static struct in_addr ip(const char *dotted)
{
	struct in_addr a = {0};

	inet_pton(AF_INET, dotted, &a);
	return a;
}

static int add_forwards(struct slirp_be *s, const struct virtio_net_opts *opts)
{
	for (unsigned i = 0; i < opts->nhostfwd; i++) {
		const struct virtio_net_hostfwd *f = &opts->hostfwd[i];
		struct in_addr host = {f->host_addr}, guest = {f->guest_addr};

		if (!guest.s_addr)
			guest = ip(NET_SLIRP_GUEST);
		if (slirp_fn.slirp_add_hostfwd(s->slirp, f->udp, host, f->host_port, guest,
					       f->guest_port) < 0) {
			log_error(
			    "virtio-net: cannot forward host %s port %u to the guest (in use?)",
			    f->udp ? "udp" : "tcp", f->host_port);
			return -EADDRINUSE;
		}
	}
	return 0;
}

static int start_slirp(struct slirp_be *s, const struct virtio_net_opts *opts)
{
	SlirpConfig cfg = {
	    .version = 4,
	    .in_enabled = true,
	    .vnetwork = ip(NET_SLIRP_NETWORK),
	    .vnetmask = ip("255.255.255.0"),
	    .vhost = ip(NET_SLIRP_HOST),
	    .vdhcp_start = ip(NET_SLIRP_GUEST),
	    .vnameserver = ip(NET_SLIRP_DNS),
	    .vhostname = "vmm",
	};
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = -1};

	s->slirp = slirp_fn.slirp_new(&cfg, &slirp_callbacks, s);
	if (!s->slirp) {
		log_error("virtio-net: libslirp failed to start");
		return -ENOMEM;
	}
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0)
		return -errno;
	return add_forwards(s, opts);
}

int net_slirp_create(struct net_backend **out, const struct virtio_net_opts *opts)
{
	struct slirp_be *s;
	char why[256];
	int err;

	err = slirp_api_load(why, sizeof(why));
	if (err) {
		log_error("--net user: %s (install libslirp0)", why);
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	err = net_frame_queue_init(&s->rxq, NET_SLIRP_QUEUE);
	if (!err && (s->epfd < 0 || s->timer_fd < 0))
		err = -errno;
	s->be = (struct net_backend){.ops = &slirp_ops,
				     .kind = "user",
				     .rx_fd = s->rxq.event_fd,
				     .service_fd = s->epfd,
				     .sandbox = &slirp_sandbox};
	if (!err)
		err = start_slirp(s, opts);
	if (err) {
		sb_destroy(&s->be);
		return err;
	}
	refresh(s);
	*out = &s->be;
	return 0;
}

#endif
