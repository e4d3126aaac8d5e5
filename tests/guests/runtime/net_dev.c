/* Guest-side virtio-net driver (see net_dev.h). Section numbers: virtio 1.2. */
#include "net_dev.h"

#include "platform.h"
#include "printf.h"
#include "string.h"
#include "virtio_mem.h"

#define F(bit)		 (1ULL << (bit))
#define DEFAULT_TX_SLOTS 16u
#define MRG_BUF_LEN	 2048u
#define TX_WAIT_US	 2000000u
#define CTRL_WAIT_US	 2000000u
/* The control queue's buffer: command header, data, ack. */
#define CTRL_DATA_OFF 16u
#define CTRL_ACK_OFF  48u
#define CTRL_LEN      64u
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
	n->max_pairs = 1;
	if (vdev_has(n->vdev, VIRTIO_NET_F_MQ))
		n->max_pairs =
		    vdev_config16(n->vdev, offsetof(struct virtio_net_config, max_virtqueue_pairs));
}

/* MAC always; MQ and CTRL_VQ (5.1.3.1: MQ needs CTRL_VQ) for several pairs. */
static uint64_t required_features(const struct net_dev_config *cfg)
{
	uint64_t f = F(VIRTIO_NET_F_MAC);

	if (cfg->pairs > 1)
		f |= F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ);
	return f;
}

static int check_pairs(const struct net_dev *n)
{
	if (n->pairs_set <= NET_MAX_PAIRS && n->pairs_set <= n->max_pairs)
		return 0;
	printf("virtio-net: %u queue pairs asked, the device has %u (this driver up to %u)\n",
	       n->pairs_set, n->max_pairs, NET_MAX_PAIRS);
	return NET_ERR_MQ;
}

static int alloc_pair(const struct net_dev *n, struct net_pair *q)
{
	q->rx_mem = virtio_alloc((size_t)n->rx_nbufs * n->rx_buf_len, 4096);
	q->tx_mem = virtio_alloc((size_t)n->tx_nbufs * n->tx_buf_len, 4096);
	q->tx_busy = virtio_alloc(n->tx_nbufs, 16);
	q->rx_posted = virtio_alloc(n->rx_nbufs, 16);
	if (!q->rx_mem || !q->tx_mem || !q->tx_busy || !q->rx_posted)
		return VQ_ERR_NOMEM;
	memset(q->tx_busy, 0, n->tx_nbufs);
	memset(q->rx_posted, 0, n->rx_nbufs);
	return 0;
}

static int alloc_buffers(struct net_dev *n, const struct net_dev_config *cfg)
{
	int err = 0;

	n->rx_buf_len = cfg->rx_buf_len ? cfg->rx_buf_len : default_rx_len(n);
	n->rx_nbufs = cfg->rx_nbufs ? cfg->rx_nbufs : DEFAULT_RX_BUFS;
	n->tx_nbufs = cfg->tx_nbufs ? cfg->tx_nbufs : DEFAULT_TX_SLOTS;
	n->tx_buf_len = cfg->tx_buf_len ? cfg->tx_buf_len : NET_HDR_LEN + NET_FRAME_MAX;
	for (uint16_t p = 0; p < n->pairs_set && !err; p++)
		err = alloc_pair(n, &n->pair[p]);
	if (!err && n->pairs_set > 1 && !(n->ctrl_mem = virtio_alloc(CTRL_LEN, 64)))
		err = VQ_ERR_NOMEM;
	return err;
}

static int setup_queue(struct net_dev *n, struct vq *vq, uint16_t index)
{
	int err = vq_setup(vq, n->vdev, index, NET_QUEUE_SIZE);

	if (err)
		printf("virtio-net: queue %u setup failed: %d\n", index, err);
	return err;
}

/* 5.1.2: pair p is queues 2p (receive) and 2p + 1 (transmit); the control queue comes after
 * the last pair the device has, whatever number the driver uses. */
static int setup_queues(struct net_dev *n)
{
	int err = 0;

	for (uint16_t p = 0; p < n->pairs_set && !err; p++) {
		struct net_pair *q = &n->pair[p];

		err = setup_queue(n, &q->rx, (uint16_t)(2 * p));
		if (!err)
			err = setup_queue(n, &q->tx, (uint16_t)(2 * p + 1));
		if (!err) {
			vq_disable_interrupts(&q->tx); /* slots are reclaimed by polling */
			vq_enable_interrupts(&q->rx);
		}
	}
	if (!err && n->pairs_set > 1) {
		err = setup_queue(n, &n->ctrl, (uint16_t)(2 * n->max_pairs));
		if (!err)
			vq_disable_interrupts(&n->ctrl); /* answers are polled */
	}
	return err;
}

/* With several pairs: all of them in use (until then the device uses pair 0 only). */
static int use_pairs(struct net_dev *n)
{
	int ack;

	if (n->pairs_set < 2)
		return 0;
	ack = net_set_pairs(n, n->pairs_set);
	if (ack == VIRTIO_NET_OK)
		return 0;
	printf("virtio-net: VQ_PAIRS_SET %u: %s\n", n->pairs_set,
	       ack < 0 ? "no answer" : "refused");
	return NET_ERR_MQ;
}

int net_dev_init(struct net_dev *n, struct vdev *d, const struct net_dev_config *cfg)
{
	int err;

	*n = (struct net_dev){.vdev = d, .npairs = 1, .pairs_set = cfg->pairs > 1 ? cfg->pairs : 1};
	err = vdev_negotiate(d, cfg->wanted | F(VIRTIO_NET_F_MTU), required_features(cfg));
	if (err) {
		printf("virtio-net: negotiation failed: %d (offered 0x%llx)\n", err,
		       (unsigned long long)d->offered);
		return err;
	}
	n->mrg = vdev_has(d, VIRTIO_NET_F_MRG_RXBUF);
	read_config(n);
	err = check_pairs(n);
	if (!err)
		err = alloc_buffers(n, cfg);
	if (!err)
		err = setup_queues(n);
	if (err)
		return err;
	if (cfg->vector && !vdev_irq_enable(d, cfg->vector))
		return VDEV_ERR_MISSING;
	vdev_driver_ok(d);
	err = use_pairs(n);
	if (!err && !cfg->defer_rx)
		net_post_rx(n);
	return err;
}

/* ---- control queue ---- */

/* 5.1.6.5: a command is its header (class, command), its data, then the device's one-byte ack.
 * Needs the control queue. Returns the ack, or -1 without an answer in time. */
static int ctrl_command(struct net_dev *n, uint8_t class, uint8_t cmd, const void *data,
			uint32_t len)
{
	struct virtio_net_ctrl_hdr *h = (void *)n->ctrl_mem;
	volatile uint8_t *ack = n->ctrl_mem + CTRL_ACK_OFF;
	uint64_t a = virt_to_phys(n->ctrl_mem);
	struct vq_buf b[3] = {
	    {a, sizeof(*h), false}, {a + CTRL_DATA_OFF, len, false}, {a + CTRL_ACK_OFF, 1, true}};
	uint64_t deadline = clock_ticks() + CTRL_WAIT_US * clock_ticks_per_us();
	uint32_t used;

	if (len > CTRL_ACK_OFF - CTRL_DATA_OFF)
		return -1;
	h->class = class;
	h->cmd = cmd;
	memcpy(n->ctrl_mem + CTRL_DATA_OFF, data, len);
	*ack = 0xff;
	if (vq_add(&n->ctrl, b, 3, n->ctrl_mem, 0))
		return -1;
	vq_kick(&n->ctrl);
	while (!vq_has_used(&n->ctrl)) {
		if (clock_ticks() >= deadline)
			return -1;
		cpu_relax();
	}
	vq_get_used(&n->ctrl, &used);
	return *ack;
}

int net_set_pairs(struct net_dev *n, uint16_t pairs)
{
	struct virtio_net_ctrl_mq mq = {.virtqueue_pairs = pairs};
	int ack;

	if (!n->ctrl_mem)
		return -1;
	ack = ctrl_command(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &mq, sizeof(mq));
	if (ack == VIRTIO_NET_OK && pairs >= 1 && pairs <= n->pairs_set) {
		n->npairs = pairs;
		n->rx_cursor = 0;
	}
	return ack;
}

/* ---- receive ---- */

static uint8_t *rx_buf(const struct net_dev *n, const struct net_pair *q, uint16_t i)
{
	return q->rx_mem + (size_t)i * n->rx_buf_len;
}

static int post_one(struct net_dev *n, struct net_pair *q, uint16_t i)
{
	uint64_t a = virt_to_phys(rx_buf(n, q, i));
	struct vq_buf b[2] = {{a, n->rx_buf_len, true}};
	unsigned nb = 1;

	if (rx_split_shape(i)) {
		b[0].len = NET_HDR_LEN;
		b[1] = (struct vq_buf){a + NET_HDR_LEN, n->rx_buf_len - NET_HDR_LEN, true};
		nb = 2;
	}
	if (vq_add(&q->rx, b, nb, rx_buf(n, q, i), 0))
		return -1;
	q->rx_posted[i] = true;
	return 0;
}

static void post_pair(struct net_dev *n, struct net_pair *q)
{
	for (uint16_t i = 0; i < n->rx_nbufs; i++) {
		if (!q->rx_posted[i] && post_one(n, q, i))
			break;
	}
	vq_kick(&q->rx);
}

void net_post_rx(struct net_dev *n)
{
	for (uint16_t p = 0; p < n->pairs_set; p++)
		post_pair(n, &n->pair[p]);
}

/* Takes one used receive buffer: its index and used length. */
static bool take_rx(struct net_dev *n, struct net_pair *q, uint16_t *idx, uint32_t *len)
{
	uint8_t *p = vq_get_used(&q->rx, len);

	if (!p)
		return false;
	*idx = (uint16_t)((p - q->rx_mem) / n->rx_buf_len);
	q->rx_posted[*idx] = false;
	return true;
}

static void copy_part(uint8_t *dst, uint32_t cap, uint32_t at, const uint8_t *src, uint32_t len)
{
	if (at < cap)
		memcpy(dst + at, src, len < cap - at ? len : cap - at);
}

static int rx_fail(struct net_dev *n, struct net_pair *q, const char *why, uint32_t v)
{
	n->rx_bad++;
	printf("virtio-net: receive: %s (%u)\n", why, v);
	post_pair(n, q);
	return -1;
}

static int recv_pair(struct net_dev *n, struct net_pair *q, void *buf, uint32_t cap,
		     struct virtio_net_hdr_v1 *hdr)
{
	struct virtio_net_hdr_v1 h;
	uint32_t len, total;
	uint16_t idx, nbufs;

	if (!take_rx(n, q, &idx, &len))
		return 0;
	if (len < NET_HDR_LEN || len > n->rx_buf_len)
		return rx_fail(n, q, "used length out of range", len);
	memcpy(&h, rx_buf(n, q, idx), NET_HDR_LEN);
	nbufs = n->mrg ? h.num_buffers : 1;
	/* 5.1.6.4: with MRG_RXBUF num_buffers is at least 1; without it the device MUST set 1,
	 * but older devices (QEMU before 2025, vhost-net) leave 0 there: counted, not fatal. */
	if (!n->mrg && h.num_buffers != 1)
		n->rx_num_buffers_not_1++;
	if (nbufs == 0 || nbufs > n->rx_nbufs)
		return rx_fail(n, q, "bad num_buffers", h.num_buffers);
	total = len - NET_HDR_LEN;
	copy_part(buf, cap, 0, rx_buf(n, q, idx) + NET_HDR_LEN, total);
	post_one(n, q, idx);
	for (uint16_t k = 1; k < nbufs; k++) {
		/* The device publishes a merged frame's buffers together (5.1.6.4). */
		if (!take_rx(n, q, &idx, &len))
			return rx_fail(n, q, "merged buffer missing", k);
		if (len > n->rx_buf_len)
			return rx_fail(n, q, "used length out of range", len);
		copy_part(buf, cap, total, rx_buf(n, q, idx), len);
		total += len;
		post_one(n, q, idx);
	}
	vq_kick(&q->rx);
	if (hdr)
		*hdr = h;
	q->rx_frames++;
	n->rx_frames++;
	n->rx_bytes += total;
	return (int)total;
}

int net_recv_on(struct net_dev *n, uint16_t p, void *buf, uint32_t cap,
		struct virtio_net_hdr_v1 *hdr)
{
	return p < n->pairs_set ? recv_pair(n, &n->pair[p], buf, cap, hdr) : 0;
}

int net_recv(struct net_dev *n, void *buf, uint32_t cap, struct virtio_net_hdr_v1 *hdr)
{
	if (n->npairs == 1)
		return net_recv_on(n, 0, buf, cap, hdr);
	for (uint16_t k = 0; k < n->npairs; k++) {
		uint16_t p = (uint16_t)((n->rx_cursor + k) % n->npairs);

		if (vq_has_used(&n->pair[p].rx)) {
			n->rx_cursor = (uint16_t)((p + 1) % n->npairs);
			return net_recv_on(n, p, buf, cap, hdr);
		}
	}
	return 0;
}

static bool rx_waiting(struct net_dev *n)
{
	for (uint16_t p = 0; p < n->npairs; p++) {
		if (vq_has_used(&n->pair[p].rx))
			return true;
	}
	return false;
}

bool net_wait(struct net_dev *n, uint32_t timeout_ms)
{
	unsigned v = n->vdev->vector;
	uint64_t seen = irq_count(v), tpu = clock_ticks_per_us();
	uint64_t deadline = clock_ticks() + (uint64_t)timeout_ms * 1000 * tpu;

	while (!rx_waiting(n)) {
		uint64_t now = clock_ticks();

		if (!v || now >= deadline)
			return false;
		irq_wait(v, &seen, (uint32_t)((deadline - now) / (1000 * tpu) + 1));
	}
	return true;
}

/* ---- transmit ---- */

static void reclaim_pair(struct net_dev *n, struct net_pair *q)
{
	uint32_t len;
	uint8_t *p;

	while ((p = vq_get_used(&q->tx, &len)) != NULL)
		q->tx_busy[(p - q->tx_mem) / n->tx_buf_len] = false;
}

void net_tx_reclaim(struct net_dev *n)
{
	for (uint16_t p = 0; p < n->pairs_set; p++)
		reclaim_pair(n, &n->pair[p]);
}

unsigned net_tx_in_flight(const struct net_dev *n)
{
	unsigned busy = 0;

	for (uint16_t p = 0; p < n->pairs_set; p++)
		busy += (unsigned)(n->pair[p].tx.size - n->pair[p].tx.num_free);
	return busy;
}

static bool tx_slot_free(struct net_dev *n, struct net_pair *q)
{
	uint64_t deadline = clock_ticks() + TX_WAIT_US * clock_ticks_per_us();

	for (;;) {
		reclaim_pair(n, q);
		if (!q->tx_busy[q->tx_next])
			return true;
		if (clock_ticks() >= deadline)
			return false;
		cpu_relax();
	}
}

/* Copies the frame into q's next slot (free) and makes it available. */
static int put_frame(struct net_dev *n, struct net_pair *q, const void *frame, uint32_t len,
		     const struct virtio_net_hdr_v1 *hdr)
{
	uint16_t i = q->tx_next;
	uint8_t *slot = q->tx_mem + (size_t)i * n->tx_buf_len;
	uint64_t a = virt_to_phys(slot);
	struct vq_buf b[2] = {{a, NET_HDR_LEN + len, false}};
	unsigned nb = 1;

	if (hdr)
		memcpy(slot, hdr, NET_HDR_LEN);
	else
		memset(slot, 0, NET_HDR_LEN);
	memcpy(slot + NET_HDR_LEN, frame, len);
	/* Every other frame: the header in a descriptor of its own (5.1.6.2 allows either). */
	if (q->tx_frames & 1) {
		b[0].len = NET_HDR_LEN;
		b[1] = (struct vq_buf){a + NET_HDR_LEN, len, false};
		nb = 2;
	}
	if (vq_add(&q->tx, b, nb, slot, 0))
		return -1;
	q->tx_busy[i] = true;
	q->tx_next = (uint16_t)((i + 1) % n->tx_nbufs);
	return 0;
}

int net_send_on(struct net_dev *n, uint16_t p, const void *frame, uint32_t len,
		const struct virtio_net_hdr_v1 *hdr)
{
	struct net_pair *q;

	if (p >= n->npairs || len > n->tx_buf_len - NET_HDR_LEN)
		return -1;
	q = &n->pair[p];
	if (!tx_slot_free(n, q) || put_frame(n, q, frame, len, hdr))
		return -1;
	vq_kick(&q->tx);
	q->tx_frames++;
	n->tx_frames++;
	n->tx_bytes += len;
	return 0;
}

int net_send(struct net_dev *n, const void *frame, uint32_t len,
	     const struct virtio_net_hdr_v1 *hdr)
{
	return net_send_on(n, 0, frame, len, hdr);
}
