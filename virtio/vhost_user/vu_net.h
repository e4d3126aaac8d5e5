/* vhost-user-net: a virtio-net device (virtio 1.2 5.1) whose rx and tx queues a vhost-user
 * back-end serves (DPDK's vhost PMD: dpdk-testpmd, OVS-DPDK). The VMM owns the config space:
 * the MAC (mac=, else the back-end's with VIRTIO_NET_F_MAC and GET_CONFIG, else a random
 * locally administered one), the link status (always up: VIRTIO_NET_F_STATUS) and
 * max_virtqueue_pairs (1). The rest is the shared vhost-user device (vu_device.h); a restarted
 * back-end is resumed even with buffers pending (a network may lose or repeat a frame, and an
 * rx ring always has buffers posted).
 *
 * One queue pair: multiqueue (VIRTIO_NET_F_MQ) needs the control queue (5.1.3.1: MQ requires
 * CTRL_VQ), which a vhost-user front-end serves itself (the back-end does not see it) and which
 * is not done; the back-end's extra queues stay unused. Its option string: vu_opts.h. */
#ifndef VIRTIO_VHOST_USER_NET_H
#define VIRTIO_VHOST_USER_NET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/vhost_user/vu_opts.h"

/* Device features a back-end may serve through this device (5.1.3): checksum and segmentation
 * offloads both ways, mergeable rx buffers, the MTU advice; MAC and STATUS are passed on when it
 * offers them (the VMM offers them in any case, it fills their config fields). Not passed on:
 * everything that needs the control queue. */
#define VU_NET_PASS_FEATURES                                                                       \
	(1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_MTU |  \
	 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_GUEST_TSO4 |                              \
	 1ull << VIRTIO_NET_F_GUEST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_ECN |                        \
	 1ull << VIRTIO_NET_F_GUEST_UFO | 1ull << VIRTIO_NET_F_HOST_TSO4 |                         \
	 1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_HOST_ECN |                          \
	 1ull << VIRTIO_NET_F_HOST_UFO | 1ull << VIRTIO_NET_F_MRG_RXBUF |                          \
	 1ull << VIRTIO_NET_F_STATUS)
/* What the VMM offers whatever the back-end does: it fills these config fields itself. */
#define VU_NET_LOCAL_FEATURES (1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS)

/* The back-end's config space bytes (GET_CONFIG, `len` of them, may be 0: none) and offer
 * `*features` (masked with VU_NET_PASS_FEATURES, dependencies sanitized) made into the config
 * the guest sees: the MAC from `opts_mac` when not NULL, else the back-end's when it offered
 * VIRTIO_NET_F_MAC and gave a unicast, non-zero one, else `fallback_mac`; status link up;
 * max_virtqueue_pairs 1; the MTU kept only when offered and 68..65535 (else MTU dropped). A
 * pure function of its input (fuzz_vu_config). */
void vu_net_config_make(struct virtio_net_config *c, uint64_t *features, const uint8_t *backend,
			size_t len, const uint8_t *opts_mac, const uint8_t fallback_mac[6]);

/* Connects to the back-end, builds the config space, describes the device. Returns 0 or -errno
 * (logged, with the back-end's socket). */
int vu_net_create(struct virtio_dev **out, const struct vu_opts *o, int timeout_ms);

#endif
