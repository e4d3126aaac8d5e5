/* A vhost-user connection: the front-end's end of the back-end's Unix stream socket.
 *
 * Every send and receive finishes within the connection's timeout, so a back-end that stops
 * answering gives -ETIMEDOUT instead of a hung VMM thread. Any failure (timeout, closed socket,
 * a reply that breaks the protocol) marks the connection broken: the stream may be out of step,
 * so nothing more is sent on it; later calls return -ENOTCONN until it is closed and a new one
 * is opened (reconnect). Not thread-safe: one owner at a time. */
#ifndef VIRTIO_VHOST_USER_CONN_H
#define VIRTIO_VHOST_USER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_CONN_MAX_FDS 8 /* fds one message carries (SET_MEM_TABLE: one per region) */

struct vu_conn {
	int fd;		/* -1 when closed */
	int timeout_ms; /* bound on each send and each reply */
	bool broken;
	/* Monotonic ns (mono_ns()) by which the current sequence of messages must be over (0:
	 * none): a back-end that answers each message just inside timeout_ms cannot stretch a
	 * sequence of many (vu_conn_set_budget()). */
	int64_t budget_end_ns;
	int budget_ms; /* the budget as set (for messages) */
};

/* Bounds everything sent and received from now on to `ms` milliseconds in all (a hand-over of
 * every ring, a reset), measured from this call on CLOCK_MONOTONIC; 0 lifts the bound. Every
 * wait is capped by what is left of it (min(timeout_ms, left), to the ns). Past it, calls fail
 * with -ETIMEDOUT (and break the connection): a send fails before any byte goes out, and a reply
 * not wholly read by the budget's end is not taken, even if its bytes came in meanwhile. */
void vu_conn_set_budget(struct vu_conn *c, int ms);

/* True when a budget is set and its end has passed (a -ETIMEDOUT is the budget's, not the
 * per-message timeout's). */
bool vu_conn_budget_spent(const struct vu_conn *c);

/* Connects to the back-end listening on `path` within timeout_ms (and the budget, if one is
 * set), trying again while its backlog is full. Returns 0, -ENAMETOOLONG, -ETIMEDOUT (the
 * backlog stayed full), or -errno of socket/connect (-ENOENT: no socket there, -ECONNREFUSED:
 * nobody listening). */
int vu_conn_connect(struct vu_conn *c, const char *path, int timeout_ms);

/* Takes over an already connected stream socket `fd` (tests: one end of a socketpair). */
void vu_conn_adopt(struct vu_conn *c, int fd, int timeout_ms);

/* Sends the `len` bytes of `msg` with `nfds` fds (0..VU_CONN_MAX_FDS) attached to its first
 * byte. Returns 0, -ENOTCONN when broken, -ETIMEDOUT (also at once, nothing sent, when the
 * budget is spent), -EPIPE or another -errno. */
int vu_conn_send(struct vu_conn *c, const void *msg, size_t len, const int *fds, int nfds);

/* Receives one message (header, then the payload the header announces) into `buf` (`cap` bytes,
 * at least VU_HDR_SIZE) within the timeout and the budget: no byte is read past the earlier of
 * their ends, even one that came in before it (a late-running thread does not stretch either);
 * `*len` is its total length. File descriptors the back-end attaches are closed (no reply this
 * front-end asks for carries any). Returns 0,
 * -ENOTCONN when broken, -ETIMEDOUT, -ECONNRESET when the back-end closed the socket,
 * -EMSGSIZE when the announced payload exceeds `cap` (the stream is then out of step), or
 * another -errno. */
int vu_conn_recv(struct vu_conn *c, uint8_t *buf, size_t cap, size_t *len);

/* False once the back-end has closed its end or the socket has failed (a poll, no wait; a
 * hang-up counts even with bytes unread, which without a hang-up count as alive). Marks the
 * connection broken when it is dead. */
bool vu_conn_alive(struct vu_conn *c);

/* Marks the connection broken (the owner saw a protocol violation). */
void vu_conn_break(struct vu_conn *c);

void vu_conn_close(struct vu_conn *c);

#endif
