/* virtio-net over a tap, with the runtime's driver (runtime/net_dev.h) and stack
 * (runtime/net_stack.h), driven from the host side by tests/integration/net/test_net_tap_ping.py:
 *
 *   1. rx_frames=N: the receive queue is left empty for rx_delay_ms (the host sends N frames
 *      of EtherType 0x88b6 meanwhile, which wait in the tap); then the buffers are posted and
 *      all N frames (sequence numbers 0..N-1, each once) must arrive.
 *   2. Serving until a quit frame (0x88b7) or serve_ms: answers ARP for ip= and ICMP echo
 *      requests; echoes frames of EtherType 0x88b5 back to their sender (MACs swapped) after
 *      checking their pattern; answers a 0x88b8 request "send me a frame of L bytes" with a
 *      pattern frame of that length (for lengths the host cannot send itself).
 *   Every wait sleeps on the device's interrupt (sti; hlt).
 *
 * Pattern frame (0x88b5 / 0x88b8 answer), after the Ethernet header: u32 seq, u32 frame length
 * (both big endian), then byte k = (seq * 7 + k) & 0xff.
 *
 * Command line: ip=A.B.C.D [offload] (negotiate MRG_RXBUF, CSUM, GUEST_CSUM, HOST/GUEST_TSO4/6)
 *   [rx_frames=N rx_delay_ms=MS] [serve_ms=MS] */
#include "guest.h"
#include "net_dev.h"
#include "net_stack.h"
#include "platform.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define VEC_NET	      0x52
#define ETH_ECHO      0x88b5
#define ETH_DELAYED   0x88b6
#define ETH_QUIT      0x88b7
#define ETH_GEN	      0x88b8
#define PATTERN_HLEN  8u
#define DEFAULT_SERVE 60000u

#define F(bit) (1ULL << (bit))

static bool quit;
static uint64_t echoes, bad_echoes, generated;

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ramp[j] = j & 0xff: the pattern of sequence number seq from byte k on is ramp + ((seq * 7 +
 * k) & 0xff), so frames are checked and filled with one string instruction each (ring 0 is
 * emulated on some hosts: a byte loop over 64 KiB costs a tenth of a second there). */
static uint8_t ramp[NET_FRAME_MAX + 256];

static void ramp_init(void)
{
	for (uint32_t j = 0; j < sizeof(ramp); j++)
		ramp[j] = (uint8_t)j;
}

/* Returns the first bad offset of the pattern in frame[0..len), or len when it is intact. */
static uint32_t pattern_check(const uint8_t *frame, uint32_t len)
{
	const uint8_t *p = frame + ETH_HLEN;
	uint32_t seq, n = len - ETH_HLEN;

	if (len < ETH_HLEN + PATTERN_HLEN || get_be32(p + 4) != len)
		return ETH_HLEN;
	seq = get_be32(p);
	return ETH_HLEN + PATTERN_HLEN +
	       mem_same_prefix(p + PATTERN_HLEN, ramp + ((seq * 7 + PATTERN_HLEN) & 0xff),
			       n - PATTERN_HLEN);
}

static void pattern_fill(uint8_t *frame, uint32_t len, uint32_t seq)
{
	uint8_t *p = frame + ETH_HLEN;

	put_be32(p, seq);
	put_be32(p + 4, len);
	memcpy(p + PATTERN_HLEN, ramp + ((seq * 7 + PATTERN_HLEN) & 0xff),
	       len - ETH_HLEN - PATTERN_HLEN);
}

static void echo(struct net_if *ifc, uint8_t *frame, uint32_t len)
{
	uint32_t bad = pattern_check(frame, len);
	uint8_t *out = ifc->tx;

	if (bad != len) {
		if (bad_echoes++ < 5)
			printf("echo: frame of %u bytes differs at byte %u\n", len, bad);
	}
	memcpy(out, frame + 6, 6); /* back to the sender */
	memcpy(out + 6, ifc->mac, 6);
	memcpy(out + 12, frame + 12, len - 12);
	if (net_send(ifc->dev, out, len, NULL) == 0)
		echoes++;
}

/* 0x88b8: payload u32 length, u32 seq: answer with a pattern frame of that length. */
static void generate(struct net_if *ifc, const uint8_t *frame, uint32_t len)
{
	uint32_t want = len >= ETH_HLEN + 8 ? get_be32(frame + ETH_HLEN) : 0;
	uint8_t *out = ifc->tx;

	if (want < ETH_HLEN + PATTERN_HLEN || want > NET_FRAME_MAX)
		return;
	memcpy(out, frame + 6, 6);
	memcpy(out + 6, ifc->mac, 6);
	out[12] = ETH_GEN >> 8;
	out[13] = ETH_GEN & 0xff;
	pattern_fill(out, want, get_be32(frame + ETH_HLEN + 4));
	if (net_send(ifc->dev, out, want, NULL) == 0)
		generated++;
}

static void on_raw(struct net_if *ifc, uint8_t *frame, uint32_t len)
{
	uint16_t type = (uint16_t)(frame[12] << 8 | frame[13]);

	if (type == ETH_ECHO)
		echo(ifc, frame, len);
	else if (type == ETH_GEN)
		generate(ifc, frame, len);
	else if (type == ETH_QUIT)
		quit = true;
}

static bool parse_ip(const char *s, uint32_t *ip)
{
	uint32_t v = 0, part = 0, dots = 0;
	bool digit = false;

	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			part = part * 10 + (uint32_t)(*s - '0');
			digit = true;
			if (part > 255)
				return false;
		} else if ((*s == '.' || !*s) && digit) {
			v = v << 8 | part;
			part = 0;
			digit = false;
			if (!*s)
				break;
			dots++;
		} else {
			return false;
		}
	}
	*ip = v;
	return dots == 3;
}

/* Phase 1: frames sent while the receive queue was empty must all arrive once it is filled. */
static void check_delayed_rx(struct net_dev *n, uint8_t *buf, uint64_t want, uint64_t delay_ms)
{
	static bool seen[1024];
	uint64_t got = 0, end;

	TEST_ASSERT(want <= 1024);
	printf("rx buffers withheld for %llu ms\n", (unsigned long long)delay_ms);
	TEST_ASSERT_MSG(!net_wait(n, (uint32_t)delay_ms), "a frame arrived with no buffer posted");
	net_post_rx(n);
	end = net_now_ms() + 5000;
	while (got < want && net_now_ms() < end) {
		int len;

		net_wait(n, 500);
		while ((len = net_recv(n, buf, NET_FRAME_MAX, NULL)) > 0) {
			uint32_t seq = get_be32(buf + ETH_HLEN);

			if (len < 18 || buf[12] != (ETH_DELAYED >> 8) ||
			    buf[13] != (ETH_DELAYED & 0xff))
				continue; /* not ours */
			TEST_ASSERT_MSG(seq < want && !seen[seq], "delayed frame seq %u", seq);
			seen[seq] = true;
			got++;
		}
	}
	TEST_ASSERT_MSG(got == want, "%llu of %llu delayed frames arrived", (unsigned long long)got,
			(unsigned long long)want);
	printf("rx delay: %llu of %llu frames after buffers were posted: ok\n",
	       (unsigned long long)got, (unsigned long long)want);
}

static void serve(struct net_if *ifc, uint64_t ms)
{
	uint64_t end = net_now_ms() + ms;

	printf("serving at %u.%u.%u.%u\n", ifc->ip >> 24, (ifc->ip >> 16) & 0xff,
	       (ifc->ip >> 8) & 0xff, ifc->ip & 0xff);
	while (!quit && net_now_ms() < end)
		net_poll_wait(ifc, 1000);
	printf("served: %llu ARP replies, %llu ICMP echo replies, %llu echoes (%llu bad), %llu "
	       "generated, %llu dropped; rx %llu frames, tx %llu frames\n",
	       (unsigned long long)ifc->arp_replies, (unsigned long long)ifc->icmp_replies,
	       (unsigned long long)echoes, (unsigned long long)bad_echoes,
	       (unsigned long long)generated, (unsigned long long)ifc->dropped,
	       (unsigned long long)ifc->dev->rx_frames, (unsigned long long)ifc->dev->tx_frames);
	printf("num_buffers != 1 without MRG_RXBUF: %llu frames\n",
	       (unsigned long long)ifc->dev->rx_num_buffers_not_1);
	TEST_ASSERT_MSG(quit, "no quit frame within %llu ms", (unsigned long long)ms);
	TEST_ASSERT_EQ(bad_echoes, 0);
	TEST_ASSERT_EQ(ifc->dev->rx_bad, 0);
}

int guest_main(void)
{
	static struct net_dev n;
	static struct net_if ifc;
	struct net_dev_config cfg = {.vector = VEC_NET};
	uint64_t rx_frames = 0, delay_ms = 3000, serve_ms = DEFAULT_SERVE;
	char ipstr[32];
	uint32_t ip;
	struct vdev *d;

	TEST_ASSERT_MSG(cmdline_get_str("ip", ipstr, sizeof(ipstr)) && parse_ip(ipstr, &ip),
			"ip=A.B.C.D missing");
	cmdline_get_u64("rx_frames", &rx_frames);
	cmdline_get_u64("rx_delay_ms", &delay_ms);
	cmdline_get_u64("serve_ms", &serve_ms);
	if (cmdline_has("offload"))
		cfg.wanted = F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CSUM) |
			     F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |
			     F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
			     F(VIRTIO_NET_F_GUEST_TSO6);
	cfg.defer_rx = rx_frames > 0;
	d = vdev_find(VIRTIO_ID_NET, 0);
	TEST_ASSERT_MSG(d, "no virtio-net device on %s", vdev_transport_name());
	TEST_ASSERT_EQ(net_dev_init(&n, d, &cfg), 0);
	printf("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u features 0x%llx mrg %d rx "
	       "buffers %u x %u\n",
	       n.mac[0], n.mac[1], n.mac[2], n.mac[3], n.mac[4], n.mac[5], n.mtu,
	       (unsigned long long)d->features, n.mrg, n.rx_nbufs, n.rx_buf_len);
	TEST_ASSERT_EQ(net_if_init(&ifc, &n), 0);
	ramp_init();
	net_if_set_addr(&ifc, ip, 0xffffff00u, 0);
	ifc.on_raw = on_raw;
	if (rx_frames)
		check_delayed_rx(&n, ifc.rx, rx_frames, delay_ms);
	serve(&ifc, serve_ms);
	/* The MAC in the config space now (5.1.4): after a restore with a MAC override it is the
	 * new one, while this driver kept the one it read at probe (tests/integration/snapshot/
	 * test_snapshot_net.py). */
	printf(
	    "config mac %02x:%02x:%02x:%02x:%02x:%02x, driver mac %02x:%02x:%02x:%02x:%02x:%02x\n",
	    vdev_config8(d, 0), vdev_config8(d, 1), vdev_config8(d, 2), vdev_config8(d, 3),
	    vdev_config8(d, 4), vdev_config8(d, 5), n.mac[0], n.mac[1], n.mac[2], n.mac[3],
	    n.mac[4], n.mac[5]);
	return 0;
}
