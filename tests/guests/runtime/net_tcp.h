/* A minimal TCP for the test guests (RFC 793; RFC 9293 for the current wording): one connection
 * at a time, active open (connect) or a single passive open (accept), in-order data only,
 * stop-and-wait sending (one segment in flight, retransmitted every TCP_RTO_MS), an MSS option
 * on SYNs, orderly close. No window scaling, SACK, timestamps, urgent data or congestion control:
 * enough to exchange a few bytes with a host over a lossless virtual link.
 *
 * Every call drives the stack itself (net_poll_wait, ring 0) until its condition or timeout_ms.
 * Errors: TCP_ERR_TIMEOUT, TCP_ERR_RESET (the peer sent RST), TCP_ERR_STATE. */
#ifndef GUEST_NET_TCP_H
#define GUEST_NET_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "net_stack.h"

#define TCP_RX_BUF	4096u
#define TCP_MSS		1460u
#define TCP_RTO_MS	500u
#define TCP_ERR_TIMEOUT (-1)
#define TCP_ERR_RESET	(-2)
#define TCP_ERR_STATE	(-3)

enum tcp_state {
	TCP_CLOSED,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

struct tcp_conn {
	enum tcp_state state;
	uint32_t rip; /* peer address, host order */
	uint16_t lport, rport;
	uint32_t iss, snd_una, snd_nxt, rcv_nxt;
	uint16_t snd_wnd;	/* the peer's window */
	uint8_t rx[TCP_RX_BUF]; /* received, not yet read */
	uint32_t rx_len;
	bool fin_rcvd, reset;
};

/* Active open to ip:port from local port lport. Returns 0 or a TCP_ERR_*. */
int tcp_connect(struct net_if *ifc, struct tcp_conn *c, uint32_t ip, uint16_t port, uint16_t lport,
		uint32_t timeout_ms);
/* Passive open on lport: waits for one connection. Returns 0 or a TCP_ERR_*. */
int tcp_accept(struct net_if *ifc, struct tcp_conn *c, uint16_t lport, uint32_t timeout_ms);
/* Sends len bytes (in segments of at most TCP_MSS), each acknowledged before the next.
 * Returns 0 or a TCP_ERR_*. */
int tcp_send(struct net_if *ifc, struct tcp_conn *c, const void *data, uint32_t len,
	     uint32_t timeout_ms);
/* Waits for data: returns the bytes copied (> 0), 0 when the peer closed and nothing is left,
 * or a TCP_ERR_*. */
int tcp_recv(struct net_if *ifc, struct tcp_conn *c, void *buf, uint32_t cap, uint32_t timeout_ms);
/* Sends FIN and waits for its acknowledgement (and the peer's FIN, briefly). Returns 0 or a
 * TCP_ERR_*. */
int tcp_close(struct net_if *ifc, struct tcp_conn *c, uint32_t timeout_ms);

/* Called by the stack for every TCP segment addressed to us. */
struct iphdr;
void tcp_input(struct net_if *ifc, const struct iphdr *ip, const uint8_t *seg, uint32_t len);

#endif
