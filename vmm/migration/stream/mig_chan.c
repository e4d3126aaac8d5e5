/* The byte channel of a migration: sockets with cancellable, time-limited waits, or memory. */
#include "vmm/migration/stream/mig_chan.h"
#include "base/clock.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICE_MS 100

void mig_chan_init_fd(struct mig_chan *c, int fd, const atomic_bool *cancel)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->cancel = cancel;
	c->rx_fd = -1;
	c->timeout_ms = 30000;
}

void mig_chan_init_mem(struct mig_chan *c, const uint8_t *in, size_t len, size_t out_max)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->rx_fd = -1;
	c->in = in;
	c->in_len = len;
	c->out_max = out_max;
}

/* Polls without sleeping for up to c->spin_us; true once the socket is ready. */
static bool spin_for(struct mig_chan *c, short events)
{
	uint64_t end = c->spin_us ? mono_us() + c->spin_us : 0;
	struct pollfd p = {.fd = c->fd, .events = events};
	while (end && mono_us() < end && !(c->cancel && atomic_load(c->cancel))) {
		if (poll(&p, 1, 0) > 0)
			return true;
		sched_yield(); /* the peer may be waiting for this CPU */
	}
	return false;
}

/* Waits until the socket is ready for `events`, in slices, watching the cancel flag when
 * `cancellable`. */
static int wait_for(struct mig_chan *c, short events, bool cancellable)
{
	if (spin_for(c, events))
		return 0;
	for (int waited = 0;; waited += SLICE_MS) {
		if (cancellable && c->cancel && atomic_load(c->cancel))
			return -ECANCELED;
		if (waited >= c->timeout_ms)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = c->fd, .events = events};
		int r = poll(&p, 1, SLICE_MS);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			return 0; /* ready, or an error/hang-up the next call reports */
	}
}

/* Keeps a descriptor that arrived with the data. */
static void take_fds(struct mig_chan *c, struct msghdr *m)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (c->rx_fd >= 0)
				close(c->rx_fd);
			c->rx_fd = fd;
		}
	}
}

static int read_mem(struct mig_chan *c, void *buf, size_t len)
{
	if (c->in_len - c->in_pos < len) {
		c->in_pos = c->in_len;
		return -EPIPE;
	}
	memcpy(buf, c->in + c->in_pos, len);
	c->in_pos += len;
	c->bytes_in += len;
	return 0;
}

/* One recvmsg() of up to `len` bytes, the descriptor that came with them kept. Returns the bytes
 * (> 0), 0 at the end of the stream, or -errno (-EAGAIN: nothing yet). */
static ssize_t recv_some(struct mig_chan *c, void *buf, size_t len)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl.b,
			   .msg_controllen = sizeof(ctl.b)};
	ssize_t n = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	take_fds(c, &m);
	return n;
}

/* The read buffer is refilled only while no received descriptor waits in rx_fd: a Unix socket
 * ends a read after the message that carries one, and a read past its frame could bring the
 * next frame's, which would replace it. Large reads go straight to the caller's buffer. */
static bool may_buffer(struct mig_chan *c, size_t len)
{
	if (c->rx_fd >= 0 || len >= MIG_CHAN_BUF / 4)
		return false;
	if (!c->rbuf)
		c->rbuf = malloc(MIG_CHAN_BUF);
	return c->rbuf != NULL;
}

int mig_chan_read(struct mig_chan *c, void *buf, size_t len)
{
	if (c->fd < 0)
		return read_mem(c, buf, len);
	int r = mig_chan_flush(c); /* the peer may wait for it before it answers */
	uint8_t *p = buf;
	while (!r && len) {
		size_t have = c->rlen - c->rpos;
		if (have) {
			size_t n = have < len ? have : len;
			memcpy(p, c->rbuf + c->rpos, n);
			c->rpos += n;
			p += n;
			len -= n;
			c->bytes_in += n;
			continue;
		}
		bool fill = may_buffer(c, len);
		ssize_t n = fill ? recv_some(c, c->rbuf, MIG_CHAN_BUF) : recv_some(c, p, len);
		if (n > 0 && fill) {
			c->rpos = 0;
			c->rlen = (size_t)n;
		} else if (n > 0) {
			p += n;
			len -= (size_t)n;
			c->bytes_in += (uint64_t)n;
		} else if (n == 0) {
			r = -EPIPE;
		} else if (n == -EAGAIN || n == -EWOULDBLOCK) {
			r = wait_for(c, POLLIN, true);
		} else if (n != -EINTR) {
			r = (int)n;
		}
	}
	return r;
}

static int write_mem(struct mig_chan *c, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = iov[i].iov_len;
		if (!len)
			continue;
		if (len > c->out_max - c->out_len)
			return -EPIPE;
		if (c->out_len + len > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			while (cap < c->out_len + len)
				cap *= 2;
			uint8_t *q = realloc(c->out, cap);
			if (!q)
				return -ENOMEM;
			c->out = q;
			c->out_cap = cap;
		}
		memcpy(c->out + c->out_len, iov[i].iov_base, len);
		c->out_len += len;
		c->bytes_out += len;
	}
	return 0;
}

/* Drops the first `done` bytes of the vector (in place). */
static void advance(struct iovec **iov, int *n, size_t done)
{
	while (*n && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
}

/* Sends all of the socket write, counted in bytes_out when `count`. A cancel is seen only
 * before its first byte: once begun, the write goes out whole (within the silence timeout), for a
 * frame cut short would make the peer read whatever follows (the source's ERROR frame) as its
 * rest and wait for more (unit test mig_precopy cancel_in_the_middle, under ASan on a loaded
 * host: the receiver timed out after 30 s instead of reading "cancelled"). */
static int send_all(struct mig_chan *c, const struct iovec *iov_in, int n, int pass_fd, bool count)
{
	bool begun = false;
	struct iovec vec[8], *iov = vec;
	if (n > 8)
		return -EINVAL;
	memcpy(vec, iov_in, sizeof(*iov) * (size_t)n);
	advance(&iov, &n, 0);
	while (n) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		if (pass_fd >= 0) {
			memset(&ctl, 0, sizeof(ctl));
			m.msg_control = ctl.b;
			m.msg_controllen = sizeof(ctl.b);
			struct cmsghdr *h = CMSG_FIRSTHDR(&m);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &pass_fd, sizeof(int));
		}
		ssize_t w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			pass_fd = -1; /* went with the first byte */
			begun = true;
			c->bytes_out += count ? (uint64_t)w : 0;
			advance(&iov, &n, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int r = wait_for(c, POLLOUT, !begun);
		if (r)
			return r;
	}
	return 0;
}

int mig_chan_flush(struct mig_chan *c)
{
	if (!c->wlen)
		return 0;
	struct iovec iov = {.iov_base = c->wbuf, .iov_len = c->wlen};
	c->wlen = 0; /* counted when buffered; a failure ends the stream anyway */
	return send_all(c, &iov, 1, -1, false);
}

int mig_chan_write(struct mig_chan *c, const struct iovec *iov, int n, int pass_fd)
{
	if (c->fd < 0)
		return pass_fd >= 0 ? -ENOTSUP : write_mem(c, iov, n);
	int r = mig_chan_flush(c);
	return r ? r : send_all(c, iov, n, pass_fd, true);
}

int mig_chan_write_buffered(struct mig_chan *c, const struct iovec *iov, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (c->fd >= 0 && total < MIG_CHAN_BUF / 4 && !c->wbuf)
		c->wbuf = malloc(MIG_CHAN_BUF);
	if (c->fd < 0 || total >= MIG_CHAN_BUF / 4 || !c->wbuf)
		return mig_chan_write(c, iov, n, -1);
	int r = c->wlen + total > MIG_CHAN_BUF ? mig_chan_flush(c) : 0;
	for (int i = 0; !r && i < n; i++) {
		if (!iov[i].iov_len)
			continue; /* an empty payload may have no buffer at all */
		memcpy(c->wbuf + c->wlen, iov[i].iov_base, iov[i].iov_len);
		c->wlen += iov[i].iov_len;
	}
	c->bytes_out += r ? 0 : total;
	return r;
}

int mig_chan_drain(struct mig_chan *c, int limit_ms)
{
	int r = c->fd >= 0 ? mig_chan_flush(c) : 0;
	if (r)
		return r;
	const struct timespec step = {.tv_nsec = 50000};
	for (long waited_us = 0; c->fd >= 0; waited_us += 50) {
		int queued = 0;
		if (ioctl(c->fd, SIOCOUTQ, &queued) < 0)
			return -errno;
		if (queued == 0)
			return 0;
		if (c->cancel && atomic_load(c->cancel))
			return -ECANCELED;
		if (waited_us >= (long)limit_ms * 1000)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}

int mig_chan_await_hangup(struct mig_chan *c, int limit_ms)
{
	if (c->fd < 0)
		return 0;
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	int r;
	do
		r = poll(&p, 1, limit_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

int mig_chan_readable(struct mig_chan *c)
{
	if (c->fd < 0 || c->rpos < c->rlen)
		return 1;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

void mig_chan_release(struct mig_chan *c)
{
	if (c->rx_fd >= 0)
		close(c->rx_fd);
	c->rx_fd = -1;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_cap = 0;
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
	c->rpos = c->rlen = c->wlen = 0;
}
