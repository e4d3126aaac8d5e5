/* The TCP of MMDS. See mmds_tcp.h. */
#include "vmm/mmds/mmds_tcp.h"

#include <stdlib.h>
#include <string.h>

#include "vmm/mmds/mmds_http.h"
#include "vmm/mmds/mmds_stack.h"

/* Sequence number comparisons modulo 2^32 (RFC 9293 section 3.4). */
static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void conn_free(struct mmds_conn *c)
{
	free(c->tx);
	c->tx = NULL;
	c->state = CONN_FREE;
}

void mmds_tcp_reset_all(struct mmds_stack *s)
{
	for (size_t i = 0; i < MMDS_MAX_CONNS; i++)
		conn_free(&s->conns[i]);
}

/* A segment from the MMDS address to (mac, ip, port). */
static struct tcp_out out_to(struct mmds_stack *s, const uint8_t *mac, uint32_t ip, uint16_t port)
{
	return (struct tcp_out){.src_mac = s->mac,
				.dst_mac = mac,
				.src_ip = s->ipv4,
				.dst_ip = ip,
				.src_port = MMDS_TCP_PORT,
				.dst_port = port,
				.ip_id = s->ip_id++};
}

static void queue_segment(struct mmds_stack *s, const struct tcp_out *o)
{
	uint8_t frame[PKT_TCP_FRAME_HLEN];
	mmds_stack_queue(s, frame, tcp_write(frame, o));
}

/* RST for a segment that belongs to no connection (RFC 9293 section 3.10.7.1). */
static void reset_reply(struct mmds_stack *s, const struct tcp_seg *seg)
{
	struct tcp_out o = out_to(s, seg->src_mac, seg->src_ip, seg->src_port);
	o.src_port = seg->dst_port;
	if (seg->flags & PKT_ACK) {
		o.seq = seg->ack;
		o.flags = PKT_RST;
	} else {
		o.ack = seg->seq + (uint32_t)seg->len + !!(seg->flags & PKT_SYN) +
			!!(seg->flags & PKT_FIN);
		o.flags = PKT_RST | PKT_ACK;
	}
	queue_segment(s, &o);
}

/* Aborts a connection: RST to the peer, the slot freed. */
static void conn_reset(struct mmds_stack *s, struct mmds_conn *c)
{
	struct tcp_out o = out_to(s, c->mac, c->ip, c->port);
	o.seq = c->snd_nxt;
	o.ack = c->rcv_nxt;
	o.flags = PKT_RST | PKT_ACK;
	queue_segment(s, &o);
	conn_free(c);
}

static struct mmds_conn *conn_find(struct mmds_stack *s, const struct tcp_seg *seg)
{
	for (size_t i = 0; i < MMDS_MAX_CONNS; i++) {
		struct mmds_conn *c = &s->conns[i];
		if (c->state != CONN_FREE && c->ip == seg->src_ip && c->port == seg->src_port &&
		    seg->dst_port == MMDS_TCP_PORT)
			return c;
	}
	return NULL;
}

/* A slot for a new connection: a free one, else the oldest half-open one, else the oldest
 * connection idle for MMDS_IDLE_MS (reset), else NULL. */
static struct mmds_conn *conn_slot(struct mmds_stack *s, uint64_t now)
{
	struct mmds_conn *half = NULL, *idle = NULL;
	for (size_t i = 0; i < MMDS_MAX_CONNS; i++) {
		struct mmds_conn *c = &s->conns[i];
		if (c->state == CONN_FREE)
			return c;
		if (c->state == CONN_SYN_RCVD && (!half || c->last_seen < half->last_seen))
			half = c;
		if (now - c->last_seen >= MMDS_IDLE_MS && (!idle || c->last_seen < idle->last_seen))
			idle = c;
	}
	if (half)
		conn_free(half);
	else if (idle)
		conn_reset(s, idle);
	return half ? half : idle;
}

static void conn_open(struct mmds_stack *s, const struct tcp_seg *seg, uint64_t now)
{
	struct mmds_conn *c = conn_slot(s, now);
	uint32_t iss;
	if (!c) {
		reset_reply(s, seg);
		return;
	}
	s->random(s->opaque, (uint8_t *)&iss, sizeof(iss));
	*c = (struct mmds_conn){.state = CONN_SYN_RCVD,
				.ip = seg->src_ip,
				.port = seg->src_port,
				.iss = iss,
				.snd_una = iss,
				.snd_nxt = iss,
				.snd_max = iss,
				.stream_end = iss + 1,
				.rcv_nxt = seg->seq + 1,
				.peer_wnd = seg->window,
				.mss = seg->mss ? seg->mss : MMDS_MSS_DEFAULT,
				.last_seen = now};
	memcpy(c->mac, seg->src_mac, 6);
	if (c->mss > MMDS_MSS)
		c->mss = MMDS_MSS;
	if (c->mss < 64)
		c->mss = 64;
}

/* The ACK field of a segment (RFC 9293 section 3.10.7.4). False: drop the segment. */
static bool ack_in(struct mmds_stack *s, struct mmds_conn *c, const struct tcp_seg *seg,
		   uint64_t now)
{
	if (seq_gt(seg->ack, c->snd_max)) {
		c->need_ack = true; /* acknowledges something not yet sent */
		return false;
	}
	if (c->state == CONN_SYN_RCVD) {
		if (seg->ack != c->iss + 1) {
			reset_reply(s, seg);
			return false;
		}
		c->state = CONN_OPEN;
	}
	if (seq_gt(seg->ack, c->snd_una)) {
		c->snd_una = seg->ack;
		c->retries = 0;
		c->probe = false;
		if (seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->rto_at = c->snd_una == c->snd_max ? 0 : now + MMDS_RTO_MS;
		if (c->tx && !seq_lt(c->snd_una, c->tx_seq + (uint32_t)c->tx_len)) {
			free(c->tx);
			c->tx = NULL;
		}
	}
	c->peer_wnd = seg->window;
	return true;
}

/* In-order data and FIN into the request buffer; anything else is re-ACKed and dropped. */
static void data_in(struct mmds_conn *c, const struct tcp_seg *seg)
{
	const uint8_t *p = seg->payload;
	size_t n = seg->len;
	bool fin = seg->flags & PKT_FIN;

	if (!n && !fin)
		return;
	c->need_ack = true;
	if (seq_lt(seg->seq, c->rcv_nxt)) { /* a retransmission, maybe with new bytes */
		size_t old = c->rcv_nxt - seg->seq;
		if (old > n)
			return;
		p += old;
		n -= old;
	} else if (seg->seq != c->rcv_nxt) {
		return; /* out of order */
	}
	if (c->peer_fin)
		return;
	size_t take = min_sz(n, MMDS_RX_BUF - c->rx_len);
	memcpy(c->rx + c->rx_len, p, take);
	c->rx_len += take;
	c->rcv_nxt += (uint32_t)take;
	if (fin && take == n) {
		c->rcv_nxt++;
		c->peer_fin = true;
	}
}

/* Serves the buffered requests, one response at a time; queues our FIN when the exchange is
 * over, and frees the connection once both FINs are acknowledged. */
static void advance(struct mmds_stack *s, struct mmds_conn *c, uint64_t now)
{
	struct mmds_http_env env = {s->mmds, now, s->random, s->opaque};
	struct mmds_http_reply rep;

	while (!c->tx && !c->fin_queued && c->rx_len) {
		bool full = c->rx_len == MMDS_RX_BUF || c->peer_fin;
		size_t used = mmds_http_serve(&env, (const char *)c->rx, c->rx_len, full, &rep);
		if (!used)
			break;
		memmove(c->rx, c->rx + used, c->rx_len - used);
		c->rx_len -= used;
		if (!rep.data) {
			conn_reset(s, c);
			return;
		}
		c->tx = rep.data;
		c->tx_len = rep.len;
		c->tx_seq = c->stream_end;
		c->stream_end += (uint32_t)rep.len;
		c->fin_queued = rep.close;
	}
	if (c->peer_fin && !c->tx && !c->rx_len)
		c->fin_queued = true;
	if (c->fin_queued && c->peer_fin && c->snd_una == c->stream_end + 1) {
		if (c->need_ack) { /* the ACK of their FIN, which nothing else will carry now */
			struct tcp_out o = out_to(s, c->mac, c->ip, c->port);
			o.seq = c->snd_nxt;
			o.ack = c->rcv_nxt;
			o.flags = PKT_ACK;
			queue_segment(s, &o);
		}
		conn_free(c);
	}
}

void mmds_tcp_input(struct mmds_stack *s, const struct tcp_seg *seg, uint64_t now_ms)
{
	struct mmds_conn *c = conn_find(s, seg);
	if (!c) {
		if (seg->flags & PKT_RST)
			return;
		if ((seg->flags & (PKT_SYN | PKT_ACK | PKT_FIN)) == PKT_SYN &&
		    seg->dst_port == MMDS_TCP_PORT)
			conn_open(s, seg, now_ms);
		else
			reset_reply(s, seg);
		return;
	}
	c->last_seen = now_ms;
	if (seg->flags & PKT_RST) {
		/* RFC 5961 3.2, simplified: only a RST at the expected sequence number closes */
		if (seg->seq == c->rcv_nxt)
			conn_free(c);
		return;
	}
	if (seg->flags & PKT_SYN) {
		if (c->state == CONN_SYN_RCVD && seg->seq + 1 == c->rcv_nxt)
			c->snd_nxt = c->iss; /* their SYN again: our SYN-ACK again */
		else
			c->need_ack = true; /* RFC 5961 4.2: a challenge ACK */
		return;
	}
	if (!(seg->flags & PKT_ACK) || !ack_in(s, c, seg, now_ms))
		return;
	data_in(c, seg);
	advance(s, c, now_ms);
}

static uint64_t rto(const struct mmds_conn *c)
{
	return (uint64_t)MMDS_RTO_MS << (c->retries < 6 ? c->retries : 6);
}

/* The retransmission timer: go back to the first unacknowledged byte, or give up. False when
 * the connection was reset. */
static bool timer(struct mmds_stack *s, struct mmds_conn *c, uint64_t now)
{
	if (!c->rto_at || now < c->rto_at)
		return true;
	if (++c->retries > MMDS_MAX_RETRIES) {
		conn_reset(s, c);
		return false;
	}
	c->snd_nxt = c->snd_una;
	c->probe = true;
	c->rto_at = 0;
	return true;
}

/* Sends one segment of c at snd_nxt: SYN-ACK, data, FIN, or a bare ACK. */
static size_t send_seg(struct mmds_stack *s, struct mmds_conn *c, uint8_t *buf, uint8_t flags,
		       const char *data, size_t n, uint64_t now)
{
	struct tcp_out o = out_to(s, c->mac, c->ip, c->port);
	o.seq = c->snd_nxt;
	o.ack = c->rcv_nxt;
	o.flags = flags | PKT_ACK;
	o.window = (uint16_t)(MMDS_RX_BUF - c->rx_len);
	o.payload = (const uint8_t *)data;
	o.len = n;
	if (flags & PKT_SYN)
		o.mss = MMDS_MSS;
	uint32_t used = (uint32_t)n + !!(flags & (PKT_SYN | PKT_FIN));
	c->snd_nxt += used;
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	if (used && !c->rto_at)
		c->rto_at = now + rto(c);
	c->need_ack = false;
	return tcp_write(buf, &o);
}

static size_t conn_output(struct mmds_stack *s, struct mmds_conn *c, uint8_t *buf, size_t cap,
			  uint64_t now)
{
	if (!timer(s, c, now))
		return 0;
	if (c->state == CONN_SYN_RCVD)
		return c->snd_nxt == c->iss ? send_seg(s, c, buf, PKT_SYN, NULL, 0, now) : 0;
	if (seq_lt(c->snd_nxt, c->stream_end)) {
		uint32_t flight = c->snd_nxt - c->snd_una;
		size_t win = c->peer_wnd > flight ? c->peer_wnd - flight : 0;
		if (!win && c->probe)
			win = 1; /* a zero-window probe, on the timer */
		size_t left = c->stream_end - c->snd_nxt;
		size_t n = min_sz(min_sz(left, win), min_sz(c->mss, cap - PKT_TCP_FRAME_HLEN));
		if (n) {
			c->probe = false;
			const char *data = c->tx + (c->snd_nxt - c->tx_seq);
			return send_seg(s, c, buf, n == left ? PKT_PSH : 0, data, n, now);
		}
		if (!c->rto_at)
			c->rto_at = now + rto(c); /* persist: probe a zero window later */
	} else if (c->fin_queued && c->snd_nxt == c->stream_end) {
		return send_seg(s, c, buf, PKT_FIN, NULL, 0, now);
	}
	return c->need_ack ? send_seg(s, c, buf, 0, NULL, 0, now) : 0;
}

size_t mmds_tcp_output(struct mmds_stack *s, uint8_t *buf, size_t cap, uint64_t now_ms)
{
	for (size_t k = 0; k < MMDS_MAX_CONNS; k++) {
		size_t i = (s->cursor + k) % MMDS_MAX_CONNS;
		struct mmds_conn *c = &s->conns[i];
		if (c->state == CONN_FREE)
			continue;
		size_t n = conn_output(s, c, buf, cap, now_ms);
		if (n) {
			s->cursor = i + 1;
			return n;
		}
	}
	return 0;
}

uint64_t mmds_tcp_deadline(const struct mmds_stack *s)
{
	uint64_t d = UINT64_MAX;
	for (size_t i = 0; i < MMDS_MAX_CONNS; i++) {
		const struct mmds_conn *c = &s->conns[i];
		if (c->state != CONN_FREE && c->rto_at && c->rto_at < d)
			d = c->rto_at;
	}
	return d;
}
