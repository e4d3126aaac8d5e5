/* Framing: u32 type, u32 length, u32 CRC32 over both and the payload (mig_format.h). */
#include "vmm/migration/stream/mig_frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/migration/stream/mig_crc.h"
#include "vmm/migration/stream/mig_format.h"
#include "vmm/snapshot/format/snap_err.h"

int mig_frame_send(struct mig_chan *c, uint32_t type, const void *a, size_t alen, const void *b,
		   size_t blen, int pass_fd)
{
	if (alen > MIG_MAX_PAYLOAD || blen > MIG_MAX_PAYLOAD - alen)
		return -E2BIG;
	uint8_t hdr[MIG_FRAME_HDR];
	mig_put_le(hdr, type, 4);
	mig_put_le(hdr + 4, alen + blen, 4);
	uint32_t crc = mig_crc32(0, hdr, 8);
	crc = mig_crc32(crc, a, alen);
	crc = mig_crc32(crc, b, blen);
	mig_put_le(hdr + 8, crc, 4);
	struct iovec iov[3] = {{hdr, sizeof(hdr)}, {(void *)a, alen}, {(void *)b, blen}};
	/* a round's frames go out together; a frame the peer may answer, at once */
	bool bulk = type == MIG_F_MEM || type == MIG_F_ROUND || type == MIG_F_STATE;
	if (bulk && pass_fd < 0)
		return mig_chan_write_buffered(c, iov, 3);
	return mig_chan_write(c, iov, 3, pass_fd);
}

int mig_frame_init(struct mig_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->cap = 4096;
	f->buf = malloc(f->cap);
	return f->buf ? 0 : -ENOMEM;
}

/* The buffer grows to the largest payload seen (at most MIG_MAX_PAYLOAD). */
static int reserve(struct mig_frame *f, uint32_t len)
{
	if (len <= f->cap)
		return 0;
	uint8_t *p = realloc(f->buf, len);
	if (!p)
		return -ENOMEM;
	f->buf = p;
	f->cap = len;
	return 0;
}

void mig_frame_free(struct mig_frame *f)
{
	free(f->buf);
	f->buf = NULL;
}

static int chan_err(int r, const struct mig_frame *f, const char *what, char *err, size_t errlen)
{
	if (r == -EPIPE)
		return snap_err(err, errlen, r, "connection closed after %llu frames (in %s)",
				(unsigned long long)f->frames, what);
	if (r == -ETIMEDOUT)
		return snap_err(err, errlen, r, "the source sent nothing for too long (in %s)",
				what);
	if (r == -ECANCELED)
		return snap_err(err, errlen, r, "cancelled");
	return snap_err(err, errlen, r, "receiving %s: %s", what, strerror(-r));
}

int mig_frame_recv(struct mig_chan *c, struct mig_frame *f, char *err, size_t errlen)
{
	uint8_t hdr[MIG_FRAME_HDR];
	int r = mig_chan_read(c, hdr, sizeof(hdr));
	if (r)
		return chan_err(r, f, "a frame header", err, errlen);
	f->type = (uint32_t)mig_get_le(hdr, 4);
	f->len = (uint32_t)mig_get_le(hdr + 4, 4);
	if (f->len > MIG_MAX_PAYLOAD)
		return snap_err(err, errlen, -EINVAL, "frame %llu (%s) claims %u bytes, at most %u",
				(unsigned long long)f->frames, mig_frame_name(f->type), f->len,
				(unsigned)MIG_MAX_PAYLOAD);
	if (reserve(f, f->len))
		return snap_err(err, errlen, -ENOMEM, "out of memory for a frame of %u bytes",
				f->len);
	r = mig_chan_read(c, f->buf, f->len);
	if (r)
		return chan_err(r, f, mig_frame_name(f->type), err, errlen);
	uint32_t want = (uint32_t)mig_get_le(hdr + 8, 4);
	uint32_t got = mig_crc32(mig_crc32(0, hdr, 8), f->buf, f->len);
	if (want != got)
		return snap_err(err, errlen, -EINVAL,
				"frame %llu (%s): checksum mismatch (0x%08x, contents give 0x%08x)",
				(unsigned long long)f->frames, mig_frame_name(f->type), want, got);
	return 0;
}
