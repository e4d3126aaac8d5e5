/* libFuzzer target: virtio-net (virtio/net*.c) behind virtio-mmio, on the in-memory loopback
 * backend (tests/mock_driver/net_loopback.h), with or without the vnet header and with fuzzed
 * offload capabilities. The harness (fuzz_virtio_dev.h) drives the receive (0), transmit (1) and
 * control (2) queues: FZ_DRV_ADD_REQUEST puts a virtio_net_hdr_v1 + frame, or a control command
 * (class, command, data) followed by the ack byte, into the rings. The special operation plays
 * the host side: frames of fuzzed bytes and lengths (up to the 65550-byte maximum and past it)
 * injected into the loopback, sends that fail, then one round of the I/O thread's fd handlers
 * (only for fds the device watches, as epoll would). Every frame the device sends must be a
 * whole Ethernet frame of legal size.
 *
 * Multiqueue: the config byte's top bit gives the device 2 or 4 queue pairs (VIRTIO_NET_F_MQ, a
 * loopback per pair, queues 2i / 2i+1, the control queue last), so the fuzzed driver meets
 * VQ_PAIRS_SET, the control queue at 2 or 2N depending on MQ, and receive on pairs in use only;
 * the special operation picks the pair whose backend it plays. */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "tests/mock_driver/net_loopback.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/net/features.h"
#include "virtio/net/net.h"
#include "virtio/net/net_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_LEN 12u

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static uint8_t big[VIRTIO_NET_MAX_FRAME + HDR_LEN + 16];
static bool vnet_hdr;
static unsigned npairs;

static int net_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	struct net_backend *be[4] = {0};
	uint8_t cfg = fz_u8(in);
	vnet_hdr = cfg & 1;
	unsigned caps = vnet_hdr ? (cfg >> 1) & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
	npairs = cfg & 0x80 ? 2u + ((cfg >> 4) & 1) * 2 : 1;
	for (unsigned i = 0; i < npairs; i++) {
		/* bit 5: the backend reads in batches (the tap's io_uring path) */
		if (net_loopback_create(&be[i], vnet_hdr, caps) ||
		    (vnet_hdr && (cfg & 0x20) && net_loopback_set_batch(be[i], true))) {
			net_backend_destroy(be[i]);
			while (i--)
				net_backend_destroy(be[i]);
			return -1;
		}
	}
	if (virtio_net_create_with_backends(out, be, npairs, mac))
		return -1;
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void net_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
}

/* One round of the I/O threads: the handler of every fd that epoll would report now (every
 * group's lock held, as with virtio_dev_process_pending). */
static void run_watched_fds(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_lock_groups(dev, -1);
	for (int i = 0; i < dev->nfds; i++) {
		struct pollfd p = {.fd = dev->fds[i].fd, .events = POLLIN};
		if (!(dev->fds[i].events & EPOLLIN) || poll(&p, 1, 0) != 1)
			continue;
		dev->fds[i].ready(dev, dev->fds[i].fd, EPOLLIN);
	}
	virtio_dev_unlock_groups(dev, -1);
	pthread_mutex_unlock(&dev->lock);
}

/* Every frame the device handed the backend: header (iff vnet_hdr) + 14..65550 bytes. */
static void check_sent(struct net_backend *be)
{
	size_t n = net_loopback_sent_count(be), len;
	size_t hdr = vnet_hdr ? HDR_LEN : 0;
	for (size_t i = 0; i < n; i++) {
		FZ_ASSERT(net_loopback_sent(be, i, &len), "sent frame %zu missing", i);
		FZ_ASSERT(len >= hdr + ETH_HLEN && len <= hdr + VIRTIO_NET_MAX_FRAME,
			  "sent frame %zu of %zu bytes", i, len);
	}
	net_loopback_clear_sent(be);
}

static void inject(struct net_backend *be, struct fz_in *in)
{
	size_t len, got;
	uint8_t mode = fz_u8(in);
	switch (mode % 4) {
	default: /* a frame of input bytes */
		len = fz_u8(in) + (mode & 4 ? 256u : 0);
		memcpy(big, fz_take(in, len, &got), got);
		memset(big + got, 0, len - got);
		break;
	case 2: /* full-size frames, the largest legal one, and past it */
		len = (size_t[]){ETH_FRAME_LEN, ETH_FRAME_LEN + 4, VIRTIO_NET_MAX_FRAME,
				 VIRTIO_NET_MAX_FRAME + 1}[fz_u8(in) % 4] +
		      (vnet_hdr ? HDR_LEN : 0);
		memset(big, fz_u8(in), len);
		break;
	case 3: /* any length */
		len = fz_u32(in) % sizeof(big);
		break;
	}
	int err = net_loopback_inject(be, big, len);
	FZ_ASSERT(err == 0 || err == -ENOBUFS || err == -ENOMEM || err == -EINVAL, "inject: %d",
		  err);
}

static void net_special(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t what = fz_u8(in);
	struct net_backend *be = virtio_net_pair_backend(dev, (what >> 4) % npairs);
	if (what & 1)
		inject(be, in);
	if (what & 2)
		net_loopback_fail_send(be, what & 4 ? -EAGAIN : 0);
	if (what & 8) {
		struct virtio_net_stats st;
		virtio_net_get_stats(dev, &st);
		struct virtio_net_rx_mode rm;
		virtio_net_get_rx_mode(dev, &rm);
		FZ_ASSERT(rm.n_uni <= VIRTIO_NET_MAC_TABLE && rm.n_multi <= VIRTIO_NET_MAC_TABLE,
			  "MAC tables %u %u", rm.n_uni, rm.n_multi);
	}
	run_watched_fds(dev);
	for (unsigned i = 0; i < npairs; i++)
		check_sent(virtio_net_pair_backend(dev, i));
}

static const struct fz_dev_hooks net_hooks = {
    .create = net_create, .destroy = net_destroy, .special = net_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &net_hooks);
}
