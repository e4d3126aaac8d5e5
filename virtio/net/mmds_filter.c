/* MMDS in front of a virtio-net backend. See mmds_filter.h.
 *
 * Readiness: the filter's rx_fd is an epoll set holding the inner backend's rx_fd and a timerfd.
 * The timer is armed to fire at once when MMDS has frames for the guest (after a transmit fed
 * it), else at its retransmission deadline, else disarmed; so the device's one rx watch covers
 * both sources, and a guest that never talks to MMDS never wakes for it. */
#include "virtio/net/mmds_filter.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/mmds/mmds_stack.h"

#include "base/clock.h"

#define MMDS_SLOT_LEN (NET_HDR_LEN + 1600) /* a header and an MMDS frame (at most 1514 bytes) */
#define MMDS_SLOTS    NET_RX_BATCH_MAX

struct mmds_filter {
	struct net_backend be; /* first: the device holds this */
	struct net_backend *inner;
	struct mmds_stack *stack;
	int timer_fd;
	_Alignas(8) uint8_t slot[MMDS_SLOTS][MMDS_SLOT_LEN];
};

static struct mmds_filter *to_filter(struct net_backend *be)
{
	return (struct mmds_filter *)be;
}

/* Arms the timer for MMDS's next work: at once (1 ns) when frames wait, at the deadline of a
 * retransmission, or never. */
static void arm(struct mmds_filter *f, bool frames_waiting)
{
	struct itimerspec its = {0};
	uint64_t d = mmds_stack_deadline(f->stack), now = mono_ms();

	if (frames_waiting || d <= now)
		its.it_value.tv_nsec = 1;
	else if (d != UINT64_MAX)
		its.it_value = (struct timespec){(time_t)((d - now) / 1000),
						 (long)((d - now) % 1000) * 1000000};
	timerfd_settime(f->timer_fd, 0, &its, NULL);
}

/* The first `n` bytes of the frame (after the header, if any) gathered from iov; returns how
 * many there were. */
static size_t frame_head(const struct net_backend *be, const struct iovec *iov, int iovcnt,
			 uint8_t *buf, size_t n, size_t *total)
{
	size_t skip = be->vnet_hdr ? NET_HDR_LEN : 0, got = 0;
	*total = 0;
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len, s = skip < len ? skip : len;
		skip -= s;
		*total += len - s;
		for (size_t k = s; k < len && got < n; k++)
			buf[got++] = p[k];
	}
	return got;
}

static int f_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct mmds_filter *f = to_filter(be);
	uint8_t head[PKT_ETH_HLEN + PKT_ARP_LEN];
	size_t total, got = frame_head(be, iov, iovcnt, head, sizeof(head), &total);

	if (!mmds_frame_maybe_mine(head, got, f->stack->ipv4))
		return f->inner->ops->send(f->inner, iov, iovcnt);
	uint8_t *frame = malloc(total ? total : 1);
	if (!frame)
		return -ENOMEM;
	frame_head(be, iov, iovcnt, frame, total, &total);
	mmds_stack_rx(f->stack, frame, total, mono_ms());
	free(frame);
	arm(f, true);
	return 0;
}

/* The next MMDS frame into a slot of ours, header first iff vnet_hdr; 0 when there is none. */
static ssize_t mmds_next(struct mmds_filter *f, uint8_t *slot, uint64_t now)
{
	size_t h = f->be.vnet_hdr ? NET_HDR_LEN : 0;
	size_t n = mmds_stack_tx(f->stack, slot + h, MMDS_SLOT_LEN - h, now);
	if (!n)
		return 0;
	memset(slot, 0, h); /* no offload: MMDS's frames are small and fully checksummed */
	return (ssize_t)(n + h);
}

/* Clears the timer's expiry (the epoll set stays readable otherwise). */
static void timer_ack(struct mmds_filter *f)
{
	uint64_t expirations;
	if (read(f->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
}

static ssize_t f_recv(struct net_backend *be, void *buf, size_t len)
{
	struct mmds_filter *f = to_filter(be);
	uint64_t now = mono_ms();

	timer_ack(f);
	ssize_t n = mmds_next(f, f->slot[0], now);
	if (n > 0) {
		arm(f, true);
		if ((size_t)n > len)
			return -EMSGSIZE;
		memcpy(buf, f->slot[0], (size_t)n);
		return n;
	}
	arm(f, false);
	n = f->inner->ops->recv(f->inner, buf, len);
	f->be.dropped = f->inner->dropped; /* the device reads the outer backend's count */
	return n;
}

static int f_recv_batch(struct net_backend *be, struct net_rx_frame *out, unsigned n)
{
	struct mmds_filter *f = to_filter(be);
	uint64_t now = mono_ms();
	unsigned k = 0;

	timer_ack(f);
	for (ssize_t len; k < n && (len = mmds_next(f, f->slot[k], now)) > 0; k++)
		out[k] = (struct net_rx_frame){f->slot[k], len};
	arm(f, k == n);
	if (k)
		return (int)k;
	int r = f->inner->ops->recv_batch(f->inner, out, n);
	f->be.dropped = f->inner->dropped;
	return r;
}

static int f_set_offloads(struct net_backend *be, unsigned tun_flags)
{
	struct net_backend *in = to_filter(be)->inner;
	return in->ops->set_offloads ? in->ops->set_offloads(in, tun_flags) : 0;
}

static int f_set_enabled(struct net_backend *be, bool on)
{
	struct net_backend *in = to_filter(be)->inner;
	return in->ops->set_enabled ? in->ops->set_enabled(in, on) : 0;
}

static void f_service(struct net_backend *be)
{
	struct net_backend *in = to_filter(be)->inner;
	in->ops->service(in);
}

static void f_destroy(struct net_backend *be)
{
	struct mmds_filter *f = to_filter(be);
	net_backend_destroy(f->inner);
	mmds_stack_free(f->stack);
	close(f->timer_fd);
	close(f->be.rx_fd);
	free(f);
}

static const struct net_backend_ops filter_ops = {
    .send = f_send,
    .recv = f_recv,
    .recv_batch = f_recv_batch,
    .set_offloads = f_set_offloads,
    .set_enabled = f_set_enabled,
    .service = f_service,
    .destroy = f_destroy,
};

/* Without recv_batch in the inner backend, the filter has none either. */
static const struct net_backend_ops filter_ops_single = {
    .send = f_send,
    .recv = f_recv,
    .set_offloads = f_set_offloads,
    .set_enabled = f_set_enabled,
    .service = f_service,
    .destroy = f_destroy,
};

static int watch(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int net_mmds_wrap(struct net_backend **be, struct mmds *mmds, uint32_t ipv4)
{
	struct net_backend *in = *be;
	struct mmds_filter *f = calloc(1, sizeof(*f));
	int err = -ENOMEM;

	if (!f)
		return err;
	f->inner = in;
	f->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	f->be.rx_fd = epoll_create1(EPOLL_CLOEXEC);
	f->stack = mmds_stack_new(mmds, ipv4, NULL, NULL);
	if (f->timer_fd < 0 || f->be.rx_fd < 0)
		err = -errno;
	else if (f->stack && !(err = watch(f->be.rx_fd, in->rx_fd)))
		err = watch(f->be.rx_fd, f->timer_fd);
	if (err) {
		f->inner = NULL;
		mmds_stack_free(f->stack);
		if (f->timer_fd >= 0)
			close(f->timer_fd);
		if (f->be.rx_fd >= 0)
			close(f->be.rx_fd);
		free(f);
		return err;
	}
	f->be.ops = in->ops->recv_batch ? &filter_ops : &filter_ops_single;
	f->be.kind = in->kind;
	f->be.vnet_hdr = in->vnet_hdr;
	f->be.offload_caps = in->offload_caps;
	f->be.service_fd = in->service_fd;
	f->be.sandbox = in->sandbox;
	f->be.egress = in->egress;
	*be = &f->be;
	return 0;
}
