/* Byte-stream reader and writer over a popped chain.
 *
 * The device-readable segments form one stream, the device-writable ones another. A request may
 * be split across descriptors anywhere (2.7.4 / checklist: "make no assumption about how a
 * request is split"), so devices read and write through these calls and never look at segment
 * boundaries. Every call is all-or-nothing: on error the cursor is unchanged. The writer counts
 * only bytes really written, which is what vq_push() reports as the used length (2.7.8). */
#include <errno.h>
#include <string.h>

#include "virtio/queue/vq_internal.h"

/* Called for each contiguous guest piece of a walk; `done` is the stream offset of the piece. */
typedef int (*piece_fn)(void *ctx, const struct guest_mem *mem, uint64_t gpa, uint32_t n,
			size_t done);

/* Advances *cur over `len` bytes (the caller checked they exist), calling fn on each piece. */
static int walk(const struct vq_chain *c, const struct guest_mem *mem, struct vq_cursor *cur,
		size_t len, piece_fn fn, void *ctx)
{
	size_t done = 0;
	while (done < len) {
		const struct vq_seg *s = &c->segs[cur->seg];
		uint32_t n = s->len - cur->off;
		if (n > len - done)
			n = (uint32_t)(len - done);
		int err = fn ? fn(ctx, mem, s->addr + cur->off, n, done) : 0;
		if (err)
			return err;
		cur->off += n;
		cur->pos += n;
		done += n;
		if (cur->off == s->len) {
			cur->seg++;
			cur->off = 0;
		}
	}
	return 0;
}

/* Runs a walk on a copy of the cursor and commits it only when every piece succeeded. */
static int stream_op(struct vq_chain *c, const struct guest_mem *mem, bool writable, size_t len,
		     piece_fn fn, void *ctx)
{
	struct vq_cursor *cur = writable ? &c->wr : &c->rd;
	uint32_t left = writable ? vq_chain_writable(c) : vq_chain_readable(c);
	if (len > left)
		return -VQ_E_SHORT;
	struct vq_cursor next = *cur;
	int err = walk(c, mem, &next, len, fn, ctx);
	if (!err)
		*cur = next;
	return err;
}

static int read_piece(void *ctx, const struct guest_mem *mem, uint64_t gpa, uint32_t n, size_t done)
{
	return guest_mem_read(mem, gpa, (uint8_t *)ctx + done, n);
}

static int write_piece(void *ctx, const struct guest_mem *mem, uint64_t gpa, uint32_t n,
		       size_t done)
{
	return guest_mem_write(mem, gpa, (const uint8_t *)ctx + done, n);
}

int vq_chain_read(struct vq_chain *c, const struct guest_mem *mem, void *dst, size_t len)
{
	return stream_op(c, mem, false, len, read_piece, dst);
}

int vq_chain_write(struct vq_chain *c, const struct guest_mem *mem, const void *src, size_t len)
{
	int err = stream_op(c, mem, true, len, write_piece, (void *)src);
	if (!err)
		c->written += (uint32_t)len; /* len <= writable room <= UINT32_MAX */
	return err;
}

int vq_chain_skip_read(struct vq_chain *c, size_t len)
{
	return stream_op(c, NULL, false, len, NULL, NULL);
}

int vq_chain_skip_write(struct vq_chain *c, size_t len)
{
	return stream_op(c, NULL, true, len, NULL, NULL);
}

struct iov_ctx {
	struct iovec *iov;
	int max;
	int count;
	bool writable; /* the device will write these buffers: mark them dirty */
};

static int iov_piece(void *ctx, const struct guest_mem *mem, uint64_t gpa, uint32_t n, size_t done)
{
	struct iov_ctx *x = ctx;
	(void)done;
	if (x->count == x->max)
		return -ENOBUFS;
	void *host = guest_mem_ptr(mem, gpa, n);
	if (!host)
		return -EFAULT;
	x->iov[x->count++] = (struct iovec){host, n};
	if (x->writable) /* marked when handed out: the write follows (diff snapshots) */
		guest_mem_mark_dirty(mem, gpa, n);
	return 0;
}

static int map_iov(struct vq_chain *c, const struct guest_mem *mem, bool writable, size_t len,
		   struct iovec *iov, int max_iov)
{
	struct iov_ctx x = {iov, max_iov, 0, writable};
	int err = stream_op(c, mem, writable, len, iov_piece, &x);
	return err ? err : x.count;
}

int vq_chain_read_iov(struct vq_chain *c, const struct guest_mem *mem, size_t len,
		      struct iovec *iov, int max_iov)
{
	return map_iov(c, mem, false, len, iov, max_iov);
}

int vq_chain_write_iov(struct vq_chain *c, const struct guest_mem *mem, size_t len,
		       struct iovec *iov, int max_iov)
{
	return map_iov(c, mem, true, len, iov, max_iov);
}

size_t vq_iov_from_buf(const struct iovec *iov, int niov, const void *src, size_t len)
{
	const uint8_t *p = src;
	size_t done = 0;

	for (int i = 0; i < niov && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		if (n)
			memcpy(iov[i].iov_base, p + done, n);
		done += n;
	}
	return done;
}

int vq_chain_add_written(struct vq_chain *c, uint32_t n)
{
	if (n > c->wr.pos - c->written)
		return -EINVAL;
	c->written += n;
	return 0;
}
