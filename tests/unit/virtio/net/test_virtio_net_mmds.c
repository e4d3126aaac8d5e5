/* MMDS on a virtio-net interface (virtio/net/mmds_filter.c) with the net fixture's mock driver
 * and loopback backend: frames the guest transmits to the MMDS address never reach the backend
 * and MMDS's answers arrive in the guest's receive queue (ARP, a TCP handshake and a GET, with
 * and without vnet headers and batched receive); every other frame, both ways, passes as
 * before. */
#include <poll.h>

#include "tests/unit/virtio/net/virtio_net_fixture.h"
#include "virtio/net/mmds_filter.h"
#include "vmm/mmds/mmds_stack.h"
#include "vmm/mmds/packet_test.h"

#define GUEST_IP 0x0a000002u

static struct mmds m;
static struct net_backend *inner; /* the loopback behind the filter */
static const uint8_t mmds_mac[6] = MMDS_MAC;
static uint64_t posted; /* the guest address of the posted receive buffer, 0: none */

static void create_mmds(bool vnet_hdr, bool batch)
{
	cr_assert_eq(mmds_init(&m, MMDS_DEFAULT_SIZE_LIMIT), 0);
	json_t *doc = json_loads("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-7\"}}}", 0, NULL);
	cr_assert_eq(mmds_put(&m, doc), 0);
	json_decref(doc);
	cr_assert_eq(net_loopback_create(&inner, vnet_hdr, vnet_hdr ? ALL_CAPS : 0), 0);
	if (batch)
		cr_assert_eq(net_loopback_set_batch(inner, true), 0);
	struct net_backend *b = inner;
	cr_assert_eq(net_mmds_wrap(&b, &m, MMDS_DEFAULT_IPV4), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, &b, 1, MAC), 0);
	attach();
	driver_up(vnet_hdr ? OFFLOAD_FEAT : FEAT);
}

static void fini(void)
{
	posted = 0;
	teardown();
	mmds_destroy(&m);
}

TestSuite(virtio_net_mmds, .fini = fini);

static void transmit(const uint8_t *f, size_t len)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	cr_assert_geq(add_tx(&h, f, (uint32_t)len), 0);
	kick(VIRTIO_NET_TXQ);
}

/* The next frame the guest receives, into one receive buffer kept posted until used: its
 * length, the frame in *out; 0 when none came. */
static size_t receive(const uint8_t **out)
{
	uint32_t id, len;
	if (!posted) {
		posted = rx_buf(2048);
		cr_assert_geq(add_rx(posted, 2048), 0);
	}
	rx_ready();
	if (used(RXV, &id, &len) != 1)
		return 0;
	cr_assert_geq(len, HDR);
	*out = mock_ram_host(&ram, posted + HDR);
	posted = 0;
	return len - HDR;
}

static size_t arp_request(uint8_t *f)
{
	struct arp_msg q = {.op = 1, .spa = GUEST_IP, .tpa = MMDS_DEFAULT_IPV4};
	memcpy(q.sha, MAC, 6);
	memset(f, 0, 60); /* padded to Ethernet's minimum */
	arp_write(f, (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, &q);
	return 60;
}

static size_t tcp_frame(uint8_t *f, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	struct tcp_out o = {.src_mac = MAC,
			    .dst_mac = mmds_mac,
			    .src_ip = GUEST_IP,
			    .dst_ip = MMDS_DEFAULT_IPV4,
			    .src_port = 33000,
			    .dst_port = 80,
			    .seq = seq,
			    .ack = ack,
			    .flags = flags,
			    .window = 65535,
			    .payload = (const uint8_t *)data,
			    .len = data ? strlen(data) : 0};
	return tcp_write(f, &o);
}

static void arp_answered(void)
{
	uint8_t f[64];
	const uint8_t *r;
	struct arp_msg msg;
	transmit(f, arp_request(f));
	cr_assert_eq(net_loopback_sent_count(inner), 0, "the ARP request stayed in the VMM");
	size_t n = receive(&r);
	cr_assert_eq(n, PKT_ETH_HLEN + PKT_ARP_LEN);
	cr_assert(arp_parse(r, n, &msg));
	cr_assert_eq(msg.op, 2);
	cr_assert_eq(memcmp(msg.sha, mmds_mac, 6), 0);
	cr_assert_eq(msg.tpa, GUEST_IP);
}

/* A handshake and a GET; returns the response text (static). */
static const char *http_get(const char *path)
{
	static char resp[4096];
	uint8_t f[1600];
	const uint8_t *r;
	struct tcp_seg seg;
	char req[256];

	transmit(f, tcp_frame(f, 100, 0, PKT_SYN, NULL));
	size_t n = receive(&r);
	cr_assert_gt(n, 0);
	cr_assert_eq(ipv4_parse(r, n, &seg), IPV4_TCP);
	cr_assert_eq(seg.flags, PKT_SYN | PKT_ACK);
	uint32_t ack = seg.seq + 1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", path);
	transmit(f, tcp_frame(f, 101, ack, PKT_ACK, req));
	size_t got = 0;
	while ((n = receive(&r))) {
		cr_assert_eq(ipv4_parse(r, n, &seg), IPV4_TCP);
		memcpy(resp + got, seg.payload, seg.len);
		got += seg.len;
	}
	resp[got] = '\0';
	cr_assert_eq(net_loopback_sent_count(inner), 0, "nothing reached the backend");
	return resp;
}

Test(virtio_net_mmds, arp_and_get_without_vnet_header)
{
	create_mmds(false, false);
	arp_answered();
	const char *resp = http_get("/latest/meta-data/ami-id");
	cr_assert(strstr(resp, "HTTP/1.1 200 OK"), "%s", resp);
	cr_assert(strstr(resp, "\r\n\r\nami-7"), "%s", resp);
}

Test(virtio_net_mmds, arp_and_get_with_vnet_header_and_batches)
{
	create_mmds(true, true);
	arp_answered();
	const char *resp = http_get("/latest/meta-data");
	cr_assert(strstr(resp, "\r\n\r\nami-id"), "%s", resp);
}

Test(virtio_net_mmds, other_frames_pass_both_ways)
{
	const uint8_t *r;
	create_mmds(false, false);
	transmit(make_frame(60, 3), 60); /* IPv4 to another address */
	cr_assert_eq(net_loopback_sent_count(inner), 1);
	size_t len;
	const uint8_t *sent = net_loopback_sent(inner, 0, &len);
	cr_assert_eq(len, 60);
	cr_assert_arr_eq(sent, make_frame(60, 3), 60);
	cr_assert_eq(net_loopback_inject(inner, make_frame(80, 5), 80), 0);
	cr_assert_eq(receive(&r), 80);
	cr_assert_arr_eq(r, make_frame(80, 5), 80);
	cr_assert_eq(receive(&r), 0);
}

Test(virtio_net_mmds, mmds_answers_come_before_backend_frames)
{
	uint8_t f[64];
	const uint8_t *r;
	create_mmds(false, false);
	cr_assert_eq(net_loopback_inject(inner, make_frame(70, 1), 70), 0);
	transmit(f, arp_request(f));
	cr_assert_eq(receive(&r), PKT_ETH_HLEN + PKT_ARP_LEN);
	cr_assert_eq(receive(&r), 70);
}

Test(virtio_net_mmds, malformed_frames_to_mmds_are_dropped)
{
	uint8_t f[1600];
	const uint8_t *r;
	create_mmds(false, false);
	size_t n = tcp_frame(f, 1, 0, PKT_SYN, NULL);
	f[PKT_ETH_HLEN + 10] ^= 0xff; /* IPv4 header checksum */
	transmit(f, n);
	cr_assert_eq(net_loopback_sent_count(inner), 0);
	cr_assert_eq(receive(&r), 0);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, timeout_ms) == 1;
}

Test(virtio_net_mmds, rx_fd_wakes_the_device_for_mmds_only_when_needed)
{
	uint8_t f[64];
	const uint8_t *r;
	create_mmds(false, false);
	cr_assert_not(readable(be->rx_fd, 0), "idle");
	transmit(f, arp_request(f));
	cr_assert(readable(be->rx_fd, 1000), "MMDS has a frame: the epoll set is readable");
	cr_assert_eq(receive(&r), PKT_ETH_HLEN + PKT_ARP_LEN);
	cr_assert_eq(receive(&r), 0);
	cr_assert_not(readable(be->rx_fd, 50), "drained, no timer: idle again");
	cr_assert_eq(net_loopback_inject(inner, make_frame(70, 1), 70), 0);
	cr_assert(readable(be->rx_fd, 1000), "the backend's frames still wake it");
}

Test(virtio_net_mmds, retransmission_timer_wakes_the_device)
{
	uint8_t f[128];
	const uint8_t *r;
	create_mmds(false, false);
	transmit(f, tcp_frame(f, 100, 0, PKT_SYN, NULL));
	cr_assert_gt(receive(&r), 0); /* the SYN-ACK, which the guest never ACKs */
	cr_assert_eq(receive(&r), 0);
	cr_assert(readable(be->rx_fd, 5 * MMDS_RTO_MS), "the retransmission timer fires");
	struct tcp_seg seg;
	size_t n = receive(&r);
	cr_assert_gt(n, 0);
	cr_assert_eq(ipv4_parse(r, n, &seg), IPV4_TCP, "n %zu type %x", n, get_be16(r + 12));
	cr_assert_eq(seg.flags, PKT_SYN | PKT_ACK);
}
