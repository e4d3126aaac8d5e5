/* The byte channel a migration stream runs over: a connected stream socket (Unix or TCP), or a
 * memory buffer (the fuzzer and tests read a stream from bytes; the seed generator writes one).
 *
 * Socket I/O never blocks for long: each read or write waits in slices of 100 ms, so a channel
 * stops with -ECANCELED soon after `*cancel` is set, and with -ETIMEDOUT when the peer has
 * neither sent nor taken a byte for `timeout_ms`. A write that has sent its first byte sends the
 * rest before it sees a cancel (the peer must be able to read the frame after it); only the
 * timeout cuts it. Writes never raise SIGPIPE. */
#ifndef VMM_MIGRATION_MIG_CHAN_H
#define VMM_MIGRATION_MIG_CHAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct mig_chan {
	int fd;			   /* the socket, or -1 for memory */
	int timeout_ms;		   /* silence allowed from the peer (default 30 s) */
	const atomic_bool *cancel; /* when set, I/O stops with -ECANCELED; may be NULL */
	int rx_fd;	   /* a descriptor that came with the bytes read (SCM_RIGHTS), or -1 */
	const uint8_t *in; /* memory input (fd < 0) */
	size_t in_len, in_pos;
	uint8_t *out; /* memory output (fd < 0): grows, at most out_max bytes */
	size_t out_len, out_cap, out_max;
	uint64_t bytes_in, bytes_out;
	/* Sockets: MIG_CHAN_BUF bytes each, allocated on first use (none: unbuffered). Reads take
	 * what the socket has into `rbuf` (one recvmsg for many small frames) except while a
	 * received descriptor waits in rx_fd; mig_chan_write_buffered() collects small writes in
	 * `wbuf` (one sendmsg, one wake-up of the peer). */
	uint8_t *rbuf, *wbuf;
	size_t rpos, rlen, wlen;
	/* A read finding nothing polls without sleeping this long first (then sleeps as usual): for
	 * an answer due within microseconds, whose wake-up costs ~0.1 ms on a busy 2-core host, in
	 * a migration's pause (the source's READY, the destination's COMMIT and final round). */
	unsigned spin_us;
};

#define MIG_CHAN_BUF	 (64u * 1024u)
#define MIG_CHAN_SPIN_US 500u

/* A channel over the connected socket `fd` (not owned: the caller closes it). */
void mig_chan_init_fd(struct mig_chan *c, int fd, const atomic_bool *cancel);
/* A channel that reads `len` bytes at `in` (may be NULL/0) and collects what is written, up to
 * `out_max` bytes (0: writes fail with -EPIPE, as to a closed peer). */
void mig_chan_init_mem(struct mig_chan *c, const uint8_t *in, size_t len, size_t out_max);

/* Reads exactly `len` bytes. A descriptor passed with them is kept in c->rx_fd (a second one
 * closes the first). Returns 0, -EPIPE when the peer closed the stream first ("connection
 * closed"), -ETIMEDOUT, -ECANCELED or -errno. */
int mig_chan_read(struct mig_chan *c, void *buf, size_t len);

/* mig_chan_write() without a descriptor, except that writes of less than MIG_CHAN_BUF / 4 bytes
 * may wait in the channel's buffer until the next unbuffered write, read, drain or
 * mig_chan_flush() (a migration's many one-page frames of a round). Same returns; an error may
 * be an earlier buffered write's. */
int mig_chan_write_buffered(struct mig_chan *c, const struct iovec *iov, int n);

/* Sends what mig_chan_write_buffered() holds. Returns 0 or mig_chan_write()'s -errno. */
int mig_chan_flush(struct mig_chan *c);

/* Writes all of the `n` buffers (after what mig_chan_write_buffered() holds); `pass_fd` (>= 0,
 * sockets only) goes along with the first byte as SCM_RIGHTS. Returns 0, -EPIPE or -ECONNRESET when
 * the peer is gone, -ETIMEDOUT, -ECANCELED, -ENOTSUP for a descriptor on a memory channel, or
 * -errno. */
int mig_chan_write(struct mig_chan *c, const struct iovec *iov, int n, int pass_fd);

/* Waits (up to `limit_ms`, in steps of 50 us) until the peer has read everything written so far
 * (SIOCOUTQ: for a Unix socket, the bytes still queued at the reader; for TCP, those not yet
 * acknowledged). Returns 0 when drained, -ETIMEDOUT at the limit, -ECANCELED, or -errno when
 * the socket cannot tell (a caller goes on without the wait). Memory channels: 0 at once. */
int mig_chan_drain(struct mig_chan *c, int limit_ms);

/* Sleeps until the peer closes its end or sends something (the socket turns readable), at most
 * `limit_ms`. Returns 0, -ETIMEDOUT at the limit or -errno; memory channels: 0 at once. */
int mig_chan_await_hangup(struct mig_chan *c, int limit_ms);

/* Closes c->rx_fd if any and frees memory output and the buffers (unsent buffered bytes are
 * dropped). The socket stays open. */
void mig_chan_release(struct mig_chan *c);

#endif
