/* Minimal TCP (see net_tcp.h). RFC 793 section numbers in comments. */
#include "net_tcp.h"

#include <linux/tcp.h>

#include "platform.h"
#include "printf.h"
#include "string.h"

#define TCP_HLEN     20u
#define MSS_OPT_LEN  4u
#define F_FIN	     0x01
#define F_SYN	     0x02
#define F_RST	     0x04
#define F_PSH	     0x08
#define F_ACK	     0x10
#define CLOSE_FIN_MS 1000u

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/* ---- output ---- */

static uint8_t *flags_byte(struct tcphdr *t)
{
	return (uint8_t *)t + 13; /* RFC 793 3.1: the control bits */
}

/* Sends one segment with sequence number `seq` (data copied from `data`). */
static int output(struct net_if *ifc, struct tcp_conn *c, uint32_t seq, uint8_t flags,
		  const void *data, uint32_t len)
{
	struct tcphdr *t = (struct tcphdr *)(ifc->tx + NET_L4_OFF);
	uint32_t hl = TCP_HLEN + ((flags & F_SYN) ? MSS_OPT_LEN : 0), total = hl + len;
	uint32_t room = TCP_RX_BUF - c->rx_len;

	memset(t, 0, hl);
	t->source = net_htons(c->lport);
	t->dest = net_htons(c->rport);
	t->seq = net_htonl(seq);
	t->ack_seq = net_htonl((flags & F_ACK) ? c->rcv_nxt : 0);
	t->doff = (uint16_t)(hl / 4);
	*flags_byte(t) = flags;
	t->window = net_htons((uint16_t)(room > 0xffff ? 0xffff : room));
	if (flags & F_SYN) {
		uint8_t *o = (uint8_t *)t + TCP_HLEN;

		o[0] = 2; /* MSS (RFC 793 3.1 Options) */
		o[1] = 4;
		o[2] = TCP_MSS >> 8;
		o[3] = TCP_MSS & 0xff;
	}
	memcpy((uint8_t *)t + hl, data, len);
	t->check = net_csum_fold(
	    net_csum_add(net_pseudo_sum(ifc->ip, c->rip, IPPROTO_TCP, (uint16_t)total), t, total));
	return net_send_ip(ifc, c->rip, IPPROTO_TCP, total);
}

static void send_ack(struct net_if *ifc, struct tcp_conn *c)
{
	output(ifc, c, c->snd_nxt, F_ACK, NULL, 0);
}

/* ---- input ---- */

static void input_data(struct net_if *ifc, struct tcp_conn *c, uint32_t seq, const uint8_t *d,
		       uint32_t len, uint8_t flags)
{
	bool answer = len || (flags & F_FIN);

	if (len && seq == c->rcv_nxt) {
		uint32_t take = len < TCP_RX_BUF - c->rx_len ? len : TCP_RX_BUF - c->rx_len;

		memcpy(c->rx + c->rx_len, d, take);
		c->rx_len += take;
		c->rcv_nxt += take;
		if (take < len)
			flags &= (uint8_t)~F_FIN; /* the FIN comes after bytes we did not take */
		seq += take;
		len -= take;
	}
	if ((flags & F_FIN) && seq + len == c->rcv_nxt && !c->fin_rcvd) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
		if (c->state == TCP_ESTABLISHED)
			c->state = TCP_CLOSE_WAIT;
		else if (c->state == TCP_FIN_WAIT_1 || c->state == TCP_FIN_WAIT_2)
			c->state = TCP_TIME_WAIT;
	}
	if (answer)
		send_ack(ifc, c); /* also a duplicate ACK for out-of-order data */
}

static void input_ack(struct tcp_conn *c, uint32_t ack, uint16_t wnd)
{
	if (seq_lt(c->snd_una, ack) && seq_le(ack, c->snd_nxt))
		c->snd_una = ack;
	c->snd_wnd = wnd;
	if (c->snd_una != c->snd_nxt)
		return;
	if (c->state == TCP_SYN_RCVD)
		c->state = TCP_ESTABLISHED;
	else if (c->state == TCP_FIN_WAIT_1)
		c->state = TCP_FIN_WAIT_2;
	else if (c->state == TCP_LAST_ACK)
		c->state = TCP_CLOSED;
}

/* 3.4 / 3.9: the two opening states. */
static void input_open(struct net_if *ifc, struct tcp_conn *c, uint32_t src, uint16_t sport,
		       uint32_t seq, uint32_t ack, uint8_t flags)
{
	if (c->state == TCP_LISTEN && (flags & F_SYN) && !(flags & F_ACK)) {
		c->rip = src;
		c->rport = sport;
		c->rcv_nxt = seq + 1;
		c->snd_una = c->iss;
		c->snd_nxt = c->iss + 1;
		c->state = TCP_SYN_RCVD;
		output(ifc, c, c->iss, F_SYN | F_ACK, NULL, 0);
	} else if (c->state == TCP_SYN_RCVD && (flags & (F_SYN | F_ACK)) == F_SYN &&
		   seq + 1 == c->rcv_nxt) {
		/* The peer's SYN again: our SYN-ACK was lost (or is late). Answer it at once. */
		output(ifc, c, c->iss, F_SYN | F_ACK, NULL, 0);
	} else if (c->state == TCP_SYN_SENT && (flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK) &&
		   ack == c->snd_nxt) {
		c->rcv_nxt = seq + 1;
		c->snd_una = ack;
		c->state = TCP_ESTABLISHED;
		send_ack(ifc, c);
	}
}

static bool checksum_ok(struct net_if *ifc, const struct iphdr *ip, const uint8_t *seg,
			uint32_t len)
{
	if (ifc->rx_hdr_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return true; /* 5.1.6.4: only partially checksummed, by agreement */
	return !net_csum_fold(net_csum_add(
	    net_pseudo_sum(net_ntohl(ip->saddr), net_ntohl(ip->daddr), IPPROTO_TCP, (uint16_t)len),
	    seg, len));
}

void tcp_input(struct net_if *ifc, const struct iphdr *ip, const uint8_t *seg, uint32_t len)
{
	const struct tcphdr *t = (const void *)seg;
	struct tcp_conn *c = ifc->tcp;
	uint32_t hl, src = net_ntohl(ip->saddr), seq, ack;
	uint8_t flags;

	if (len < TCP_HLEN || (hl = t->doff * 4u) < TCP_HLEN || hl > len ||
	    !checksum_ok(ifc, ip, seg, len) || net_ntohs(t->dest) != c->lport)
		return;
	if (c->state != TCP_LISTEN && (src != c->rip || net_ntohs(t->source) != c->rport))
		return;
	flags = seg[13];
	seq = net_ntohl(t->seq);
	ack = net_ntohl(t->ack_seq);
	if (flags & F_RST) {
		if (c->state != TCP_LISTEN) {
			c->reset = true;
			c->state = TCP_CLOSED;
		}
		return;
	}
	if (c->state == TCP_LISTEN || c->state == TCP_SYN_SENT ||
	    (c->state == TCP_SYN_RCVD && !(flags & F_ACK))) {
		input_open(ifc, c, src, net_ntohs(t->source), seq, ack, flags);
		return;
	}
	if (c->state == TCP_CLOSED)
		return;
	if (flags & F_ACK)
		input_ack(c, ack, net_ntohs(t->window));
	if (c->state != TCP_SYN_RCVD)
		input_data(ifc, c, seq, seg + hl, len - hl, flags);
}

/* ---- calls ---- */

static void conn_init(struct net_if *ifc, struct tcp_conn *c, uint16_t lport)
{
	memset(c, 0, sizeof(*c));
	c->lport = lport;
	c->iss = (uint32_t)clock_ticks();
	ifc->tcp = c;
}

/* The opening handshake is over: ESTABLISHED, or CLOSE_WAIT, where the peer's FIN took an
 * established connection. One poll may take the ACK that establishes the connection, the
 * peer's data and its FIN together (a client that sends its request and closes its side at
 * once, as busybox nc does): the caller must still get the connection. */
static bool opened(const struct tcp_conn *c)
{
	return c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT;
}

static int wait_open(struct net_if *ifc, struct tcp_conn *c, uint64_t end)
{
	while (!opened(c)) {
		uint64_t now = net_now_ms();

		if (c->reset)
			return TCP_ERR_RESET;
		if (now >= end)
			return TCP_ERR_TIMEOUT;
		net_poll_wait(ifc, (uint32_t)(end - now < TCP_RTO_MS ? end - now : TCP_RTO_MS));
	}
	return 0;
}

int tcp_connect(struct net_if *ifc, struct tcp_conn *c, uint32_t ip, uint16_t port, uint16_t lport,
		uint32_t timeout_ms)
{
	uint64_t end = net_now_ms() + timeout_ms;
	int err = TCP_ERR_TIMEOUT;

	conn_init(ifc, c, lport);
	c->rip = ip;
	c->rport = port;
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->state = TCP_SYN_SENT;
	while (err == TCP_ERR_TIMEOUT && net_now_ms() < end) {
		output(ifc, c, c->iss, F_SYN, NULL, 0); /* (re)transmitted every RTO */
		uint64_t rto = net_now_ms() + TCP_RTO_MS;

		err = wait_open(ifc, c, rto < end ? rto : end);
	}
	return err;
}

int tcp_accept(struct net_if *ifc, struct tcp_conn *c, uint16_t lport, uint32_t timeout_ms)
{
	uint64_t end = net_now_ms() + timeout_ms;
	int err = TCP_ERR_TIMEOUT;

	conn_init(ifc, c, lport);
	c->state = TCP_LISTEN;
	while (err == TCP_ERR_TIMEOUT && net_now_ms() < end) {
		uint64_t rto = net_now_ms() + TCP_RTO_MS;

		/* 3.8.1: a SYN-ACK not yet acknowledged is retransmitted every RTO, as
		 * tcp_connect()'s SYN is: sent once, a lost one left the connection in SYN_RCVD for
		 * good. */
		if (c->state == TCP_SYN_RCVD)
			output(ifc, c, c->iss, F_SYN | F_ACK, NULL, 0);
		err = wait_open(ifc, c, rto < end ? rto : end);
	}
	return err;
}

/* Sends [seq, seq + len) (+ FIN) and waits until all of it is acknowledged. */
static int send_segment(struct net_if *ifc, struct tcp_conn *c, const uint8_t *d, uint32_t len,
			uint8_t flags, uint64_t end)
{
	uint32_t seq = c->snd_nxt;

	c->snd_nxt += len + ((flags & F_FIN) ? 1 : 0);
	while (c->snd_una != c->snd_nxt) {
		uint64_t now = net_now_ms(), rto = now + TCP_RTO_MS;

		if (c->reset)
			return TCP_ERR_RESET;
		if (now >= end)
			return TCP_ERR_TIMEOUT;
		output(ifc, c, seq, flags | F_ACK, d, len);
		while (c->snd_una != c->snd_nxt && !c->reset && (now = net_now_ms()) < rto)
			net_poll_wait(ifc, (uint32_t)(rto - now));
	}
	return 0;
}

int tcp_send(struct net_if *ifc, struct tcp_conn *c, const void *data, uint32_t len,
	     uint32_t timeout_ms)
{
	const uint8_t *d = data;
	uint64_t end = net_now_ms() + timeout_ms;

	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return c->reset ? TCP_ERR_RESET : TCP_ERR_STATE;
	while (len) {
		uint32_t n = len < TCP_MSS ? len : TCP_MSS;
		int err = send_segment(ifc, c, d, n, F_PSH, end);

		if (err)
			return err;
		d += n;
		len -= n;
	}
	return 0;
}

int tcp_recv(struct net_if *ifc, struct tcp_conn *c, void *buf, uint32_t cap, uint32_t timeout_ms)
{
	uint64_t end = net_now_ms() + timeout_ms;
	uint32_t n;

	while (!c->rx_len && !c->fin_rcvd) {
		uint64_t now = net_now_ms();

		if (c->reset)
			return TCP_ERR_RESET;
		if (now >= end)
			return TCP_ERR_TIMEOUT;
		net_poll_wait(ifc, (uint32_t)(end - now));
	}
	n = c->rx_len < cap ? c->rx_len : cap;
	memcpy(buf, c->rx, n);
	memmove(c->rx, c->rx + n, c->rx_len - n);
	c->rx_len -= n;
	if (n && c->state != TCP_CLOSED)
		send_ack(ifc, c); /* a window update */
	return (int)n;
}

int tcp_close(struct net_if *ifc, struct tcp_conn *c, uint32_t timeout_ms)
{
	uint64_t end = net_now_ms() + timeout_ms, fin_end;
	int err;

	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return c->reset ? TCP_ERR_RESET : TCP_ERR_STATE;
	c->state = c->state == TCP_ESTABLISHED ? TCP_FIN_WAIT_1 : TCP_LAST_ACK;
	err = send_segment(ifc, c, NULL, 0, F_FIN, end);
	if (err)
		return err;
	/* Wait a little for the peer's FIN, so it gets its ACK. */
	fin_end = net_now_ms() + CLOSE_FIN_MS;
	while (!c->fin_rcvd && !c->reset && net_now_ms() < fin_end)
		net_poll_wait(ifc, CLOSE_FIN_MS);
	c->state = TCP_CLOSED;
	return 0;
}
