/* tap backend (see tap.h). */
#include "virtio/net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/net/features.h"
#include "virtio/net/tap_rx.h"
#include <sys/syscall.h>

#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)

struct tap {
	struct net_backend be; /* first */
	int fd;
	bool multi_queue; /* one queue of an IFF_MULTI_QUEUE tap */
	char ifname[IFNAMSIZ];
#ifdef HAVE_LIBURING
	struct tap_rx *rx; /* batched receive; NULL: frame by frame */
#endif
};

static struct tap *to_tap(struct net_backend *be)
{
	return (struct tap *)be;
}

/* The system call itself, not glibc's writev(): that one is a thread cancellation point and
 * switches cancellation on and off around every call (~3% of the transmit thread in a
 * profile; 1.50M against 1.48M frames/s, median of 3; nothing here is ever cancelled). */
static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	long r;

	do
		r = syscall(SYS_writev, to_tap(be)->fd, iov, iovcnt);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static ssize_t tap_recv(struct net_backend *be, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(to_tap(be)->fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

#ifdef HAVE_LIBURING
static int tap_recv_batch(struct net_backend *be, struct net_rx_frame *out, unsigned n)
{
	return tap_rx_batch(to_tap(be)->rx, out, n);
}
#endif

static int tap_set_offloads(struct net_backend *be, unsigned flags)
{
	return ioctl(to_tap(be)->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

/* A queue of an IFF_MULTI_QUEUE tap: attached, the kernel steers flows to it; detached, not. */
static int tap_set_enabled(struct net_backend *be, bool on)
{
	struct ifreq ifr = {.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};

	if (!to_tap(be)->multi_queue)
		return 0;
	return ioctl(to_tap(be)->fd, TUNSETQUEUE, &ifr) < 0 ? -errno : 0;
}

static void tap_destroy(struct net_backend *be)
{
	struct tap *t = to_tap(be);

#ifdef HAVE_LIBURING
	tap_rx_destroy(t->rx);
#endif
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

/* Frames to and from the tap, with or without the vnet header in its own iovec (sandbox.h). */
static const struct sandbox_rule tap_rules[] = {
    SB_ALLOW(SYS_readv),
    SB_ALLOW(SYS_writev),
    SB_ALLOW(SYS_io_uring_enter),	    /* batched receive (tap_rx.c) */
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETOFFLOAD), /* offloads follow the driver's features */
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETQUEUE),   /* queues follow the pairs in use (multiqueue) */
};
const struct sandbox_list tap_sandbox = SANDBOX_LIST("tap", tap_rules);

static const struct net_backend_ops tap_ops = {
    .send = tap_send,
    .recv = tap_recv,
    .set_offloads = tap_set_offloads,
    .set_enabled = tap_set_enabled,
    .destroy = tap_destroy,
};

#ifdef HAVE_LIBURING
/* The same with batched receive (tap_rx.h). */
static const struct net_backend_ops tap_batch_ops = {
    .send = tap_send,
    .recv = tap_recv,
    .recv_batch = tap_recv_batch,
    .set_offloads = tap_set_offloads,
    .set_enabled = tap_set_enabled,
    .destroy = tap_destroy,
};
#endif

/* Header size 12 (VERSION_1 header, num_buffers included), then which offloads the kernel
 * takes: probing with all of them and going back to none leaves the tap checksumming for us
 * until the guest negotiates. */
static int setup_vnet_hdr(struct tap *t)
{
	int sz = (int)NET_HDR_LEN;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0)
		return -errno;
	t->be.vnet_hdr = true;
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) == 0)
		t->be.offload_caps = TAP_OFFLOADS;
	else if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0)
		t->be.offload_caps = TUN_F_CSUM;
	if (ioctl(t->fd, TUNSETOFFLOAD, 0ul) < 0)
		return -errno;
	return 0;
}

/* `batch`: receive through an io_uring ring when the kernel allows (tap_rx.h). */
static int tap_finish(struct tap *t, short flags, bool batch)
{
	int fl = fcntl(t->fd, F_GETFL);

	if (fl < 0 || fcntl(t->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	t->be = (struct net_backend){.ops = &tap_ops,
				     .kind = "tap",
				     .rx_fd = t->fd,
				     .service_fd = -1,
				     .sandbox = &tap_sandbox};
	if (!(flags & IFF_VNET_HDR))
		return 0;
#ifdef HAVE_LIBURING
	if (batch && tap_rx_init(&t->rx, t->fd, t->ifname) == 0)
		t->be.ops = &tap_batch_ops; /* batches carry the vnet header (backend.h) */
#else
	(void)batch;
#endif
	return setup_vnet_hdr(t);
}

static struct tap *tap_alloc(int fd)
{
	struct tap *t = calloc(1, sizeof(*t));

	if (t)
		t->fd = fd;
	return t;
}

static int tap_fail(struct tap *t, int err, const char *what)
{
	log_error("virtio-net: tap %s: %s: %s", t->ifname, what, strerror(-err));
	tap_destroy(&t->be);
	return err;
}

/* One fd of the tap; `multi_queue`: one queue of an IFF_MULTI_QUEUE tap; `batch`: tap_finish(). */
static int tap_open_one(struct net_backend **out, const char *ifname, bool multi_queue, bool batch)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
					 (multi_queue ? IFF_MULTI_QUEUE : 0)};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK), err;
	struct tap *t;

	if (fd < 0) {
		err = -errno;
		log_error("virtio-net: cannot open /dev/net/tun: %s", strerror(-err));
		return err;
	}
	t = tap_alloc(fd);
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return tap_fail(t, -errno,
				multi_queue
				    ? "TUNSETIFF with IFF_MULTI_QUEUE (creating a tap needs "
				      "CAP_NET_ADMIN; an existing tap must be multi-queue)"
				    : "TUNSETIFF (creating a tap needs CAP_NET_ADMIN)");
	err = tap_finish(t, ifr.ifr_flags, batch);
	if (err)
		return tap_fail(t, err, "setting up the vnet header");
	t->multi_queue = multi_queue;
	*out = &t->be;
	return 0;
}

int net_tap_open(struct net_backend **out, const char *ifname)
{
	return tap_open_one(out, ifname, false, true);
}

int net_tap_check(const char *ifname, bool multi_queue)
{
	struct net_backend *be;
	int err = tap_open_one(&be, ifname, multi_queue, false);

	if (!err)
		net_backend_destroy(be);
	return err;
}

int net_tap_open_mq(struct net_backend **out, const char *ifname, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int err = tap_open_one(&out[i], ifname, true, true);

		if (err) {
			while (i--)
				net_backend_destroy(out[i]);
			return err;
		}
	}
	return 0;
}

int net_tap_single_fd(const struct net_backend *be)
{
	if (!be || (be->ops != &tap_ops && be->ops != &tap_batch_ops))
		return -1;
	const struct tap *t = (const struct tap *)be;
	return t->multi_queue ? -1 : t->fd;
}

int net_tap_from_fd(struct net_backend **out, int fd)
{
	struct ifreq ifr = {0};
	struct tap *t;
	int err;

	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		err = -errno;
		log_error("virtio-net: fd %d is not a tap (TUNGETIFF: %s)", fd, strerror(-err));
		return err;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI)) {
		log_error("virtio-net: fd %d must be a tap opened with IFF_TAP | IFF_NO_PI", fd);
		return -EINVAL;
	}
	t = tap_alloc(fd);
	if (!t)
		return -ENOMEM;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	err = tap_finish(t, ifr.ifr_flags, true);
	if (err) {
		t->fd = -1; /* the caller keeps its fd on failure */
		return tap_fail(t, err, "setting up the fd");
	}
	*out = &t->be;
	return 0;
}
