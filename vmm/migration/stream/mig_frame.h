/* Frames of the migration stream (mig_format.h) over a channel: header, checksum, bounded
 * payload. Both directions count frames and payload bytes for the END check. */
#ifndef VMM_MIGRATION_MIG_FRAME_H
#define VMM_MIGRATION_MIG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/migration/stream/mig_chan.h"

/* A received frame: the payload lives in `buf`, which grows to the largest payload received
 * (at most MIG_MAX_PAYLOAD bytes). */
struct mig_frame {
	uint32_t type, len;
	uint8_t *buf;
	uint32_t cap;
	uint64_t frames, bytes; /* frames and payload bytes received so far, this one excluded */
};

/* Sends a frame whose payload is `a` then `b` (either may be empty), with `pass_fd` (>= 0) as
 * SCM_RIGHTS. MEM, ROUND and STATE frames without a descriptor may wait in the channel's buffer
 * (mig_chan_write_buffered()) until the next other frame, read or drain: the peer never waits
 * for them alone. Returns what mig_chan_write() returns, or -E2BIG past MIG_MAX_PAYLOAD. */
int mig_frame_send(struct mig_chan *c, uint32_t type, const void *a, size_t alen, const void *b,
		   size_t blen, int pass_fd);

/* Allocates a first payload buffer. Returns 0 or -ENOMEM. */
int mig_frame_init(struct mig_frame *f);
void mig_frame_free(struct mig_frame *f);

/* Receives one frame into `f`: a length over MIG_MAX_PAYLOAD or a wrong checksum is -EINVAL
 * with a message (nothing of the payload is used); a stream that ends is -EPIPE
 * ("connection closed after N frames"), and the channel's other errors are passed on with a
 * message. */
int mig_frame_recv(struct mig_chan *c, struct mig_frame *f, char *err, size_t errlen);

#endif
