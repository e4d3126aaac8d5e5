/* The guest's side of MMDS (vmm/mmds/mmds_stack.c, mmds_tcp.c, packet.c) driven with
 * hand-built frames on a fake clock: which frames are MMDS's, ARP, the TCP handshake, a GET and
 * its response, the V2 token flow over TCP, window and MSS, retransmission and giving up, RST
 * of unknown connections, the connection bound under a SYN flood, FIN handling, an oversized
 * request, and malformed frames (taken, never answered). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmds/mmds_stack.h"
#include "vmm/mmds/packet_test.h"

#define GUEST_IP 0x0a000002u /* 10.0.0.2 */

static const uint8_t guest_mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
static const uint8_t mmds_mac[6] = MMDS_MAC;
static struct mmds m;
static struct mmds_stack *st;
static uint64_t now = 5000;
static uint32_t rnd_state = 1;

static void fake_random(void *opaque, uint8_t *buf, size_t n)
{
	(void)opaque;
	for (size_t i = 0; i < n; i++) {
		rnd_state = rnd_state * 1103515245u + 12345u;
		buf[i] = (uint8_t)(rnd_state >> 16);
	}
}

static void setup(void)
{
	cr_assert_eq(mmds_init(&m, MMDS_DEFAULT_SIZE_LIMIT), 0);
	json_t *doc = json_loads("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\"}}}", 0, NULL);
	cr_assert_eq(mmds_put(&m, doc), 0);
	json_decref(doc);
	st = mmds_stack_new(&m, MMDS_DEFAULT_IPV4, fake_random, NULL);
	cr_assert(st);
}

static void teardown(void)
{
	mmds_stack_free(st);
	mmds_destroy(&m);
}

TestSuite(mmds_stack, .init = setup, .fini = teardown);

/* ---- the guest's side of a connection ---- */

struct peer {
	uint16_t port;
	uint32_t seq; /* next to send */
	uint32_t ack; /* next expected from MMDS */
	uint16_t window, mss;
};

/* Sends a segment from the guest; returns whether MMDS took the frame. */
static bool send_seg(struct peer *p, uint8_t flags, const char *data, uint16_t dport)
{
	uint8_t frame[2048];
	size_t n = data ? strlen(data) : 0;
	struct tcp_out o = {.src_mac = guest_mac,
			    .dst_mac = mmds_mac,
			    .src_ip = GUEST_IP,
			    .dst_ip = MMDS_DEFAULT_IPV4,
			    .src_port = p->port,
			    .dst_port = dport,
			    .seq = p->seq,
			    .ack = p->ack,
			    .flags = flags,
			    .window = p->window,
			    .mss = (flags & PKT_SYN) ? p->mss : 0,
			    .payload = (const uint8_t *)data,
			    .len = n};
	size_t len = tcp_write(frame, &o);
	p->seq += (uint32_t)n + !!(flags & PKT_SYN) + !!(flags & PKT_FIN);
	return mmds_stack_rx(st, frame, len, now);
}

static uint8_t out[2048];

/* The next frame MMDS sends, parsed as TCP; false when there is none. */
static bool recv_seg(struct tcp_seg *seg)
{
	size_t n = mmds_stack_tx(st, out, sizeof(out), now);
	if (!n)
		return false;
	cr_assert_eq(get_be16(out + 12), PKT_ETHERTYPE_IPV4);
	cr_assert_eq(ipv4_parse(out, n, seg), IPV4_TCP, "MMDS sent a bad frame");
	cr_assert_eq(memcmp(out, guest_mac, 6), 0);
	cr_assert_eq(memcmp(out + 6, mmds_mac, 6), 0);
	cr_assert_eq(seg->src_ip, MMDS_DEFAULT_IPV4);
	cr_assert_eq(seg->dst_ip, GUEST_IP);
	/* the TCP checksum over the pseudo-header must come out 0 */
	const uint8_t *ip = out + PKT_ETH_HLEN;
	size_t tlen = get_be16(ip + 2) - PKT_IPV4_HLEN;
	uint32_t sum = inet_sum(ip + 12, 8, PKT_IPPROTO_TCP + (uint32_t)tlen);
	cr_assert_eq(inet_fold(inet_sum(ip + PKT_IPV4_HLEN, tlen, sum)), 0, "TCP checksum");
	return true;
}

static struct peer connect_peer(uint16_t port)
{
	struct peer p = {.port = port, .seq = 1000, .window = 65535, .mss = 1460};
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.flags, PKT_SYN | PKT_ACK);
	cr_assert_eq(seg.ack, 1001);
	cr_assert_eq(seg.mss, MMDS_MSS);
	cr_assert_eq(seg.src_port, 80);
	cr_assert_eq(seg.dst_port, port);
	p.ack = seg.seq + 1;
	cr_assert(send_seg(&p, PKT_ACK, NULL, 80));
	cr_assert_not(recv_seg(&seg), "nothing to say after the handshake");
	return p;
}

/* Reads MMDS's segments, ACKing each, until the response (or FIN) is complete; returns the
 * bytes received in resp. */
static size_t read_response(struct peer *p, char *resp, size_t cap, bool *fin)
{
	struct tcp_seg seg;
	size_t got = 0;
	*fin = false;
	while (recv_seg(&seg)) {
		cr_assert_eq(seg.seq, p->ack, "in order");
		cr_assert(seg.flags & PKT_ACK);
		cr_assert_lt(got + seg.len, cap);
		memcpy(resp + got, seg.payload, seg.len);
		got += seg.len;
		p->ack += (uint32_t)seg.len;
		if (seg.flags & PKT_FIN) {
			p->ack++;
			*fin = true;
		}
		if (seg.len || (seg.flags & PKT_FIN))
			cr_assert(send_seg(p, PKT_ACK, NULL, 80));
	}
	resp[got] = '\0';
	return got;
}

static void request(struct peer *p, const char *req, char *resp, size_t cap)
{
	bool fin;
	cr_assert(send_seg(p, PKT_ACK | PKT_PSH, req, 80));
	read_response(p, resp, cap, &fin);
	cr_assert_not(fin);
}

/* ---- which frames are MMDS's ---- */

Test(mmds_stack, other_traffic_is_not_mine)
{
	uint8_t f[64] = {0};
	memcpy(f, mmds_mac, 6);
	put_be16(f + 12, 0x86dd); /* IPv6 */
	cr_assert_not(mmds_stack_rx(st, f, sizeof(f), now));
	put_be16(f + 12, PKT_ETHERTYPE_IPV4);
	put_be32(f + 30, 0x0a000001); /* to another address */
	cr_assert_not(mmds_stack_rx(st, f, sizeof(f), now));
	put_be16(f + 12, PKT_ETHERTYPE_ARP);
	put_be32(f + 38, 0x0a000001);
	cr_assert_not(mmds_stack_rx(st, f, sizeof(f), now));
	put_be32(f + 30, MMDS_DEFAULT_IPV4);
	cr_assert_not(mmds_stack_rx(st, f, 33, now)); /* too short to tell */
	cr_assert_not(mmds_stack_rx(st, f, 0, now));
	cr_assert_eq(mmds_stack_tx(st, out, sizeof(out), now), 0);
}

Test(mmds_stack, arp_request_answered)
{
	uint8_t f[60] = {0}, *a = f + PKT_ETH_HLEN;
	struct arp_msg q = {.op = 1, .spa = GUEST_IP, .tpa = MMDS_DEFAULT_IPV4};
	memcpy(q.sha, guest_mac, 6);
	arp_write(f, (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, &q);
	cr_assert(mmds_stack_rx(st, f, sizeof(f), now));
	size_t n = mmds_stack_tx(st, out, sizeof(out), now);
	cr_assert_eq(n, PKT_ETH_HLEN + PKT_ARP_LEN);
	struct arp_msg r;
	cr_assert(arp_parse(out, n, &r));
	cr_assert_eq(r.op, 2);
	cr_assert_eq(memcmp(r.sha, mmds_mac, 6), 0);
	cr_assert_eq(r.spa, MMDS_DEFAULT_IPV4);
	cr_assert_eq(memcmp(r.tha, guest_mac, 6), 0);
	cr_assert_eq(r.tpa, GUEST_IP);
	cr_assert_eq(memcmp(out, guest_mac, 6), 0);
	cr_assert_eq(mmds_stack_tx(st, out, sizeof(out), now), 0);
	/* an ARP reply to the MMDS address, or a malformed ARP: taken, not answered */
	put_be16(a + 6, 2);
	cr_assert(mmds_stack_rx(st, f, sizeof(f), now));
	put_be16(a + 6, 1);
	a[4] = 8;
	cr_assert(mmds_stack_rx(st, f, sizeof(f), now));
	cr_assert_eq(mmds_stack_tx(st, out, sizeof(out), now), 0);
}

/* ---- TCP and HTTP ---- */

Test(mmds_stack, handshake_get_and_close)
{
	char resp[4096];
	struct peer p = connect_peer(40000);
	request(&p, "GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	cr_assert(strstr(resp, "HTTP/1.1 200 OK\r\n"), "%s", resp);
	cr_assert(strstr(resp, "\r\n\r\nami-1"), "%s", resp);
	/* keep-alive: a second request on the same connection */
	request(&p, "GET /latest HTTP/1.1\r\nAccept: application/json\r\n\r\n", resp, sizeof(resp));
	cr_assert(strstr(resp, "\r\n\r\n{\"meta-data\":{\"ami-id\":\"ami-1\"}}"), "%s", resp);
	/* the guest closes: MMDS ACKs and sends its FIN; the last ACK frees the slot */
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_FIN | PKT_ACK, NULL, 80));
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.flags, PKT_FIN | PKT_ACK);
	cr_assert_eq(seg.ack, p.seq);
	p.ack++;
	cr_assert(send_seg(&p, PKT_ACK, NULL, 80));
	cr_assert_not(recv_seg(&seg));
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		cr_assert_eq(st->conns[i].state, CONN_FREE);
}

Test(mmds_stack, connection_close_header_closes_after_response)
{
	char resp[4096];
	bool fin;
	struct peer p = connect_peer(40001);
	cr_assert(send_seg(&p, PKT_ACK, "GET /latest HTTP/1.1\r\nConnection: close\r\n\r\n", 80));
	read_response(&p, resp, sizeof(resp), &fin);
	cr_assert(fin);
	cr_assert(strstr(resp, "meta-data/"));
	cr_assert(send_seg(&p, PKT_FIN | PKT_ACK, NULL, 80));
	struct tcp_seg seg;
	cr_assert(recv_seg(&seg)); /* the ACK of the guest's FIN, queued as the slot went */
	cr_assert_eq(seg.flags, PKT_ACK);
	cr_assert_eq(seg.ack, p.seq);
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		cr_assert_eq(st->conns[i].state, CONN_FREE);
}

Test(mmds_stack, v2_token_over_tcp)
{
	struct mmds_config c;
	mmds_config_default(&c);
	c.version = MMDS_V2;
	mmds_set_config(&m, &c);
	char resp[4096], req[512];
	struct peer p = connect_peer(40002);
	request(&p, "GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	cr_assert(strstr(resp, "HTTP/1.1 401 "), "%s", resp);
	request(&p, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 10\r\n\r\n",
		resp, sizeof(resp));
	cr_assert(strstr(resp, "HTTP/1.1 200 "), "%s", resp);
	const char *tok = strstr(resp, "\r\n\r\n") + 4;
	cr_assert_eq(strlen(tok), MMDS_TOKEN_LEN);
	snprintf(req, sizeof(req),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	request(&p, req, resp, sizeof(resp));
	cr_assert(strstr(resp, "HTTP/1.1 200 "), "%s", resp);
	cr_assert(strstr(resp, "\r\n\r\nami-1"), "%s", resp);
}

Test(mmds_stack, request_split_over_segments)
{
	char resp[4096];
	struct peer p = connect_peer(40003);
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_ACK, "GET /latest/meta-data/ami-id HT", 80));
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.len, 0); /* a bare ACK */
	cr_assert_eq(seg.ack, p.seq);
	cr_assert_eq(seg.window, MMDS_RX_BUF - 31);
	request(&p, "TP/1.1\r\n\r\n", resp, sizeof(resp));
	cr_assert(strstr(resp, "ami-1"), "%s", resp);
}

Test(mmds_stack, out_of_order_and_duplicate_data)
{
	char resp[4096];
	struct peer p = connect_peer(40004);
	struct tcp_seg seg;
	struct peer ahead = p;
	ahead.seq += 5;
	cr_assert(send_seg(&ahead, PKT_ACK, "xxxxx", 80)); /* a gap before it: dropped */
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.ack, p.seq, "a duplicate ACK of what is in order");
	struct peer dup = p;
	cr_assert(send_seg(&dup, PKT_ACK, "GET /lat", 80));
	cr_assert(recv_seg(&seg));
	/* a retransmission of those bytes plus new ones: only the new ones are taken */
	request(&p, "GET /latest HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	cr_assert(strstr(resp, "meta-data/"), "%s", resp);
}

Test(mmds_stack, response_respects_window_and_mss)
{
	/* a value big enough for several segments */
	char *big = malloc(6001);
	memset(big, 'b', 6000);
	big[6000] = '\0';
	json_t *doc = json_pack("{s:s}", "big", big);
	cr_assert_eq(mmds_put(&m, doc), 0);
	json_decref(doc);

	struct peer p = {.port = 40005, .seq = 1, .window = 1000, .mss = 700};
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	cr_assert(recv_seg(&seg));
	p.ack = seg.seq + 1;
	cr_assert(send_seg(&p, PKT_ACK, "GET /big HTTP/1.1\r\n\r\n", 80));
	size_t total = 0;
	for (int round = 0; round < 40; round++) {
		size_t flight = 0;
		while (recv_seg(&seg)) {
			cr_assert_leq(seg.len, 700, "MSS");
			flight += seg.len;
			cr_assert_leq(flight, 1000, "window");
		}
		if (!flight)
			break;
		total += flight;
		p.ack += (uint32_t)flight;
		cr_assert(send_seg(&p, PKT_ACK, NULL, 80));
	}
	cr_assert_gt(total, 6000);
	free(big);
}

Test(mmds_stack, zero_window_is_probed_on_the_timer)
{
	struct peer p = connect_peer(40006);
	struct tcp_seg seg;
	p.window = 0;
	cr_assert(send_seg(&p, PKT_ACK, "GET /latest HTTP/1.1\r\n\r\n", 80));
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.len, 0, "only the ACK: the window is closed");
	cr_assert_not(recv_seg(&seg));
	uint64_t d = mmds_stack_deadline(st);
	cr_assert_neq(d, UINT64_MAX, "a persist timer is armed");
	now = d;
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.len, 1, "a one-byte probe");
	p.window = 65535;
	p.ack += 1;
	cr_assert(send_seg(&p, PKT_ACK, NULL, 80));
	cr_assert(recv_seg(&seg));
	cr_assert_gt(seg.len, 1);
}

Test(mmds_stack, lost_segments_are_retransmitted_then_given_up)
{
	struct peer p = connect_peer(40007);
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_ACK, "GET /latest HTTP/1.1\r\n\r\n", 80));
	cr_assert(recv_seg(&seg));
	uint32_t first_seq = seg.seq;
	size_t first_len = seg.len;
	cr_assert_gt(first_len, 0);
	cr_assert_not(recv_seg(&seg), "nothing more before the timer");
	uint64_t prev = now;
	for (int i = 1; i <= MMDS_MAX_RETRIES; i++) {
		uint64_t d = mmds_stack_deadline(st);
		cr_assert_gt(d, now);
		cr_assert_geq(d - prev, (uint64_t)MMDS_RTO_MS, "backoff");
		now = d;
		prev = d;
		cr_assert(recv_seg(&seg), "retransmission %d", i);
		cr_assert_eq(seg.seq, first_seq);
		cr_assert_eq(seg.len, first_len);
	}
	now = mmds_stack_deadline(st);
	cr_assert_not(recv_seg(&seg) && !(seg.flags & PKT_RST));
	cr_assert(recv_seg(&seg));
	cr_assert(seg.flags & PKT_RST, "gave up with a reset");
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		cr_assert_eq(st->conns[i].state, CONN_FREE);
}

Test(mmds_stack, syn_ack_retransmitted_and_duplicate_syn)
{
	struct peer p = {.port = 40008, .seq = 77, .window = 65535};
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	cr_assert(recv_seg(&seg));
	uint32_t iss = seg.seq;
	cr_assert_eq(seg.flags, PKT_SYN | PKT_ACK);
	now = mmds_stack_deadline(st);
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.flags, PKT_SYN | PKT_ACK);
	cr_assert_eq(seg.seq, iss);
	p.seq = 77; /* the guest's SYN again */
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.flags, PKT_SYN | PKT_ACK);
	cr_assert_eq(seg.seq, iss);
	cr_assert_eq(seg.mss, MMDS_MSS);
}

Test(mmds_stack, unknown_connections_are_reset)
{
	struct peer p = {.port = 40009, .seq = 500, .ack = 12345, .window = 100};
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_ACK, "data", 80));
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.flags, PKT_RST);
	cr_assert_eq(seg.seq, 12345);
	struct peer q = {.port = 40010, .seq = 900, .window = 100};
	cr_assert(send_seg(&q, PKT_SYN, NULL, 81)); /* a closed port */
	cr_assert(recv_seg(&seg));
	cr_assert_eq(seg.flags, PKT_RST | PKT_ACK);
	cr_assert_eq(seg.ack, 901);
	cr_assert_eq(seg.src_port, 81);
	cr_assert(send_seg(&q, PKT_RST, NULL, 80)); /* a RST is never answered */
	cr_assert_not(recv_seg(&seg));
}

Test(mmds_stack, rst_closes_only_in_sequence)
{
	struct peer p = connect_peer(40011);
	struct peer wrong = p;
	wrong.seq += 1000;
	cr_assert(send_seg(&wrong, PKT_RST, NULL, 80));
	int used = 0;
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		used += st->conns[i].state != CONN_FREE;
	cr_assert_eq(used, 1);
	cr_assert(send_seg(&p, PKT_RST, NULL, 80));
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		cr_assert_eq(st->conns[i].state, CONN_FREE);
}

Test(mmds_stack, syn_flood_is_bounded_and_spares_open_connections)
{
	char resp[4096];
	struct peer open = connect_peer(1);
	struct tcp_seg seg;
	for (int i = 0; i < 500; i++) {
		struct peer f = {.port = (uint16_t)(2000 + i), .seq = 1, .window = 100};
		cr_assert(send_seg(&f, PKT_SYN, NULL, 80));
		now++;
	}
	int used = 0;
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		used += st->conns[i].state != CONN_FREE;
	cr_assert_eq(used, MMDS_MAX_CONNS);
	size_t frames = 0;
	while (recv_seg(&seg))
		frames++;
	cr_assert_leq(frames, MMDS_MAX_CONNS + MMDS_MAX_PENDING);
	request(&open, "GET /latest HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	cr_assert(strstr(resp, "meta-data/"), "the open connection still works: %s", resp);
}

Test(mmds_stack, full_table_of_open_connections_resets_new_syn)
{
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		connect_peer((uint16_t)(100 + i));
	struct peer p = {.port = 999, .seq = 1, .window = 100};
	struct tcp_seg seg;
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	cr_assert(recv_seg(&seg));
	cr_assert(seg.flags & PKT_RST);
	now += MMDS_IDLE_MS; /* now the idle ones may be evicted */
	p.seq = 1;
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	bool synack = false;
	while (recv_seg(&seg))
		synack |= seg.flags == (PKT_SYN | PKT_ACK) && seg.dst_port == 999;
	cr_assert(synack);
}

Test(mmds_stack, oversized_request_gets_400_and_fin)
{
	struct peer p = connect_peer(40012);
	char chunk[1001];
	memset(chunk, 'a', 1000);
	chunk[1000] = '\0';
	struct tcp_seg seg;
	for (int i = 0; i < 5; i++) {
		cr_assert(send_seg(&p, PKT_ACK, chunk, 80));
		while (recv_seg(&seg)) {
			if (seg.len) {
				cr_assert(!strncmp((const char *)seg.payload, "HTTP/1.1 400", 12));
				p.ack += (uint32_t)seg.len;
			}
			if (seg.flags & PKT_FIN) {
				p.ack++;
				return;
			}
		}
		cr_assert(send_seg(&p, PKT_ACK, NULL, 80));
	}
	cr_assert(send_seg(&p, PKT_ACK, NULL, 80));
	bool fin = false;
	while (recv_seg(&seg))
		fin |= seg.flags & PKT_FIN;
	cr_assert(fin, "the connection is closed after the 400");
}

/* ---- malformed frames: MMDS's (to its address) but never answered ---- */

static size_t good_frame(uint8_t *f)
{
	struct tcp_out o = {.src_mac = guest_mac,
			    .dst_mac = mmds_mac,
			    .src_ip = GUEST_IP,
			    .dst_ip = MMDS_DEFAULT_IPV4,
			    .src_port = 5555,
			    .dst_port = 80,
			    .seq = 1,
			    .flags = PKT_SYN,
			    .window = 100};
	return tcp_write(f, &o);
}

Test(mmds_stack, malformed_frames_are_taken_silently)
{
	uint8_t f[128];
	size_t n = good_frame(f);

	/* truncated at every length */
	for (size_t len = PKT_ETH_HLEN + PKT_IPV4_HLEN; len < n; len++) {
		cr_assert(mmds_stack_rx(st, f, len, now));
		cr_assert_eq(mmds_stack_tx(st, out, sizeof(out), now), 0, "length %zu", len);
	}
	uint8_t g[128];
	memcpy(g, f, n);
	g[PKT_ETH_HLEN + 10] ^= 1; /* IPv4 header checksum */
	cr_assert(mmds_stack_rx(st, g, n, now));
	memcpy(g, f, n);
	put_be16(g + PKT_ETH_HLEN + 2, 200); /* total length beyond the frame */
	cr_assert(mmds_stack_rx(st, g, n, now));
	memcpy(g, f, n);
	g[PKT_ETH_HLEN] = 0x44; /* IHL 16 bytes */
	cr_assert(mmds_stack_rx(st, g, n, now));
	memcpy(g, f, n);
	g[PKT_ETH_HLEN + 6] = 0x20; /* more fragments */
	g[PKT_ETH_HLEN + 10] = g[PKT_ETH_HLEN + 11] = 0;
	put_be16(g + PKT_ETH_HLEN + 10, inet_fold(inet_sum(g + PKT_ETH_HLEN, 20, 0)));
	cr_assert(mmds_stack_rx(st, g, n, now));
	memcpy(g, f, n);
	g[PKT_ETH_HLEN + PKT_IPV4_HLEN + 12] = 0xf0; /* data offset 60 > segment */
	cr_assert(mmds_stack_rx(st, g, n, now));
	memcpy(g, f, n);
	g[PKT_ETH_HLEN + 9] = 17; /* UDP to the MMDS address */
	g[PKT_ETH_HLEN + 10] = g[PKT_ETH_HLEN + 11] = 0;
	put_be16(g + PKT_ETH_HLEN + 10, inet_fold(inet_sum(g + PKT_ETH_HLEN, 20, 0)));
	cr_assert(mmds_stack_rx(st, g, n, now));
	cr_assert_eq(mmds_stack_tx(st, out, sizeof(out), now), 0);
}

Test(mmds_stack, bad_tcp_options_are_dropped)
{
	uint8_t f[128];
	struct tcp_out o = {.src_mac = guest_mac,
			    .dst_mac = mmds_mac,
			    .src_ip = GUEST_IP,
			    .dst_ip = MMDS_DEFAULT_IPV4,
			    .src_port = 5556,
			    .dst_port = 80,
			    .seq = 1,
			    .flags = PKT_SYN,
			    .window = 100,
			    .mss = 1000};
	size_t n = tcp_write(f, &o);
	uint8_t *t = f + PKT_ETH_HLEN + PKT_IPV4_HLEN;
	t[21] = 9; /* an option longer than the header */
	cr_assert(mmds_stack_rx(st, f, n, now));
	t[21] = 0; /* an option of length 0 */
	cr_assert(mmds_stack_rx(st, f, n, now));
	cr_assert_eq(mmds_stack_tx(st, out, sizeof(out), now), 0);
}

Test(mmds_stack, tiny_guest_buffers_get_nothing)
{
	struct peer p = {.port = 40013, .seq = 1, .window = 100};
	cr_assert(send_seg(&p, PKT_SYN, NULL, 80));
	cr_assert_eq(mmds_stack_tx(st, out, MMDS_MIN_FRAME_CAP - 1, now), 0);
	cr_assert_gt(mmds_stack_tx(st, out, MMDS_MIN_FRAME_CAP, now), 0);
}
