/* The front-end's socket to a vhost-user back-end: non-blocking, every wait bounded by a
 * deadline on the monotonic clock, fds as SCM_RIGHTS (QEMU docs/interop/vhost-user.rst,
 * "Communication"). */
#include "virtio/vhost_user/vu_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "virtio/vhost_user/vu_msg.h"

/* ns from now to `deadline` (mono_ns()), 0 when it has passed. */
static int64_t left_ns(int64_t deadline)
{
	int64_t left = deadline - (int64_t)mono_ns();
	return left > 0 ? left : 0;
}

/* Waits for `events` on the socket until `deadline` (mono_ns()), to the ns: ppoll, not poll's
 * whole ms, which would round what is left and overshoot it. 0, -ETIMEDOUT or -errno. */
static int wait_for(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = left_ns(deadline);
		if (left == 0)
			return -ETIMEDOUT; /* ready or not: nothing is taken past the deadline */
		struct timespec ts = {.tv_sec = (time_t)(left / (int64_t)NSEC_PER_SEC),
				      .tv_nsec = (long)(left % (int64_t)NSEC_PER_SEC)};
		struct pollfd p = {.fd = fd, .events = events};
		int n = ppoll(&p, 1, &ts, NULL);
		if (n > 0)
			return 0; /* ready, or POLLHUP/POLLERR: the next call reports which */
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int fail(struct vu_conn *c, int err)
{
	c->broken = true;
	return err;
}

void vu_conn_set_budget(struct vu_conn *c, int ms)
{
	c->budget_ms = ms > 0 ? ms : 0;
	c->budget_end_ns = ms > 0 ? (int64_t)mono_ns() + (int64_t)ms * (int64_t)NSEC_PER_MSEC : 0;
}

bool vu_conn_budget_spent(const struct vu_conn *c)
{
	return c->budget_end_ns && left_ns(c->budget_end_ns) == 0;
}

/* The deadline (mono_ns()) of one send or reply: the timeout from now, capped by the end of the
 * sequence's budget, so no wait outlasts what is left of it. */
static int64_t deadline_of(const struct vu_conn *c)
{
	int64_t d = (int64_t)mono_ns() + (int64_t)c->timeout_ms * (int64_t)NSEC_PER_MSEC;
	return c->budget_end_ns && c->budget_end_ns < d ? c->budget_end_ns : d;
}

void vu_conn_adopt(struct vu_conn *c, int fd, int timeout_ms)
{
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->broken = false;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* connect() on a non-blocking Unix socket until `deadline`. A full backlog (EAGAIN) queues
 * nothing (unlike TCP's EINPROGRESS): the socket stays unconnected and connect() must be tried
 * again, so each try is separate; a short pause between them keeps this from spinning. */
static int connect_until(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		int err = -errno;
		if (err == -EINPROGRESS) { /* not for AF_UNIX today; if it were, wait for it */
			err = wait_for(fd, POLLOUT, deadline);
			socklen_t l = sizeof(int);
			int soerr = 0;
			if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) == 0)
				err = -soerr;
			return err;
		}
		if (err != -EAGAIN && err != -EINTR)
			return err;
		int64_t left = left_ns(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		int64_t pause = (int64_t)(10 * NSEC_PER_MSEC);
		struct timespec ts = {.tv_nsec = (long)(left < pause ? left : pause)};
		nanosleep(&ts, NULL);
	}
}

int vu_conn_connect(struct vu_conn *c, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	c->fd = -1;
	c->broken = true;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	c->timeout_ms = timeout_ms;
	int err = connect_until(fd, &sa, deadline_of(c));
	if (err) {
		close(fd);
		return err;
	}
	vu_conn_adopt(c, fd, timeout_ms);
	return 0;
}

static ssize_t send_chunk(int fd, const uint8_t *p, size_t len, const int *fds, int nfds)
{
	struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_CONN_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int vu_conn_send(struct vu_conn *c, const void *msg, size_t len, const int *fds, int nfds)
{
	const uint8_t *p = msg;
	int64_t deadline = deadline_of(c);

	if (c->broken || c->fd < 0)
		return -ENOTCONN;
	if (nfds < 0 || nfds > VU_CONN_MAX_FDS)
		return -EINVAL;
	/* before the first byte: a socket with room would take a message the budget has no time
	 * left to see answered, and the sequence would go on past it */
	if (vu_conn_budget_spent(c))
		return fail(c, -ETIMEDOUT);
	while (len > 0) {
		ssize_t n = send_chunk(c->fd, p, len, fds, nfds);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			nfds = 0; /* the fds went with the first byte */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return fail(c, -errno);
		int err = wait_for(c->fd, POLLOUT, deadline);
		if (err)
			return fail(c, err);
	}
	return 0;
}

static void close_passed_fds(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/* Reads exactly `len` bytes before `deadline`: none once it has passed, even bytes that are
 * there (a thread that runs late, say on a loaded host, would otherwise take an answer the
 * back-end gave past the deadline and let a sequence outlast its budget). */
static int recv_exact(struct vu_conn *c, uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		if (left_ns(deadline) == 0)
			return -ETIMEDOUT;
		union {
			char buf[CMSG_SPACE(sizeof(int) * VU_CONN_MAX_FDS)];
			struct cmsghdr align;
		} u;
		struct iovec iov = {.iov_base = p, .iov_len = len};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			close_passed_fds(&mh);
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int err = wait_for(c->fd, POLLIN, deadline);
		if (err)
			return err;
	}
	return 0;
}

int vu_conn_recv(struct vu_conn *c, uint8_t *buf, size_t cap, size_t *len)
{
	int64_t deadline = deadline_of(c);
	struct vu_hdr h;

	*len = 0;
	if (c->broken || c->fd < 0)
		return -ENOTCONN;
	if (cap < VU_HDR_SIZE)
		return -EINVAL;
	int err = recv_exact(c, buf, VU_HDR_SIZE, deadline);
	if (err)
		return fail(c, err);
	vu_msg_read_hdr(buf, &h);
	if (h.size > cap - VU_HDR_SIZE)
		return fail(c, -EMSGSIZE);
	err = recv_exact(c, buf + VU_HDR_SIZE, h.size, deadline);
	if (err)
		return fail(c, err);
	*len = VU_HDR_SIZE + h.size;
	return 0;
}

bool vu_conn_alive(struct vu_conn *c)
{
	if (c->broken || c->fd < 0)
		return false;
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return true; /* nothing to report (or EINTR: ask again later) */
	/* a hang-up is final even with bytes unread: nothing unsolicited is legitimate (no
	 * BACKEND_REQ channel is negotiated), so pending bytes cannot make it alive */
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) {
		c->broken = true;
		return false;
	}
	char byte;
	if ((p.revents & POLLIN) && recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		return true;	  /* bytes, no hang-up: the next reply's check judges them */
	if (p.revents & POLLIN) { /* readable with nothing to read: the end of the stream */
		c->broken = true;
		return false;
	}
	return true;
}

void vu_conn_break(struct vu_conn *c)
{
	c->broken = true;
}

void vu_conn_close(struct vu_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->broken = true;
}
