/* The byte channel of a migration: sockets with cancellable, time-limited waits, or memory. */
#include "vmm/migration/mig_chan.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
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

/* Waits until the socket is ready for `events`, in slices, watching the cancel flag. */
static int wait_for(struct mig_chan *c, short events)
{
	for (int waited = 0;; waited += SLICE_MS) {
		if (c->cancel && atomic_load(c->cancel))
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

int mig_chan_read(struct mig_chan *c, void *buf, size_t len)
{
	if (c->fd < 0)
		return read_mem(c, buf, len);
	uint8_t *p = buf;
	while (len) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * 4)];
		} ctl;
		struct iovec iov = {.iov_base = p, .iov_len = len};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			take_fds(c, &m);
			p += n;
			len -= (size_t)n;
			c->bytes_in += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int r = wait_for(c, POLLIN);
		if (r)
			return r;
	}
	return 0;
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

int mig_chan_write(struct mig_chan *c, const struct iovec *iov_in, int n, int pass_fd)
{
	if (c->fd < 0)
		return pass_fd >= 0 ? -ENOTSUP : write_mem(c, iov_in, n);
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
			c->bytes_out += (uint64_t)w;
			advance(&iov, &n, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int r = wait_for(c, POLLOUT);
		if (r)
			return r;
	}
	return 0;
}

int mig_chan_drain(struct mig_chan *c, int limit_ms)
{
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

int mig_chan_readable(struct mig_chan *c)
{
	if (c->fd < 0)
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
}
