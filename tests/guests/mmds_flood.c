/* A hostile guest against MMDS (issue 28), driven by tests/integration/net/test_mmds_flood.py: MMDS
 * V1 on the guest's only NIC (a tap), guest 192.168.79.2/24, the host 192.168.79.1 with a line-echo
 * server on port= .
 *   1. ARP for 169.254.169.254 gets the MMDS MAC; a GET of /latest/meta-data/ami-id returns want=;
 *   2. a flood of hand-built frames to the MMDS address, each kind bounded and counted:
 *      malformed IPv4, TCP and ARP (none may be answered), valid ARP requests, a SYN flood from
 *      SYN_FLOOD source ports, completed connections that stay idle, send a request larger than
 *      any limit or many pipelined requests (their answers never acknowledged), and segments of
 *      no connection, RST and FIN storms, out-of-window data, challenge-ACK bait, 8000-byte
 *      frames (about 4200 frames in all, counts printed per kind). What MMDS sends back is
 *      counted (the receive ring is drained, never waited on, except for the SYN-ACKs of the
 *      connections it completes);
 *   3. TCP to the host's echo server over the same NIC, then a fresh GET (retried, bounded: the
 *      connection table must make room) returns want= again;
 *   4. it prints "mmds_flood: waiting for the host's PATCH" and GETs until the value is
 *      patched= (the host changes the store over the API meanwhile).
 *
 * With `dhcp` the address comes from DHCP (libslirp: 10.0.2.15) and the echo server is the
 * gateway's (10.0.2.2, the host's loopback through libslirp), once MMDS can sit in front of a
 * libslirp NIC.
 *
 * Command line: port=P want=VALUE patched=VALUE [dhcp] */
#include "guest.h"
#include "net_dev.h"
#include "net_dhcp.h"
#include "net_stack.h"
#include "net_tcp.h"

#include <linux/virtio_ids.h>

#define VEC_NET	 0x52
#define WAIT_MS	 10000u
#define MMDS_IP	 NET_IP(169, 254, 169, 254)
#define GUEST_IP NET_IP(192, 168, 79, 2)
#define HOST_IP	 NET_IP(192, 168, 79, 1)

#define IP_OFF	  ETH_HLEN /* 14 */
#define TCP_OFF	  (IP_OFF + 20)
#define F_FIN	  0x01
#define F_SYN	  0x02
#define F_RST	  0x04
#define F_PSH	  0x08
#define F_ACK	  0x10
#define PROTO_TCP 6

#define MALFORMED_EACH 20   /* frames of each malformed kind */
#define ARP_REQUESTS   200  /* valid ARP requests for the MMDS address */
#define SYN_FLOOD      2000 /* SYNs from as many source ports, never completed */
#define SYN_PORT0      20000
#define IDLE_CONNS     10 /* completed, then silent: MMDS keeps them 60 s */
#define HUGE_CONNS     4  /* completed, then 5000 bytes of headers without an end */
#define PIPE_CONNS     4  /* completed, then 2 segments of pipelined GETs */
#define CONNS	       (IDLE_CONNS + HUGE_CONNS + PIPE_CONNS)
#define CONN_PORT0     30000
#define STRAY_EACH     200 /* segments of each stray kind */
#define STRAY_PORT0    40000
#define GET_PORT0      50000 /* the well-behaved GETs, one port each */
#define DRAIN_EVERY    8     /* frames sent between two drains of the receive ring */
#define JUMBO_EACH     20    /* 8000-byte segments of no connection */
#define JUMBO_DATA     8000
#define FRAME_MAX      (TCP_OFF + 24 + JUMBO_DATA)

static const uint8_t mmds_mac[6] = {0x06, 0x01, 0x23, 0x45, 0x67, 0x01};

/* What MMDS sent back: the guest's receive side of the flood. */
struct rx_counts {
	uint64_t arp, synack, rst, fin, data, data_bytes, ack, other;
};

/* A connection the flood completed: our next sequence number and MMDS's. */
struct conn {
	uint16_t port;
	uint32_t snd_nxt, rcv_nxt;
	bool synack;
};

static struct {
	struct net_dev dev;
	struct net_if ifc;
	uint8_t f[FRAME_MAX]; /* the frame being built */
	uint16_t ip_id;
	uint32_t host; /* the echo server's address */
	uint32_t rng;
	uint64_t sent, sent_bytes;
	struct rx_counts rx;
	struct conn conns[CONNS];
} g;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t rnd(void)
{
	g.rng = g.rng * 1103515245u + 12345u;
	return g.rng >> 8;
}

/* The Internet checksum of p[0..len) on top of `sum`, host order. */
static uint16_t csum(const void *p, uint32_t len, uint32_t sum)
{
	return net_ntohs(net_csum_fold(net_csum_add(sum, p, len)));
}

/* ---- receive: count (and mostly take) what MMDS sends ---- */

static struct conn *conn_of(uint16_t port)
{
	uint32_t i = (uint32_t)port - CONN_PORT0;

	return i < CONNS ? &g.conns[i] : NULL;
}

static void count_tcp(const uint8_t *t, uint32_t len)
{
	uint32_t doff = (t[12] >> 4) * 4u, data = len > doff ? len - doff : 0;
	uint8_t flags = t[13];
	struct conn *c = conn_of(get16(t + 2));

	if ((flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK)) {
		g.rx.synack++;
		if (c && !c->synack) {
			c->rcv_nxt = get32(t + 4) + 1;
			c->synack = true;
		}
	} else if (flags & F_RST) {
		g.rx.rst++;
	} else if (data) {
		g.rx.data++;
		g.rx.data_bytes += data;
	} else if (flags & F_FIN) {
		g.rx.fin++;
	} else {
		g.rx.ack++;
	}
}

/* net_if's on_rx: counts MMDS's frames; takes every TCP segment of MMDS's except those of the
 * runtime's own connection (a well-behaved GET), and lets ARP through (the runtime learns). */
static bool on_rx(struct net_if *ifc, uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + IP_OFF;
	uint32_t hl;

	if (len >= 42 && get16(f + 12) == ETH_P_ARP && get32(f + 28) == MMDS_IP) {
		g.rx.arp++;
		return false;
	}
	if (len < TCP_OFF || get16(f + 12) != ETH_P_IP || get32(ip + 12) != MMDS_IP)
		return false;
	hl = (ip[0] & 15) * 4u;
	if (ip[9] != PROTO_TCP || len < IP_OFF + hl + 20 || get16(ip + 2) < hl + 20) {
		g.rx.other++;
		return true;
	}
	count_tcp(ip + hl, get16(ip + 2) - hl);
	return !(ifc->tcp && get16(ip + hl + 2) == ifc->tcp->lport);
}

/* Handles received frames until none came for quiet_ms (at most max_ms in all). */
static void settle(uint32_t quiet_ms, uint32_t max_ms)
{
	uint64_t end = net_now_ms() + max_ms;

	while (net_poll_wait(&g.ifc, quiet_ms) && net_now_ms() < end)
		;
}

static struct rx_counts rx_since(const struct rx_counts *b)
{
	return (struct rx_counts){g.rx.arp - b->arp,   g.rx.synack - b->synack,
				  g.rx.rst - b->rst,   g.rx.fin - b->fin,
				  g.rx.data - b->data, g.rx.data_bytes - b->data_bytes,
				  g.rx.ack - b->ack,   g.rx.other - b->other};
}

static void print_rx(const char *phase, uint64_t sent, const struct rx_counts *b)
{
	struct rx_counts d = rx_since(b);

	printf("flood %s: sent %llu, back: arp %llu syn-ack %llu rst %llu fin %llu data %llu "
	       "(%llu bytes) ack %llu other %llu\n",
	       phase, (unsigned long long)sent, (unsigned long long)d.arp,
	       (unsigned long long)d.synack, (unsigned long long)d.rst, (unsigned long long)d.fin,
	       (unsigned long long)d.data, (unsigned long long)d.data_bytes,
	       (unsigned long long)d.ack, (unsigned long long)d.other);
}

/* ---- transmit: hand-built frames ---- */

static void send_frame(uint32_t len)
{
	TEST_ASSERT_MSG(net_send(&g.dev, g.f, len, NULL) == 0, "net_send of frame %llu",
			(unsigned long long)g.sent);
	g.sent++;
	g.sent_bytes += len;
	if (g.sent % DRAIN_EVERY == 0)
		net_poll(&g.ifc);
}

/* Ethernet and a 20-byte IPv4 header (checksummed) from us to MMDS, `ip_len` bytes in all;
 * returns the IPv4 header. */
static uint8_t *ip_head(uint8_t proto, uint16_t ip_len)
{
	uint8_t *ip = g.f + IP_OFF;

	memcpy(g.f, mmds_mac, 6);
	memcpy(g.f + 6, g.ifc.mac, 6);
	put16(g.f + 12, ETH_P_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, ip_len);
	put16(ip + 4, g.ip_id++);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, g.ifc.ip);
	put32(ip + 16, MMDS_IP);
	put16(ip + 10, csum(ip, 20, 0));
	return ip;
}

static void ip_recsum(uint8_t *ip)
{
	uint32_t hl = (ip[0] & 15) * 4u;

	put16(ip + 10, 0);
	put16(ip + 10, csum(ip, hl < 20 ? 20 : hl, 0));
}

struct seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t mss; /* 0: no MSS option */
	const void *data;
	uint32_t len;
};

/* A TCP segment to MMDS in g.f, checksummed; returns the frame's length. */
static uint32_t tcp_frame(const struct seg *s)
{
	uint32_t hl = s->mss ? 24 : 20, tlen = hl + s->len;
	uint8_t *t = ip_head(PROTO_TCP, (uint16_t)(20 + tlen)) + 20;

	memset(t, 0, hl);
	put16(t, s->sport);
	put16(t + 2, s->dport ? s->dport : 80);
	put32(t + 4, s->seq);
	put32(t + 8, s->ack);
	t[12] = (uint8_t)(hl / 4 << 4);
	t[13] = s->flags;
	put16(t + 14, 8192);
	if (s->mss) {
		t[20] = 2;
		t[21] = 4;
		put16(t + 22, s->mss);
	}
	if (s->len)
		memcpy(t + hl, s->data, s->len);
	put16(t + 16, csum(t, tlen, net_pseudo_sum(g.ifc.ip, MMDS_IP, PROTO_TCP, (uint16_t)tlen)));
	return TCP_OFF + tlen;
}

static void send_seg(const struct seg *s)
{
	send_frame(tcp_frame(s));
}

/* ---- the well-behaved client ---- */

/* The body of an HTTP response (after the blank line) into body; returns its status code, or
 * -100 when the response is not HTTP. */
static int parse_response(const char *resp, char *body, uint32_t cap)
{
	const char *end = strstr(resp, "\r\n\r\n");
	int status = 0;

	if (strncmp(resp, "HTTP/1.1 ", 9) || !end)
		return -100;
	for (int i = 9; i < 12 && resp[i] >= '0' && resp[i] <= '9'; i++)
		status = status * 10 + (resp[i] - '0');
	snprintf(body, cap, "%s", end + 4);
	return status;
}

/* GET /latest/meta-data/ami-id from local port lport, Connection: close; returns the status
 * code with the body in `body`, or a TCP_ERR_* (the runtime's TCP), or -100. */
static int mmds_get(uint16_t lport, char *body, uint32_t cap, uint32_t timeout_ms)
{
	static struct tcp_conn c;
	static const char req[] = "GET /latest/meta-data/ami-id HTTP/1.1\r\n"
				  "Host: 169.254.169.254\r\nConnection: close\r\n\r\n";
	static char resp[1024];
	uint32_t n = 0;
	int r = tcp_connect(&g.ifc, &c, MMDS_IP, 80, lport, timeout_ms);

	if (!r)
		r = tcp_send(&g.ifc, &c, req, sizeof(req) - 1, timeout_ms);
	while (!r && n < sizeof(resp) - 1) {
		r = tcp_recv(&g.ifc, &c, resp + n, sizeof(resp) - 1 - n, timeout_ms);
		if (r <= 0)
			break;
		n += (uint32_t)r;
		r = 0;
	}
	if (r < 0) {
		g.ifc.tcp = NULL;
		return r;
	}
	resp[n] = 0;
	tcp_close(&g.ifc, &c, timeout_ms);
	g.ifc.tcp = NULL;
	return parse_response(resp, body, cap);
}

static uint16_t get_port = GET_PORT0;

/* GETs until the value is `want` (a 200 with that body), for up to max_ms; returns the
 * attempts it took (0: never). */
static unsigned get_until(const char *want, uint32_t max_ms, int *last, char *body, uint32_t cap)
{
	uint64_t end = net_now_ms() + max_ms;
	unsigned tries = 0;

	do {
		tries++;
		*last = mmds_get(get_port++, body, cap, 3000);
		if (*last == 200 && !strcmp(body, want))
			return tries;
		settle(50, 500);
	} while (net_now_ms() < end);
	return 0;
}

/* ---- the flood ---- */

/* The malformed kinds: each gets MALFORMED_EACH frames, none may be answered. */
enum bad_kind {
	BAD_TRUNCATED,	/* a lone IPv4 header claiming a TCP header after it */
	BAD_IHL_SMALL,	/* IHL 0..4 */
	BAD_IHL_LARGE,	/* IHL 15 in a 40-byte packet */
	BAD_LEN_LONG,	/* total length beyond the frame */
	BAD_LEN_SHORT,	/* total length below the header */
	BAD_VERSION,	/* version 6 in an IPv4 frame */
	BAD_CSUM,	/* header checksum wrong */
	BAD_FRAG_MF,	/* more fragments */
	BAD_FRAG_OFF,	/* a fragment offset */
	BAD_PROTO,	/* UDP, ICMP, everything but TCP */
	BAD_DOFF_SMALL, /* TCP data offset < 5 */
	BAD_DOFF_LARGE, /* TCP data offset past the segment */
	BAD_OPTIONS,	/* TCP options whose lengths are wrong */
	BAD_ARP_HRD,	/* ARP with a wrong hardware type */
	BAD_ARP_LENS,	/* ARP with wrong address lengths */
	BAD_ARP_REPLY,	/* an ARP reply to the MMDS address */
	BAD_KINDS
};

static const char *const bad_names[BAD_KINDS] = {
    "truncated",    "ihl<5",	   "ihl>len",	      "tot_len>frame", "tot_len<ihl", "version 6",
    "bad checksum", "fragment MF", "fragment offset", "not TCP",       "doff<5",      "doff>len",
    "bad options",  "arp hrd",	   "arp lengths",     "arp reply"};

/* An ARP message about the MMDS address in g.f (hrd, hln, pln, op as given); its length. */
static uint32_t arp_frame(uint16_t hrd, uint8_t hln, uint8_t pln, uint16_t op)
{
	uint8_t *a = g.f + ETH_HLEN;

	memset(g.f, 0xff, 6);
	memcpy(g.f + 6, g.ifc.mac, 6);
	put16(g.f + 12, ETH_P_ARP);
	put16(a, hrd);
	put16(a + 2, ETH_P_IP);
	a[4] = hln;
	a[5] = pln;
	put16(a + 6, op);
	memcpy(a + 8, g.ifc.mac, 6);
	put32(a + 14, g.ifc.ip);
	memset(a + 18, 0, 6);
	put32(a + 24, MMDS_IP);
	return ETH_HLEN + 28;
}

/* A SYN with bad TCP options (i picks which): an MSS of length 0, one past the header, a
 * length-1 option. */
static uint32_t bad_options(unsigned i)
{
	uint32_t len =
	    tcp_frame(&(struct seg){.sport = 1000 + (uint16_t)i, .flags = F_SYN, .mss = 1460});
	uint8_t *t = g.f + TCP_OFF;
	static const uint8_t opt[3][2] = {{2, 0}, {2, 40}, {8, 1}};

	t[20] = opt[i % 3][0];
	t[21] = opt[i % 3][1];
	return len;
}

/* One frame of kind k (variant i) in g.f; its length. */
static uint32_t bad_frame(enum bad_kind k, unsigned i)
{
	static const uint8_t protos[] = {1, 17, 0, 47, 50, 58, 132, 255};
	struct seg syn = {.sport = (uint16_t)(1000 + i), .seq = rnd(), .flags = F_SYN};
	uint32_t len = tcp_frame(&syn);
	uint8_t *ip = g.f + IP_OFF, *t = g.f + TCP_OFF;

	switch (k) {
	case BAD_TRUNCATED:
		return TCP_OFF; /* tot_len still says 40 */
	case BAD_IHL_SMALL:
		ip[0] = (uint8_t)(0x40 | (i % 5));
		break;
	case BAD_IHL_LARGE:
		ip[0] = 0x4f;
		break;
	case BAD_LEN_LONG:
		put16(ip + 2, (uint16_t)(41 + i * 50));
		break;
	case BAD_LEN_SHORT:
		put16(ip + 2, (uint16_t)(i % 20));
		break;
	case BAD_VERSION:
		ip[0] = 0x65;
		break;
	case BAD_CSUM:
		put16(ip + 10, (uint16_t)(get16(ip + 10) ^ (1u << (i % 16))));
		return len;
	case BAD_FRAG_MF:
		put16(ip + 6, 0x2000);
		break;
	case BAD_FRAG_OFF:
		put16(ip + 6, (uint16_t)(1 + i));
		break;
	case BAD_PROTO:
		ip[9] = protos[i % sizeof(protos)];
		break;
	case BAD_DOFF_SMALL:
		t[12] = (uint8_t)((i % 5) << 4);
		return len; /* the IPv4 header is fine */
	case BAD_DOFF_LARGE:
		t[12] = 0xf0;
		return len;
	case BAD_OPTIONS:
		return bad_options(i);
	case BAD_ARP_HRD:
		return arp_frame((uint16_t)(6 + i), 6, 4, 1);
	case BAD_ARP_LENS:
		return arp_frame(1, (uint8_t)(i % 6), (uint8_t)(16 + i), 1);
	case BAD_ARP_REPLY:
		return arp_frame(1, 6, 4, 2);
	case BAD_KINDS:
		break;
	}
	ip_recsum(ip);
	return len;
}

static void flood_malformed(void)
{
	struct rx_counts b = g.rx;
	uint64_t sent = g.sent;
	struct rx_counts d;

	for (unsigned k = 0; k < BAD_KINDS; k++)
		for (unsigned i = 0; i < MALFORMED_EACH; i++)
			send_frame(bad_frame((enum bad_kind)k, i));
	settle(100, 2000);
	print_rx("malformed", g.sent - sent, &b);
	d = rx_since(&b);
	TEST_ASSERT_MSG(!d.arp && !d.synack && !d.rst && !d.data && !d.ack && !d.other,
			"MMDS answered malformed frames");
	printf("flood malformed: %u kinds x %u (", BAD_KINDS, MALFORMED_EACH);
	for (unsigned k = 0; k < BAD_KINDS; k++)
		printf("%s%s", k ? ", " : "", bad_names[k]);
	printf("), none answered: ok\n");
}

static void flood_arp(void)
{
	struct rx_counts b = g.rx;

	for (unsigned i = 0; i < ARP_REQUESTS; i++)
		send_frame(arp_frame(1, 6, 4, 1));
	settle(100, 2000);
	print_rx("arp requests", ARP_REQUESTS, &b);
	TEST_ASSERT_MSG(g.rx.arp > b.arp && g.rx.arp - b.arp <= ARP_REQUESTS, "ARP replies: %llu",
			(unsigned long long)(g.rx.arp - b.arp));
}

static void flood_syn(void)
{
	static const uint16_t mss[4] = {0, 1460, 1, 65535};
	struct rx_counts b = g.rx;
	uint64_t t0 = net_now_ms();

	for (unsigned i = 0; i < SYN_FLOOD; i++)
		send_seg(&(struct seg){.sport = (uint16_t)(SYN_PORT0 + i),
				       .seq = rnd(),
				       .flags = F_SYN,
				       .mss = mss[i % 4]});
	settle(100, 2000);
	print_rx("syn", SYN_FLOOD, &b);
	printf("flood syn: %u SYNs from ports %u-%u in %llu ms\n", SYN_FLOOD, SYN_PORT0,
	       SYN_PORT0 + SYN_FLOOD - 1, (unsigned long long)(net_now_ms() - t0));
	TEST_ASSERT_MSG(g.rx.synack > b.synack, "no SYN-ACK to the SYN flood");
}

/* Opens connection i (SYN, MMDS's SYN-ACK, ACK). */
static void conn_open(unsigned i)
{
	struct conn *c = &g.conns[i];
	uint64_t end;

	*c = (struct conn){.port = (uint16_t)(CONN_PORT0 + i), .snd_nxt = rnd()};
	send_seg(&(struct seg){.sport = c->port, .seq = c->snd_nxt, .flags = F_SYN, .mss = 1460});
	c->snd_nxt++;
	end = net_now_ms() + 2000;
	while (!c->synack && net_now_ms() < end)
		net_poll_wait(&g.ifc, 50);
	TEST_ASSERT_MSG(c->synack, "no SYN-ACK for connection %u (port %u)", i, c->port);
	send_seg(
	    &(struct seg){.sport = c->port, .seq = c->snd_nxt, .ack = c->rcv_nxt, .flags = F_ACK});
}

/* Data on connection c, never acknowledging what MMDS sends. */
static void conn_data(struct conn *c, const void *data, uint32_t len)
{
	send_seg(&(struct seg){.sport = c->port,
			       .seq = c->snd_nxt,
			       .ack = c->rcv_nxt,
			       .flags = F_ACK | F_PSH,
			       .data = data,
			       .len = len});
	c->snd_nxt += len;
}

/* 5000 bytes of header lines that never end: more than MMDS's 4096-byte request buffer. */
static void send_huge(struct conn *c)
{
	static char seg[1000];

	for (unsigned k = 0; k < 5; k++) {
		memset(seg, 'a', sizeof(seg));
		if (k == 0)
			memcpy(seg, "GET /latest/meta-data/ami-id HTTP/1.1\r\n", 39);
		memcpy(seg + sizeof(seg) - 13, "\r\nX-Pad-123: ", 13);
		conn_data(c, seg, sizeof(seg));
	}
}

/* 2 segments of 25 pipelined GETs each. */
static void send_pipelined(struct conn *c)
{
	static const char one[] = "GET /latest/meta-data/ami-id HTTP/1.1\r\nHost: a\r\n\r\n";
	static char seg[25 * (sizeof(one) - 1)];

	for (unsigned k = 0; k < 25; k++)
		memcpy(seg + k * (sizeof(one) - 1), one, sizeof(one) - 1);
	conn_data(c, seg, sizeof(seg));
	conn_data(c, seg, sizeof(seg));
}

static void flood_conns(void)
{
	struct rx_counts b = g.rx;
	uint64_t sent = g.sent;

	for (unsigned i = 0; i < CONNS; i++) {
		conn_open(i);
		if (i >= IDLE_CONNS + HUGE_CONNS)
			send_pipelined(&g.conns[i]);
		else if (i >= IDLE_CONNS)
			send_huge(&g.conns[i]);
	}
	settle(100, 2000);
	print_rx("connections", g.sent - sent, &b);
	printf("flood connections: %u idle, %u with 5000 header bytes, %u with 50 pipelined GETs, "
	       "MMDS's data never acknowledged\n",
	       IDLE_CONNS, HUGE_CONNS, PIPE_CONNS);
}

/* A stray segment of kind k (variant i): of no connection (ACK, RST, FIN), or to an idle
 * connection (a RST or data out of its window, an ACK of data never sent, a SYN). */
static struct seg stray(unsigned k, unsigned i)
{
	struct conn *c = &g.conns[i % IDLE_CONNS];
	struct seg s = {.sport = (uint16_t)(STRAY_PORT0 + i), .seq = rnd(), .ack = rnd()};
	static const char junk[] = "out of window";
	static char jumbo[JUMBO_DATA];

	switch (k) {
	case 0:
		s.flags = F_ACK;
		break;
	case 1:
		s.flags = F_RST;
		break;
	case 2:
		s.flags = F_FIN | F_ACK;
		break;
	case 3:
		/* not the sequence number MMDS expects: ignored */
		s = (struct seg){.sport = c->port, .seq = c->snd_nxt + 100 + i, .flags = F_RST};
		break;
	case 4:
		s = (struct seg){.sport = c->port,
				 .seq = c->snd_nxt + 100000 + i,
				 .ack = c->rcv_nxt,
				 .flags = F_ACK,
				 .data = junk,
				 .len = sizeof(junk) - 1};
		break;
	case 5:
		s = (struct seg){.sport = c->port,
				 .seq = c->snd_nxt,
				 .ack = c->rcv_nxt + 100000,
				 .flags = F_ACK};
		break;
	case 6:
		s = (struct seg){.sport = c->port, .seq = rnd(), .flags = F_SYN};
		break;
	case 7:
		s.flags = F_SYN;
		s.dport = 81;
		break;
	default:
		s.flags = F_ACK | F_PSH;
		s.data = jumbo;
		s.len = sizeof(jumbo);
		break;
	}
	return s;
}

#define STRAY_KINDS 9
static const char *const stray_names[STRAY_KINDS] = {
    "ack of no connection", "rst of no connection", "fin of no connection",
    "rst off sequence",	    "data out of window",   "ack of unsent data",
    "syn on open",	    "syn to port 81",	    "jumbo of no connection"};

static void flood_stray(void)
{
	for (unsigned k = 0; k < STRAY_KINDS; k++) {
		struct rx_counts b = g.rx;

		unsigned n = k == STRAY_KINDS - 1 ? JUMBO_EACH : STRAY_EACH;

		for (unsigned i = 0; i < n; i++) {
			struct seg s = stray(k, i);

			send_seg(&s);
		}
		settle(50, 1000);
		print_rx(stray_names[k], n, &b);
	}
}

/* ---- after the flood ---- */

static void check_echo(uint16_t port)
{
	static struct tcp_conn c;
	static const char msg[] = "hello from the flooding guest\n";
	char line[128];
	uint32_t n = 0;
	uint64_t t0 = net_now_ms();
	int r = tcp_connect(&g.ifc, &c, g.host, port, 45000, WAIT_MS);

	TEST_ASSERT_MSG(r == 0, "connect to the host's echo server: %d", r);
	TEST_ASSERT_EQ(tcp_send(&g.ifc, &c, msg, sizeof(msg) - 1, WAIT_MS), 0);
	while (n < sizeof(line) - 1 && (n == 0 || line[n - 1] != '\n')) {
		r = tcp_recv(&g.ifc, &c, line + n, sizeof(line) - 1 - n, WAIT_MS);
		TEST_ASSERT_MSG(r > 0, "echo: tcp_recv %d after %u bytes", r, n);
		n += (uint32_t)r;
	}
	line[n] = 0;
	TEST_ASSERT_MSG(!strcmp(line, "echo: hello from the flooding guest\n"), "echo: \"%s\"",
			line);
	TEST_ASSERT_EQ(tcp_close(&g.ifc, &c, WAIT_MS), 0);
	g.ifc.tcp = NULL;
	printf("other traffic: tcp to %u.%u.%u.%u:%u echoed in %llu ms: ok\n", g.host >> 24,
	       (g.host >> 16) & 0xff, (g.host >> 8) & 0xff, g.host & 0xff, port,
	       (unsigned long long)(net_now_ms() - t0));
}

static void check_get(const char *phase, const char *want, uint32_t max_ms)
{
	char body[256] = "";
	int last = 0;
	uint64_t t0 = net_now_ms();
	unsigned tries = get_until(want, max_ms, &last, body, sizeof(body));

	TEST_ASSERT_MSG(tries, "%s: no GET returned %s in %u ms (last: %d \"%s\")", phase, want,
			max_ms, last, last >= 100 ? body : "");
	printf("mmds %s: GET /latest/meta-data/ami-id -> 200 %s after %u tries, %llu ms: ok\n",
	       phase, body, tries, (unsigned long long)(net_now_ms() - t0));
}

static void setup(void)
{
	struct net_dev_config cfg = {.vector = VEC_NET};
	struct vdev *d = vdev_find(VIRTIO_ID_NET, 0);
	uint8_t mac[6];

	TEST_ASSERT_MSG(d, "no virtio-net device on %s", vdev_transport_name());
	TEST_ASSERT_EQ(net_dev_init(&g.dev, d, &cfg), 0);
	TEST_ASSERT_EQ(net_if_init(&g.ifc, &g.dev), 0);
	if (cmdline_has("dhcp")) { /* libslirp: the echo server is the gateway, 10.0.2.2 */
		uint32_t server;

		TEST_ASSERT_MSG(net_dhcp(&g.ifc, WAIT_MS, &server) == 0, "no DHCP lease");
		printf("dhcp: %u.%u.%u.%u\n", g.ifc.ip >> 24, (g.ifc.ip >> 16) & 0xff,
		       (g.ifc.ip >> 8) & 0xff, g.ifc.ip & 0xff);
	} else {
		net_if_set_addr(&g.ifc, GUEST_IP, NET_IP(255, 255, 255, 0), HOST_IP);
	}
	g.host = g.ifc.gw;
	g.ifc.on_rx = on_rx;
	g.rng = (uint32_t)clock_ticks(); /* platform.h: the TSC, arm64's virtual counter */
	TEST_ASSERT_MSG(net_arp_resolve(&g.ifc, MMDS_IP, mac, WAIT_MS), "no ARP answer for MMDS");
	TEST_ASSERT_MSG(!memcmp(mac, mmds_mac, 6), "MMDS MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0],
			mac[1], mac[2], mac[3], mac[4], mac[5]);
	printf("mmds arp: 169.254.169.254 is at 06:01:23:45:67:01: ok\n");
}

int guest_main(void)
{
	char want[64], patched[64];
	uint64_t port = 0, t0;

	TEST_ASSERT_MSG(cmdline_get_u64("port", &port) && port && port < 65536, "port=P missing");
	TEST_ASSERT_MSG(cmdline_get_str("want", want, sizeof(want)), "want=VALUE missing");
	TEST_ASSERT_MSG(cmdline_get_str("patched", patched, sizeof(patched)),
			"patched=VALUE missing");
	setup();
	check_get("before", want, 20000); /* retried: a store PUT after the start is fine too */
	t0 = net_now_ms();
	flood_malformed();
	flood_arp();
	flood_syn();
	flood_conns();
	flood_stray();
	printf("flood: %llu frames (%llu bytes) in %llu ms\n", (unsigned long long)g.sent,
	       (unsigned long long)g.sent_bytes, (unsigned long long)(net_now_ms() - t0));
	check_echo((uint16_t)port);
	check_get("after the flood", want, 30000);
	printf("mmds_flood: waiting for the host's PATCH\n");
	check_get("patched", patched, 30000);
	check_echo((uint16_t)port);
	printf("rx %llu frames, tx %llu frames, %llu dropped\n",
	       (unsigned long long)g.dev.rx_frames, (unsigned long long)g.dev.tx_frames,
	       (unsigned long long)g.ifc.dropped);
	printf("mmds_flood: pass\n");
	return 0;
}
