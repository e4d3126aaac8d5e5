/* Shared by the files of virtio/vsock: the device and connection state. See vsock.h.
 *
 * Files: vsock.c (device ops, the tx queue: packets from the guest), rx.c (the rx and event
 * queues: packets to the guest), conn.c (the connection table and the host Unix sockets),
 * options.c (--vsock). Everything runs under dev->lock on the I/O thread. */
#ifndef VIRTIO_VSOCK_INTERNAL_H
#define VIRTIO_VSOCK_INTERNAL_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio/vsock/vsock.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

#define VSOCK_RST_RING 64 /* RSTs for packets that match no connection, waiting for rx */
/* Host iovecs of one packet: a chain's segments, plus one for a segment the header and the
 * payload share. */
#define VSOCK_MAX_IOV (VQ_CHAIN_MAX_SEGS + 1)

enum vconn_state {
	VC_HANDSHAKE,	/* host-initiated: waiting for the "CONNECT <port>\n" line */
	VC_CONNECTING,	/* host-initiated: REQUEST owed or sent, waiting for RESPONSE */
	VC_ESTABLISHED, /* data both ways (until SHUTDOWNs) */
};

/* What a connection owes the guest (control packets), sent before its data. */
#define OWE_REQUEST    (1u << 0)
#define OWE_RESPONSE   (1u << 1)
#define OWE_CREDIT     (1u << 3)
#define OWE_CREDIT_REQ (1u << 4)

struct vconn {
	int fd;
	uint16_t slot;
	uint32_t gen; /* with slot, the inner epoll tag: stale events of a freed slot are ignored */
	enum vconn_state state;
	uint32_t local_port; /* the host side's port (src_port of what we send) */
	uint32_t peer_port;  /* the guest's port */
	uint32_t owe;
	bool readable;	    /* the socket may have bytes (edge seen, no EAGAIN since) */
	bool writable;	    /* the socket took everything so far (no EAGAIN since the last edge) */
	bool guest_no_send; /* the guest said SHUTDOWN SEND */
	bool guest_no_rcv;  /* the guest said SHUTDOWN RCV */
	bool close_when_drained; /* the guest closed both ways: RST once `out` is written */
	bool host_eof;		 /* the socket said EOF: we sent SHUTDOWN SEND */
	bool shut_wr;		 /* the socket's write side is shut */
	uint64_t deadline_ms;	 /* VC_HANDSHAKE: closed at this CLOCK_MONOTONIC time */
	/* guest -> host: counters of 5.10.6.3 for our side */
	uint32_t rx_cnt;       /* payload bytes received from the guest */
	uint32_t fwd_cnt;      /* of those, written to the socket */
	uint32_t fwd_cnt_sent; /* fwd_cnt the guest last heard */
	uint8_t *out;	       /* ring of VIRTIO_VSOCK_BUF_ALLOC bytes the socket has not taken */
	uint32_t out_head, out_len;
	/* host -> guest: the guest's credit */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt; /* payload bytes sent to the guest */
};

struct vsock_rst {
	uint32_t src_port, dst_port; /* as we send it: src is ours, dst the guest's */
};

struct vsock {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_vsock_config config;
	struct virtio_vsock_opts opts;
	int listen_fd;
	dev_t uds_dev; /* PATH as bound (lstat): removed at destroy only if still ours */
	ino_t uds_ino;
	int ep;	      /* inner epoll set: the listener, the timer and every connection socket */
	int timer_fd; /* handshake deadlines (CLOCK_MONOTONIC, absolute) */
	bool timer_armed;
	unsigned handshake_ms;
	bool ep_added;
	struct vq_chain rx_chain, tx_chain, ev_chain;

	struct vconn *conns[VIRTIO_VSOCK_MAX_CONNS];
	unsigned nconns, handshakes;
	uint32_t next_gen;
	uint32_t next_port; /* local ports for host-initiated connections */
	unsigned rr;	    /* round robin: the slot to look at first for rx work */
	int work_slot;	    /* the slot rx_has_work() found, or -1 */

	struct vsock_rst rst[VSOCK_RST_RING];
	unsigned rst_head, rst_len;

	uint64_t buffered; /* bytes in every connection's `out` */
	bool tx_waiting;   /* the tx queue stopped at VIRTIO_VSOCK_MAX_BUFFERED */
	bool reset_event;  /* TRANSPORT_RESET owed on the event queue (after a restore) */

	/* Guest buffers of the packet in hand, mapped for sendmsg()/recvmsg(): payload bytes move
	 * between guest memory and the host socket without a copy of our own. */
	struct iovec iov[VSOCK_MAX_IOV];
};

static inline struct vsock *to_vsock(struct virtio_dev *dev)
{
	return dev->priv;
}

/* ---- conn.c ---- */
struct vconn *vconn_find(struct vsock *v, uint32_t local_port, uint32_t peer_port);
/* The guest's REQUEST to host port `port` from its port `peer`: connects to PATH_port. Returns
 * the connection (RESPONSE owed) or NULL (the caller answers RST). */
struct vconn *vconn_connect(struct vsock *v, uint32_t port, uint32_t peer);
/* Closes the socket and frees the slot (no packet to the guest). */
void vconn_free(struct vsock *v, struct vconn *c);
/* Frees the connection and queues an RST for the guest. */
void vconn_reset(struct vsock *v, struct vconn *c);
/* Payload from the guest (`len` bytes in guest buffers mapped by `iov`): to the socket, the rest
 * into `out`. False when the socket failed (the connection was reset). */
bool vconn_forward(struct vsock *v, struct vconn *c, const struct iovec *iov, int niov,
		   uint32_t len);
/* After the guest said SHUTDOWN: shuts the socket's write side once `out` is empty. */
void vconn_guest_shutdown(struct vsock *v, struct vconn *c, uint32_t flags);
/* Free space the guest may still send to us, as the guest last heard it, and what it is. */
uint32_t vconn_peer_credit(const struct vconn *c);
/* Closes every connection (device reset, destroy). */
void vconn_free_all(struct vsock *v);
/* Serves the inner epoll set once. */
void vconn_poll(struct vsock *v);
/* Writes "OK <port>\n" to a host-initiated connection the guest accepted. */
bool vconn_send_ok(struct vsock *v, struct vconn *c);

/* ---- rx.c ---- */
/* Queues an RST for a packet that matches no connection (dropped when VSOCK_RST_RING is full). */
void vsock_queue_rst(struct vsock *v, uint32_t src_port, uint32_t dst_port);
/* Serves the rx queue: control packets first, then data round robin. */
void vsock_rx_serve(struct vsock *v);
/* Sends TRANSPORT_RESET if one is owed and the event queue has a buffer. */
void vsock_event_serve(struct vsock *v);

/* ---- vsock.c ---- */
/* Serves the tx queue (after it waited for the host sockets to drain). */
void vsock_tx_serve(struct vsock *v);

#endif
