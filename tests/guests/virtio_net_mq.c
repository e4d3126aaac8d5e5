/* virtio-net multiqueue (virtio 1.2 5.1.6.5.5, VIRTIO_NET_F_MQ) through virtio-mmio or
 * virtio-pci (transport=pci: one MSI-X table entry per queue), over a multi-queue tap whose host
 * side runs a UDP echo server (tests/integration/net/test_virtio_net_mq.py):
 *   - negotiates MQ and CTRL_VQ, checks max_virtqueue_pairs against queues=N, sets up the
 *     receiveq/transmitq of every pair and the control queue last (2N, 5.1.2);
 *   - VQ_PAIRS_SET with 0 and N+1 must answer VIRTIO_NET_ERR, with N VIRTIO_NET_OK;
 *   - sends UDP datagrams from every pair (several flows per pair, a pattern payload), all queued
 *     before any kick, then collects the echoes from every receive queue and checks each byte;
 *     every echo must come back, and with N >= 2 on at least two receive queues (the tap steers
 *     a flow back to the queue it was sent from).
 *
 * Addresses (the script's): host 192.168.78.1, MAC 02:00:00:00:78:01, UDP port 7777; guest
 * 192.168.78.2 with the NIC's MAC. The host has a static neighbour entry for the guest, so the
 * guest answers no ARP.
 *
 * Command line: [transport=pci pci_irq=msix] queues=N. */
#include "guest.h"
#include "net_stack.h"
#include "platform.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define F(bit)	   (1ULL << (bit))
#define VEC	   0x50
#define MAX_PAIRS  8
#define QSIZE	   64
#define FLOWS	   8 /* per pair */
#define ROUNDS	   2
#define RX_BUFS	   32 /* per pair */
#define RX_LEN	   (NET_HDR_LEN + NET_FRAME_STD)
#define PAYLOAD	   256
#define MAGIC	   0x4d514e54u /* "MQNT" */
#define ECHO_PORT  7777
#define SPORT_BASE 20000
#define WAIT_MS	   20000

static const uint8_t HOST_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x78, 0x01};
#define HOST_IP	 NET_IP(192, 168, 78, 1)
#define GUEST_IP NET_IP(192, 168, 78, 2)

struct payload {
	uint32_t magic;
	uint16_t pair, flow;
	uint32_t round;
	uint8_t data[PAYLOAD - 12];
} __attribute__((packed));

static struct vdev *d;
static struct vq rxq[MAX_PAIRS], txq[MAX_PAIRS], ctrlq;
static unsigned npairs;
static uint8_t mac[6];
static uint8_t *rx_mem;	  /* [MAX_PAIRS][RX_BUFS][RX_LEN] */
static uint8_t *tx_mem;	  /* [MAX_PAIRS][FLOWS][RX_LEN] */
static uint8_t *ctrl_mem; /* header, data, ack */
static bool got[MAX_PAIRS][FLOWS];
static unsigned rx_on_pair[MAX_PAIRS], same_pair;

static uint8_t *rx_buf(unsigned p, unsigned i)
{
	return rx_mem + ((size_t)p * RX_BUFS + i) * RX_LEN;
}

static uint8_t *tx_buf(unsigned p, unsigned f)
{
	return tx_mem + ((size_t)p * FLOWS + f) * RX_LEN;
}

static uint8_t pattern(unsigned p, unsigned f, unsigned r, unsigned k)
{
	return (uint8_t)(p * 37 + f * 11 + r * 5 + k);
}

static void post_rx(unsigned p, unsigned i)
{
	struct vq_buf b = {virt_to_phys(rx_buf(p, i)), RX_LEN, true};

	TEST_ASSERT_EQ(vq_add(&rxq[p], &b, 1, rx_buf(p, i), 0), 0);
}

static void setup(void)
{
	uint64_t want = 0;
	int err = vdev_negotiate(
	    d, 0, F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ));

	TEST_ASSERT_MSG(err == 0, "negotiation (MQ, CTRL_VQ required) failed: %d, offered 0x%llx",
			err, (unsigned long long)d->offered);
	npairs = vdev_config16(d, offsetof(struct virtio_net_config, max_virtqueue_pairs));
	TEST_ASSERT_MSG(cmdline_get_u64("queues", &want), "queues=N missing");
	TEST_ASSERT_EQ(npairs, want);
	TEST_ASSERT(npairs >= 2 && npairs <= MAX_PAIRS);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = vdev_config8(d, offsetof(struct virtio_net_config, mac) + i);
	for (unsigned p = 0; p < npairs; p++) {
		err = vq_setup(&rxq[p], d, (uint16_t)(2 * p), QSIZE);
		TEST_ASSERT_MSG(err == 0, "receiveq%u: %d", p + 1, err);
		err = vq_setup(&txq[p], d, (uint16_t)(2 * p + 1), QSIZE);
		TEST_ASSERT_MSG(err == 0, "transmitq%u: %d", p + 1, err);
	}
	err = vq_setup(&ctrlq, d, (uint16_t)(2 * npairs), QSIZE);
	TEST_ASSERT_MSG(err == 0, "controlq: %d", err);
	TEST_ASSERT(vdev_irq_enable(d, VEC));
	vdev_driver_ok(d);
	TEST_ASSERT_MSG(!(vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET), "status 0x%x",
			vdev_status(d));
	printf("MQ negotiated, max_virtqueue_pairs %u\n", npairs);
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: the device's ack. */
static uint8_t set_pairs(uint16_t pairs)
{
	struct virtio_net_ctrl_hdr *h = (void *)ctrl_mem;
	struct virtio_net_ctrl_mq *mq = (void *)(ctrl_mem + 16);
	uint8_t *ack = ctrl_mem + 32;
	uint64_t a = virt_to_phys(ctrl_mem);
	struct vq_buf b[3] = {
	    {a, sizeof(*h), false}, {a + 16, sizeof(*mq), false}, {a + 32, 1, true}};
	uint32_t len;

	h->class = VIRTIO_NET_CTRL_MQ;
	h->cmd = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	mq->virtqueue_pairs = pairs;
	*ack = 0xaa;
	TEST_ASSERT_EQ(vq_add(&ctrlq, b, 3, ctrl_mem, 0), 0);
	vq_notify(&ctrlq);
	TEST_ASSERT_MSG(vq_wait(&ctrlq, WAIT_MS) || vq_has_used(&ctrlq),
			"no answer to VQ_PAIRS_SET %u", pairs);
	TEST_ASSERT(vq_get_used(&ctrlq, &len) == ctrl_mem);
	TEST_ASSERT_EQ(len, 1);
	return *ack;
}

/* Ethernet + IPv4 + UDP to the echo port, from port SPORT_BASE + 100p + f. */
static uint32_t build(uint8_t *buf, unsigned p, unsigned f, unsigned r)
{
	uint8_t *fr = buf + NET_HDR_LEN;
	struct iphdr *ip = (void *)(fr + NET_IP_OFF);
	struct udphdr *udp = (void *)(fr + NET_L4_OFF);
	struct payload *pl = (void *)(fr + NET_UDP_DATA_OFF);
	uint16_t ulen = (uint16_t)(sizeof(*udp) + sizeof(*pl));

	memset(buf, 0, NET_HDR_LEN); /* no offloads */
	memcpy(fr, HOST_MAC, 6);
	memcpy(fr + 6, mac, 6);
	fr[12] = 0x08;
	fr[13] = 0x00;
	*ip = (struct iphdr){.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP};
	ip->tot_len = net_htons((uint16_t)(NET_IP_HLEN + ulen));
	ip->saddr = net_htonl(GUEST_IP);
	ip->daddr = net_htonl(HOST_IP);
	ip->check = net_csum_fold(net_csum_add(0, ip, NET_IP_HLEN));
	udp->source = net_htons((uint16_t)(SPORT_BASE + 100 * p + f));
	udp->dest = net_htons(ECHO_PORT);
	udp->len = net_htons(ulen);
	udp->check = 0; /* optional over IPv4 */
	pl->magic = MAGIC;
	pl->pair = (uint16_t)p;
	pl->flow = (uint16_t)f;
	pl->round = r;
	for (unsigned k = 0; k < sizeof(pl->data); k++)
		pl->data[k] = pattern(p, f, r, k);
	return (uint32_t)(NET_HDR_LEN + NET_UDP_DATA_OFF + sizeof(*pl));
}

/* One received frame on pair `rp`: an echo of (p, f, r), every byte checked. Other frames
 * (none are expected) are ignored. */
static void take(unsigned rp, const uint8_t *buf, uint32_t len, unsigned r)
{
	const uint8_t *fr = buf + NET_HDR_LEN;
	const struct udphdr *udp = (const void *)(fr + NET_L4_OFF);
	const struct payload *pl = (const void *)(fr + NET_UDP_DATA_OFF);

	if (len < NET_HDR_LEN + NET_UDP_DATA_OFF + sizeof(*pl) || fr[12] != 0x08 || fr[13] != 0 ||
	    fr[NET_IP_OFF + 9] != IPPROTO_UDP || udp->source != net_htons(ECHO_PORT))
		return;
	TEST_ASSERT_MSG(memcmp(fr, mac, 6) == 0, "echo not addressed to us");
	TEST_ASSERT_EQ(pl->magic, MAGIC);
	TEST_ASSERT(pl->pair < npairs && pl->flow < FLOWS);
	TEST_ASSERT_EQ(udp->dest, net_htons((uint16_t)(SPORT_BASE + 100 * pl->pair + pl->flow)));
	TEST_ASSERT_EQ(pl->round, r);
	for (unsigned k = 0; k < sizeof(pl->data); k++)
		TEST_ASSERT_MSG(pl->data[k] == pattern(pl->pair, pl->flow, r, k),
				"echo of pair %u flow %u: byte %u differs", pl->pair, pl->flow, k);
	TEST_ASSERT_MSG(!got[pl->pair][pl->flow], "echo of pair %u flow %u twice", pl->pair,
			pl->flow);
	got[pl->pair][pl->flow] = true;
	rx_on_pair[rp]++;
	if (rp == pl->pair)
		same_pair++;
}

/* Every pair sends FLOWS datagrams (all queued before the first kick), then the echoes are
 * collected from every receive queue. */
static void round_trip(unsigned r)
{
	unsigned want = npairs * FLOWS, have = 0;
	uint64_t deadline = clock_ticks() + (uint64_t)WAIT_MS * 1000 * clock_ticks_per_us();
	uint32_t len;

	memset(got, 0, sizeof(got));
	for (unsigned p = 0; p < npairs; p++) {
		for (unsigned f = 0; f < FLOWS; f++) {
			struct vq_buf b = {virt_to_phys(tx_buf(p, f)), build(tx_buf(p, f), p, f, r),
					   false};
			TEST_ASSERT_EQ(vq_add(&txq[p], &b, 1, tx_buf(p, f), 0), 0);
		}
	}
	for (unsigned p = 0; p < npairs; p++)
		vq_notify(&txq[p]);
	while (have < want) {
		TEST_ASSERT_MSG(clock_ticks() < deadline, "round %u: %u of %u echoes", r, have,
				want);
		for (unsigned p = 0; p < npairs; p++) {
			uint8_t *buf;
			bool reposted = false;

			while ((buf = vq_get_used(&rxq[p], &len)) != NULL) {
				take(p, buf, len, r);
				post_rx(p, (unsigned)((buf - rx_buf(p, 0)) / RX_LEN));
				reposted = true;
			}
			if (reposted)
				vq_kick(&rxq[p]);
		}
		have = 0;
		for (unsigned p = 0; p < npairs; p++)
			for (unsigned f = 0; f < FLOWS; f++)
				have += got[p][f];
		cpu_relax();
	}
	/* the transmit buffers are done by now (their echoes came back) */
	for (unsigned p = 0; p < npairs; p++) {
		unsigned done = 0;
		while (vq_get_used(&txq[p], &len))
			done++;
		TEST_ASSERT_MSG(done == FLOWS, "transmitq%u returned %u of %u", p + 1, done, FLOWS);
	}
	printf("round %u: %u datagrams from %u pairs echoed intact\n", r, want, npairs);
}

int guest_main(void)
{
	d = vdev_find(VIRTIO_ID_NET, 0);
	TEST_ASSERT_MSG(d, "no virtio-net device (transport %s)", vdev_transport_name());
	vdev_print(d, "nic");
	rx_mem = virtio_alloc((size_t)MAX_PAIRS * RX_BUFS * RX_LEN, 4096);
	tx_mem = virtio_alloc((size_t)MAX_PAIRS * FLOWS * RX_LEN, 4096);
	ctrl_mem = virtio_alloc(64, 64);
	TEST_ASSERT(rx_mem && tx_mem && ctrl_mem);
	setup();
	TEST_ASSERT_EQ(set_pairs(0), VIRTIO_NET_ERR);
	TEST_ASSERT_EQ(set_pairs((uint16_t)(npairs + 1)), VIRTIO_NET_ERR);
	TEST_ASSERT_EQ(set_pairs((uint16_t)npairs), VIRTIO_NET_OK);
	printf("VQ_PAIRS_SET: 0 and %u refused, %u accepted\n", npairs + 1, npairs);
	for (unsigned p = 0; p < npairs; p++) {
		for (unsigned i = 0; i < RX_BUFS; i++)
			post_rx(p, i);
		vq_notify(&rxq[p]);
	}
	for (unsigned r = 0; r < ROUNDS; r++)
		round_trip(r);
	unsigned used_pairs = 0;
	for (unsigned p = 0; p < npairs; p++) {
		printf("receiveq%u: %u echoes\n", p + 1, rx_on_pair[p]);
		used_pairs += rx_on_pair[p] != 0;
	}
	printf("echoes on the pair that sent them: %u of %u\n", same_pair, npairs * FLOWS * ROUNDS);
	TEST_ASSERT_MSG(used_pairs >= 2, "echoes arrived on %u receive queue(s) only", used_pairs);
	printf("frames on %u receive queues: ok\n", used_pairs);
	return 0;
}
