/* Guest-side virtio-net driver (see net_dev.h). Section numbers: virtio 1.2. */
#include "net_dev.h"

#include "apic.h"
#include "cpu.h"
#include "printf.h"
#include "string.h"
#include "trap.h"
#include "virtio_mem.h"

#define F(bit)		 (1ULL << (bit))
#define DEFAULT_TX_SLOTS 16u
#define MRG_BUF_LEN	 2048u
#define TX_WAIT_US	 2000000u
/* Every fourth receive buffer is posted as header + frame descriptors: 200 buffers then take
 * 250 of the ring's 256 descriptors. */
#define DEFAULT_RX_BUFS 200u
#define RX_SPLIT_EVERY	4u

static bool rx_split_shape(uint16_t i)
{
	return i % RX_SPLIT_EVERY == RX_SPLIT_EVERY - 1;
}

/* 5.1.6.3.1: without MRG_RXBUF a buffer holds a whole frame: 65562 bytes when the device may
 * send GSO frames (GUEST_TSO4/6, GUEST_UFO), else 1526. */
static uint32_t default_rx_len(const struct net_dev *n)
{
	struct vdev *d = n->vdev;

	if (n->mrg)
		return MRG_BUF_LEN;
	if (vdev_has(d, VIRTIO_NET_F_GUEST_TSO4) || vdev_has(d, VIRTIO_NET_F_GUEST_TSO6) ||
	    vdev_has(d, VIRTIO_NET_F_GUEST_UFO))
		return NET_HDR_LEN + NET_FRAME_MAX;
	return NET_HDR_LEN + NET_FRAME_STD;
}

static void read_config(struct net_dev *n)
{
	for (unsigned i = 0; i < 6; i++)
		n->mac[i] = vdev_config8(n->vdev, offsetof(struct virtio_net_config, mac) + i);
	n->mtu = 1500;
	if (vdev_has(n->vdev, VIRTIO_NET_F_MTU))
		n->mtu = vdev_config16(n->vdev, offsetof(struct virtio_net_config, mtu));
}

static int alloc_buffers(struct net_dev *n, const struct net_dev_config *cfg)
{
	n->rx_buf_len = cfg->rx_buf_len ? cfg->rx_buf_len : default_rx_len(n);
	n->rx_nbufs = cfg->rx_nbufs ? cfg->rx_nbufs : DEFAULT_RX_BUFS;
	n->tx_nbufs = cfg->tx_nbufs ? cfg->tx_nbufs : DEFAULT_TX_SLOTS;
	n->tx_buf_len = cfg->tx_buf_len ? cfg->tx_buf_len : NET_HDR_LEN + NET_FRAME_MAX;
	n->rx_mem = virtio_alloc((size_t)n->rx_nbufs * n->rx_buf_len, 4096);
	n->tx_mem = virtio_alloc((size_t)n->tx_nbufs * n->tx_buf_len, 4096);
	n->tx_busy = virtio_alloc(n->tx_nbufs, 16);
	n->rx_posted = virtio_alloc(n->rx_nbufs, 16);
	if (!n->rx_mem || !n->tx_mem || !n->tx_busy || !n->rx_posted)
		return VQ_ERR_NOMEM;
	memset(n->tx_busy, 0, n->tx_nbufs);
	memset(n->rx_posted, 0, n->rx_nbufs);
	return 0;
}

static int setup_queues(struct net_dev *n)
{
	int err = vq_setup(&n->rx, n->vdev, 0, NET_QUEUE_SIZE);

	if (err) {
		printf("virtio-net: rx queue setup failed: %d\n", err);
		return err;
	}
	err = vq_setup(&n->tx, n->vdev, 1, NET_QUEUE_SIZE);
	if (err)
		printf("virtio-net: tx queue setup failed: %d\n", err);
	return err;
}

int net_dev_init(struct net_dev *n, struct vdev *d, const struct net_dev_config *cfg)
{
	int err;

	*n = (struct net_dev){.vdev = d};
	err = vdev_negotiate(d, cfg->wanted | F(VIRTIO_NET_F_MTU), F(VIRTIO_NET_F_MAC));
	if (err) {
		printf("virtio-net: negotiation failed: %d (offered 0x%llx)\n", err,
		       (unsigned long long)d->offered);
		return err;
	}
	n->mrg = vdev_has(d, VIRTIO_NET_F_MRG_RXBUF);
	read_config(n);
	err = alloc_buffers(n, cfg);
	if (!err)
		err = setup_queues(n);
	if (err)
		return err;
	vq_disable_interrupts(&n->tx); /* transmit slots are reclaimed by polling */
	vq_enable_interrupts(&n->rx);
	if (cfg->vector && !vdev_irq_enable(d, cfg->vector))
		return VDEV_ERR_MISSING;
	vdev_driver_ok(d);
	if (!cfg->defer_rx)
		net_post_rx(n);
	return 0;
}

/* ---- receive ---- */

static uint8_t *rx_buf(struct net_dev *n, uint16_t i)
{
	return n->rx_mem + (size_t)i * n->rx_buf_len;
}

static int post_one(struct net_dev *n, uint16_t i)
{
	uint64_t a = virt_to_phys(rx_buf(n, i));
	struct vq_buf b[2] = {{a, n->rx_buf_len, true}};
	unsigned nb = 1;

	if (rx_split_shape(i)) {
		b[0].len = NET_HDR_LEN;
		b[1] = (struct vq_buf){a + NET_HDR_LEN, n->rx_buf_len - NET_HDR_LEN, true};
		nb = 2;
	}
	if (vq_add(&n->rx, b, nb, rx_buf(n, i), 0))
		return -1;
	n->rx_posted[i] = true;
	return 0;
}

void net_post_rx(struct net_dev *n)
{
	for (uint16_t i = 0; i < n->rx_nbufs; i++) {
		if (!n->rx_posted[i] && post_one(n, i))
			break;
	}
	vq_kick(&n->rx);
}

/* Takes one used receive buffer: its index and used length. */
static bool take_rx(struct net_dev *n, uint16_t *idx, uint32_t *len)
{
	uint8_t *p = vq_get_used(&n->rx, len);

	if (!p)
		return false;
	*idx = (uint16_t)((p - n->rx_mem) / n->rx_buf_len);
	n->rx_posted[*idx] = false;
	return true;
}

static void copy_part(uint8_t *dst, uint32_t cap, uint32_t at, const uint8_t *src, uint32_t len)
{
	if (at < cap)
		memcpy(dst + at, src, len < cap - at ? len : cap - at);
}

static int rx_fail(struct net_dev *n, const char *why, uint32_t v)
{
	n->rx_bad++;
	printf("virtio-net: receive: %s (%u)\n", why, v);
	net_post_rx(n);
	return -1;
}

int net_recv(struct net_dev *n, void *buf, uint32_t cap, struct virtio_net_hdr_v1 *hdr)
{
	struct virtio_net_hdr_v1 h;
	uint32_t len, total;
	uint16_t idx, nbufs;

	if (!take_rx(n, &idx, &len))
		return 0;
	if (len < NET_HDR_LEN || len > n->rx_buf_len)
		return rx_fail(n, "used length out of range", len);
	memcpy(&h, rx_buf(n, idx), NET_HDR_LEN);
	nbufs = n->mrg ? h.num_buffers : 1;
	/* 5.1.6.4: with MRG_RXBUF num_buffers is at least 1; without it the device MUST set 1,
	 * but older devices (QEMU before 2025, vhost-net) leave 0 there: counted, not fatal. */
	if (!n->mrg && h.num_buffers != 1)
		n->rx_num_buffers_not_1++;
	if (nbufs == 0 || nbufs > n->rx_nbufs)
		return rx_fail(n, "bad num_buffers", h.num_buffers);
	total = len - NET_HDR_LEN;
	copy_part(buf, cap, 0, rx_buf(n, idx) + NET_HDR_LEN, total);
	post_one(n, idx);
	for (uint16_t k = 1; k < nbufs; k++) {
		/* The device publishes a merged frame's buffers together (5.1.6.4). */
		if (!take_rx(n, &idx, &len))
			return rx_fail(n, "merged buffer missing", k);
		if (len > n->rx_buf_len)
			return rx_fail(n, "used length out of range", len);
		copy_part(buf, cap, total, rx_buf(n, idx), len);
		total += len;
		post_one(n, idx);
	}
	vq_kick(&n->rx);
	if (hdr)
		*hdr = h;
	n->rx_frames++;
	n->rx_bytes += total;
	return (int)total;
}

bool net_wait(struct net_dev *n, uint32_t timeout_ms)
{
	unsigned v = n->vdev->vector;
	uint64_t seen = irq_count(v), tpu = tsc_per_us();
	uint64_t deadline = rdtsc() + (uint64_t)timeout_ms * 1000 * tpu;

	while (!vq_has_used(&n->rx)) {
		uint64_t now = rdtsc();

		if (!v || now >= deadline)
			return false;
		irq_wait(v, &seen, (uint32_t)((deadline - now) / (1000 * tpu) + 1));
	}
	return true;
}

/* ---- transmit ---- */

void net_tx_reclaim(struct net_dev *n)
{
	uint32_t len;
	uint8_t *p;

	while ((p = vq_get_used(&n->tx, &len)) != NULL)
		n->tx_busy[(p - n->tx_mem) / n->tx_buf_len] = false;
}

static bool tx_slot_free(struct net_dev *n)
{
	uint64_t deadline = rdtsc() + TX_WAIT_US * tsc_per_us();

	for (;;) {
		net_tx_reclaim(n);
		if (!n->tx_busy[n->tx_next])
			return true;
		if (rdtsc() >= deadline)
			return false;
		cpu_relax();
	}
}

int net_send(struct net_dev *n, const void *frame, uint32_t len,
	     const struct virtio_net_hdr_v1 *hdr)
{
	uint16_t i = n->tx_next;
	uint8_t *slot = n->tx_mem + (size_t)i * n->tx_buf_len;
	uint64_t a = virt_to_phys(slot);
	struct vq_buf b[2] = {{a, NET_HDR_LEN + len, false}};
	unsigned nb = 1;

	if (len > n->tx_buf_len - NET_HDR_LEN || !tx_slot_free(n))
		return -1;
	if (hdr)
		memcpy(slot, hdr, NET_HDR_LEN);
	else
		memset(slot, 0, NET_HDR_LEN);
	memcpy(slot + NET_HDR_LEN, frame, len);
	/* Every other frame: the header in a descriptor of its own (5.1.6.2 allows either). */
	if (n->tx_frames & 1) {
		b[0].len = NET_HDR_LEN;
		b[1] = (struct vq_buf){a + NET_HDR_LEN, len, false};
		nb = 2;
	}
	if (vq_add(&n->tx, b, nb, slot, 0))
		return -1;
	n->tx_busy[i] = true;
	n->tx_next = (uint16_t)((i + 1) % n->tx_nbufs);
	vq_kick(&n->tx);
	n->tx_frames++;
	n->tx_bytes += len;
	return 0;
}
