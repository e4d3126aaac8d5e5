/* What virtio-net needs from the host side of the link: a small ops table implemented by the tap
 * backend (virtio/net/tap.c), user-mode networking through libslirp (virtio/net/slirp.c) and the
 * in-memory loopback used by tests and fuzzers (tests/mock_driver/net_loopback.c).
 *
 * A backend moves whole Ethernet frames. When `vnet_hdr` is set, every frame in both directions
 * is preceded by a 12-byte struct virtio_net_hdr_v1 (little endian, the tap's IFF_VNET_HDR format
 * with TUNSETVNETHDRSZ 12): the device passes the guest's (validated) header through on transmit
 * and gets the kernel's offload header on receive. Without it the device strips and synthesises
 * headers itself, and offers no checksum or segmentation offload (virtio/net/features.c).
 *
 * All calls are made by the device with the lock of the backend's queue pair held, on that
 * pair's I/O thread (or a vCPU at DRIVER_OK and reset); none may block. A multiqueue device has
 * one backend per pair, so a backend is never called from two threads at once. */
#ifndef VIRTIO_NET_BACKEND_H
#define VIRTIO_NET_BACKEND_H

#include "host/sandbox/sandbox.h"
#include "virtio/net/features.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct net_backend;

/* Batched receive (recv_batch): at most NET_RX_BATCH_MAX frames per call, each in a buffer of the
 * backend's, 8-byte aligned (the device reads the header in place), with room for
 * NET_RX_SLOT_LEN bytes (a header and the largest frame, and one more byte to see that a frame
 * was too big). */
#define NET_RX_BATCH_MAX 16u
#define NET_RX_SLOT_LEN	 (NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 1)

/* send() refused the frame by policy (the egress filter, virtio/net/egress_filter.h): the device
 * counts it as tx_egress_dropped, not as tx_dropped. No backend's own send fails with it (a tap's
 * writev(2) never returns EACCES). */
#define NET_SEND_REFUSED EACCES

/* One frame of a batch: where it is, and its length (header included), or -EMSGSIZE when it
 * did not fit (consumed and lost). */
struct net_rx_frame {
	uint8_t *data;
	ssize_t len;
};

struct net_backend_ops {
	/* Sends one frame gathered from iov[0..iovcnt) (header first iff vnet_hdr). Returns 0, or
	 * -errno (-EAGAIN included): the device counts the frame as dropped either way. */
	int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/* Takes the next frame into buf (header first iff vnet_hdr). Returns its length, -EAGAIN
	 * when none is waiting, -EMSGSIZE when it did not fit in `len` (the frame is consumed and
	 * lost), or another -errno. */
	ssize_t (*recv)(struct net_backend *be, void *buf, size_t len);
	/* Takes up to n (1..NET_RX_BATCH_MAX) waiting frames, in order, into buffers of its own,
	 * header first; only backends with vnet_hdr offer it. Fills out[0..r) and returns r (0:
	 * none waiting), or -errno when the backend failed. The buffers stay valid, and the device
	 * may change them, until the next recv_batch() or destroy. Optional: without it the device
	 * reads one frame at a time with recv(). */
	int (*recv_batch)(struct net_backend *be, struct net_rx_frame *out, unsigned n);
	/* Enables the receive offloads (TUN_F_* of <linux/if_tun.h>) the guest negotiated; only
	 * flags within `offload_caps` are ever passed. Returns 0 or -errno. Optional. */
	int (*set_offloads)(struct net_backend *be, unsigned tun_flags);
	/* Enables or disables the backend's receive side (a tap queue of an IFF_MULTI_QUEUE tap:
	 * TUNSETQUEUE attach / detach), so that nothing is steered to a queue pair the driver does
	 * not use. Returns 0 or -errno. Optional. */
	int (*set_enabled)(struct net_backend *be, bool on);
	/* Runs the backend's own work (slirp: its sockets and timers) when service_fd is readable.
	 * Optional. */
	void (*service)(struct net_backend *be);
	/* Closes and frees the backend. */
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *kind;      /* "tap", "user", "loopback": for messages */
	bool vnet_hdr;	       /* frames carry a struct virtio_net_hdr_v1 both ways */
	unsigned offload_caps; /* TUN_F_CSUM / TUN_F_TSO4 / TUN_F_TSO6 the backend can take */
	int rx_fd;	       /* readable (EPOLLIN) when recv() may have a frame */
	int service_fd;	       /* -1, or readable when service() has work */
	uint64_t dropped;      /* frames for the guest the backend itself had to discard */
	/* The backend's calls on the device's I/O thread (host/sandbox/sandbox.h); NULL: none. */
	const struct sandbox_list *sandbox;
	/* The egress filter at or under this backend (virtio/net/egress_filter.h: the filter
	 * itself, and what a filter over it copies), whose policy can be replaced while frames
	 * flow; NULL: none. */
	struct net_backend *egress;
};

static inline void net_backend_destroy(struct net_backend *be)
{
	if (be)
		be->ops->destroy(be);
}

#endif
