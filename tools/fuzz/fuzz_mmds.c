/* libFuzzer target: the guest's side of MMDS (vmm/mmds/mmds_stack.c, mmds_tcp.c,
 * mmds_http.c, packet.c), fed guest frames as a guest would transmit them. Input: a configuration
 * byte (V1/V2, imds_compat), then operations: a raw frame (for the parsers), a TCP segment built
 * with valid checksums from fuzzed fields and sequence numbers near what MMDS last sent (so
 * mutations reach the TCP and HTTP state machines), an ARP request, draining MMDS's output into a
 * buffer of fuzzed size, and the clock moving on. Invariants: every frame MMDS sends fits the
 * buffer and parses back (ARP, or IPv4/TCP with a correct header checksum); the connection table,
 * request buffers and control queue stay within their bounds; each connection's snd_una <= snd_nxt
 * <= snd_max. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "vmm/mmds/mmds_stack.h"
#include "vmm/mmds/mmds_state.h"
#include "vmm/mmds/packet_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS	 512
#define GUEST_IP 0x0a000002u

static const uint8_t guest_mac[6] = {0x52, 0x54, 0, 0, 0, 1};
static const uint8_t mmds_mac[6] = MMDS_MAC;

static uint32_t last_seq; /* the sequence number after MMDS's last segment */

static void fake_random(void *opaque, uint8_t *buf, size_t n)
{
	(void)opaque;
	memset(buf, 0x5a, n);
}

static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static void check(const struct mmds_stack *s)
{
	FZ_ASSERT(s->pend_count <= MMDS_MAX_PENDING, "%zu control frames queued", s->pend_count);
	for (size_t i = 0; i < MMDS_MAX_CONNS; i++) {
		const struct mmds_conn *c = &s->conns[i];
		if (c->state == CONN_FREE)
			continue;
		FZ_ASSERT(c->rx_len <= MMDS_RX_BUF, "request buffer %zu", c->rx_len);
		FZ_ASSERT(seq_diff(c->snd_nxt, c->snd_una) >= 0 &&
			      seq_diff(c->snd_max, c->snd_nxt) >= 0,
			  "una %u nxt %u max %u", c->snd_una, c->snd_nxt, c->snd_max);
	}
}

static void check_out(const uint8_t *f, size_t n, size_t cap)
{
	struct tcp_seg seg;
	struct arp_msg arp;
	FZ_ASSERT(n <= cap, "frame of %zu bytes in a buffer of %zu", n, cap);
	if (get_be16(f + 12) == PKT_ETHERTYPE_ARP) {
		FZ_ASSERT(arp_parse(f, n, &arp) && arp.op == 2, "bad ARP reply");
		return;
	}
	FZ_ASSERT(ipv4_parse(f, n, &seg) == IPV4_TCP, "MMDS sent a frame it cannot parse");
	FZ_ASSERT(seg.src_ip == MMDS_DEFAULT_IPV4 && seg.dst_ip == GUEST_IP, "addresses");
	last_seq = seg.seq + (uint32_t)seg.len + !!(seg.flags & (PKT_SYN | PKT_FIN));
}

static void drain(struct fz_in *in, struct mmds_stack *s, uint64_t now)
{
	uint8_t buf[2048];
	size_t cap = MMDS_MIN_FRAME_CAP - 2 + fz_u16(in) % (sizeof(buf) - MMDS_MIN_FRAME_CAP);
	for (size_t n; (n = mmds_stack_tx(s, buf, cap, now));)
		check_out(buf, n, cap);
}

static void segment(struct fz_in *in, struct mmds_stack *s, uint64_t now)
{
	uint8_t frame[2048], payload[1500];
	/* fields read one by one: an initializer list's order of evaluation is unspecified */
	uint8_t sel = fz_u8(in);
	size_t len = fz_bytes(in, payload, fz_u16(in) % sizeof(payload));
	uint16_t dport = sel & 0x80 ? fz_u16(in) : 80;
	uint32_t seq = fz_u32(in);
	uint32_t ack = last_seq + (uint32_t)(int8_t)fz_u8(in);
	uint8_t flags = fz_u8(in) & 0x3f;
	uint16_t window = fz_u16(in);
	uint16_t mss = fz_u16(in);
	struct tcp_out o = {.src_mac = guest_mac,
			    .dst_mac = mmds_mac,
			    .src_ip = GUEST_IP,
			    .dst_ip = MMDS_DEFAULT_IPV4,
			    /* a few connections, or up to 64: past the table's 30 */
			    .src_port = (uint16_t)(40000 + (sel & 0x40 ? sel % 64 : sel % 4)),
			    .dst_port = dport,
			    .seq = seq,
			    .ack = ack,
			    .flags = flags,
			    .window = window,
			    .mss = flags & PKT_SYN ? mss : 0,
			    .payload = payload,
			    .len = len};
	mmds_stack_rx(s, frame, tcp_write(frame, &o), now);
}

static void arp_request(struct mmds_stack *s, uint64_t now)
{
	uint8_t f[PKT_ETH_HLEN + PKT_ARP_LEN];
	struct arp_msg q = {.op = 1, .spa = GUEST_IP, .tpa = MMDS_DEFAULT_IPV4};
	memcpy(q.sha, guest_mac, 6);
	mmds_stack_rx(
	    s, f, arp_write(f, (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, &q), now);
}

static void raw_frame(struct fz_in *in, struct mmds_stack *s, uint64_t now)
{
	uint8_t frame[2048];
	size_t len = fz_bytes(in, frame, fz_u16(in) % sizeof(frame));
	if (len >= PKT_ETH_HLEN + PKT_IPV4_HLEN && fz_u8(in) & 1) /* aim it at MMDS */
		put_be32(frame + PKT_ETH_HLEN + 16, MMDS_DEFAULT_IPV4);
	mmds_stack_rx(s, frame, len, now);
}

/* A snapshot's MMDS state (vmm/mmds/mmds_state.h): the input's bytes as the state
 * (untrusted: refused or taken whole), or the instance's own state saved and loaded back, which
 * must give the same configuration and document. */
static void state_op(struct fz_in *in, struct mmds *m)
{
	char text[1024];
	char err[256];

	if (fz_u8(in) & 1) {
		size_t len = fz_bytes(in, (uint8_t *)text, fz_u16(in) % sizeof(text));
		json_t *j = json_loadb(text, len, JSON_DECODE_ANY, NULL);
		if (j && mmds_state_load(m, j, err, sizeof(err)))
			FZ_ASSERT(err[0], "a refused state without a message");
		json_decref(j);
		return;
	}
	struct mmds_config before, after;
	bool had = mmds_get_config(m, &before);
	json_t *doc = mmds_get(m), *state = mmds_state_save(m);
	if (!doc || !state)
		abort();
	FZ_ASSERT(mmds_state_load(m, state, err, sizeof(err)) == 0, "own state refused: %s", err);
	json_t *back = mmds_get(m);
	FZ_ASSERT(json_equal(doc, back), "the document changed in a save and load");
	FZ_ASSERT(mmds_get_config(m, &after) == had, "configured changed");
	FZ_ASSERT(!had || (after.version == before.version && after.ipv4 == before.ipv4 &&
			   after.nifaces == before.nifaces),
		  "the configuration changed in a save and load");
	json_decref(back);
	json_decref(state);
	json_decref(doc);
}

static void configure(struct mmds *m, uint8_t b)
{
	struct mmds_config c;
	mmds_config_default(&c);
	c.version = b & 1 ? MMDS_V2 : MMDS_V1;
	c.imds_compat = b & 2;
	c.nifaces = 1; /* as PUT /mmds/config makes it: at least one interface */
	snprintf(c.ifaces[0], sizeof(c.ifaces[0]), "eth0");
	mmds_set_config(m, &c);
	json_t *doc = json_loads("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"n\":[1,{}]},"
				 "\"user-data\":\"x\"}}",
				 0, NULL);
	if (!doc || mmds_put(m, doc))
		abort();
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct mmds m;
	uint64_t now = 1000;

	if (mmds_init(&m, MMDS_DEFAULT_SIZE_LIMIT))
		abort();
	configure(&m, fz_u8(&in));
	struct mmds_stack *s = mmds_stack_new(&m, MMDS_DEFAULT_IPV4, fake_random, NULL);
	if (!s)
		abort();
	last_seq = 0x5a5a5a5a;
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&in); ops++) {
		switch (fz_u8(&in) % 7) {
		case 0:
			raw_frame(&in, s, now);
			break;
		case 1:
		case 2:
			segment(&in, s, now);
			break;
		case 3:
			arp_request(s, now);
			break;
		case 4:
			drain(&in, s, now);
			break;
		case 5:
			state_op(&in, &m);
			break;
		default: /* the clock moves on, sometimes to the next timer */
			if (fz_u8(&in) & 1 && mmds_stack_deadline(s) != UINT64_MAX)
				now = mmds_stack_deadline(s) > now ? mmds_stack_deadline(s) : now;
			else
				now += fz_u16(&in) * 16u; /* up to ~17 minutes */
			break;
		}
		check(s);
	}
	drain(&in, s, now);
	mmds_stack_free(s);
	mmds_destroy(&m);
	return 0;
}
