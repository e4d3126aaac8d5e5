/* The TCP of MMDS (RFC 9293, the subset a passive HTTP server needs): a SYN opens a
 * connection (SYN-ACK with our MSS), in-order data fills the request buffer (out-of-order data
 * is dropped and re-ACKed), each request's response is sent within the peer's window and MSS and
 * retransmitted go-back-N on timeout with exponential backoff (MMDS_MAX_RETRIES, then a reset),
 * a zero window is probed on the timer, FIN and RST close; segments of no connection are answered
 * with RST. The connection count is bounded: a SYN beyond it evicts the oldest half-open
 * connection or one idle for MMDS_IDLE_MS, else it is reset. */
#ifndef VMM_MMDS_TCP_H
#define VMM_MMDS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mmds/packet.h"

#define MMDS_TCP_PORT	 80
#define MMDS_MAX_CONNS	 30   /* Firecracker's DEFAULT_MAX_CONNECTIONS */
#define MMDS_RX_BUF	 4096 /* request bytes a connection holds */
#define MMDS_RTO_MS	 200
#define MMDS_MAX_RETRIES 6
#define MMDS_IDLE_MS	 60000
#define MMDS_MSS	 1460 /* ours, for a 1500-byte MTU */
#define MMDS_MSS_DEFAULT 536  /* the peer's, when its SYN has none (RFC 9293 3.7.1) */

enum mmds_conn_state { CONN_FREE, CONN_SYN_RCVD, CONN_OPEN };

struct mmds_conn {
	enum mmds_conn_state state;
	uint8_t mac[6];
	uint32_t ip;
	uint16_t port;
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t stream_end; /* the sequence number after the last response byte queued */
	uint32_t rcv_nxt;
	uint16_t peer_wnd, mss;
	bool need_ack, fin_queued, peer_fin, probe;
	unsigned retries;
	uint64_t rto_at; /* 0: no timer */
	uint64_t last_seen;
	char *tx; /* the response being sent: tx_len bytes from sequence number tx_seq */
	size_t tx_len;
	uint32_t tx_seq;
	size_t rx_len;
	uint8_t rx[MMDS_RX_BUF];
};

struct mmds_stack;

/* A TCP segment to the MMDS address (already checked by the caller). */
void mmds_tcp_input(struct mmds_stack *s, const struct tcp_seg *seg, uint64_t now_ms);
/* One segment of some connection (round robin) into buf, or 0. */
size_t mmds_tcp_output(struct mmds_stack *s, uint8_t *buf, size_t cap, uint64_t now_ms);
/* The earliest retransmission timer, UINT64_MAX for none. */
uint64_t mmds_tcp_deadline(const struct mmds_stack *s);
/* Frees every connection's buffers. */
void mmds_tcp_reset_all(struct mmds_stack *s);

#endif
