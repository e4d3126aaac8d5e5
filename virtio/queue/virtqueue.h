/* Device side of a virtqueue: split ring (virtio 1.2 section 2.7) and packed ring (2.8).
 *
 * Three types, as in rust-vmm's virtio-queue:
 *   struct virtqueue  - indices, sizes, ring addresses, notification state of one queue;
 *   struct vq_chain   - one buffer popped from the queue: every descriptor copied out of guest
 *                       memory once and validated, stored as a list of segments;
 *   chain I/O         - vq_chain_read/write walk a chain's readable / writable segments as one
 *                       byte stream each, and count what the device really wrote.
 *
 * Guest memory is passed into every call (never stored in the queue), so the queue works the same
 * over real guest RAM and over a fake RAM built with guest_mem_add_region() in tests. All guest
 * addresses are checked by base/guest_mem.h.
 *
 * The driver is hostile: any malformed ring or chain makes vq_pop() return a negative VQ_E_* code;
 * the queue then marks itself broken and refuses all further work until vq_reset(). The transport
 * is expected to set DEVICE_NEEDS_RESET and raise a config-change interrupt (2.1.2).
 *
 * Threading: a queue and its chains are used by one thread at a time; the caller serialises.
 * Errors: functions return 0 (or a count) on success and -VQ_E_* / -errno on failure; vq_strerror()
 * names every VQ_E_* code. */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/guest_mem.h"

/* 2.6: "The maximum Queue Size value is 32768" (split and packed). */
#define VQ_MAX_SIZE 32768u

/* Most segments one chain may hold (direct descriptors plus one indirect table). The spec lets a
 * device limit list length (2.8.5, 2.7.5.3.1 "longer than allowed by the device"); 1024 is the
 * limit QEMU and Linux (UIO_MAXIOV) use. Devices should offer a queue size <= this so every legal
 * direct chain fits. */
#define VQ_CHAIN_MAX_SEGS 1024u

/* Named errors; functions return them negated. Values stay clear of errno. */
enum vq_error {
	VQ_E_NOT_READY = 1000, /* queue not activated (push/notify on an inactive queue) */
	VQ_E_BROKEN,	       /* queue was marked broken earlier; vq_reset() clears it */
	VQ_E_SIZE,	       /* queue size 0, not a power of two (split), > 32768 or > max */
	VQ_E_RING_RANGE, /* a ring is not entirely inside guest RAM, or its extent overflows */
	VQ_E_RING_ALIGN, /* a ring is misaligned (2.7 / 2.8.10.1 alignment table) */
	VQ_E_AVAIL_IDX,	 /* avail->idx moved more than queue size past last_avail (2.7.6) */
	VQ_E_HEAD,	 /* avail ring entry >= queue size */
	VQ_E_NEXT,	 /* descriptor next >= queue size (or >= indirect table length) */
	VQ_E_LOOP,	 /* chain longer than the ring / table: a loop (2.7.5.2) */
	VQ_E_CHAIN_LEN,	 /* chain total length does not fit in 32 bits (2.7.5.2) */
	VQ_E_ORDER,	 /* device-readable descriptor after a device-writable one (2.7.4.2) */
	VQ_E_BUF_RANGE,	 /* a buffer is not entirely inside one guest RAM region */
	VQ_E_INDIRECT_FEATURE, /* INDIRECT flag without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1) */
	VQ_E_INDIRECT_LEN,     /* indirect table length 0, not a multiple of 16, or too long */
	VQ_E_INDIRECT_RANGE,   /* indirect table not inside guest RAM */
	VQ_E_INDIRECT_NESTED,  /* INDIRECT inside an indirect table (2.7.5.3.1) */
	VQ_E_INDIRECT_NEXT,    /* INDIRECT together with NEXT, or inside a packed list (2.8.19) */
	VQ_E_TOO_MANY_SEGS,    /* more than VQ_CHAIN_MAX_SEGS non-empty buffers */
	VQ_E_OVERRUN,	       /* driver offered more descriptors than the ring holds in flight */
	VQ_E_NO_INFLIGHT,      /* device bug: pushed a buffer that was not popped */
	VQ_E_BAD_ID,	       /* device bug: pushed a split-ring head >= queue size */
	VQ_E_SHORT,	       /* chain I/O: fewer readable / writable bytes left than asked */
	VQ_E_MAX
};

/* Returns a constant description of a -VQ_E_* (or -errno) code. */
const char *vq_strerror(int err);

/* One guest buffer of a chain. Zero-length descriptors are legal but never stored. */
struct vq_seg {
	uint64_t addr; /* guest-physical; [addr, addr+len) was checked to be RAM at pop time */
	uint32_t len;  /* > 0 */
	bool writable; /* device-writable (VRING_DESC_F_WRITE) */
};

/* Position in one direction of a chain's byte stream. */
struct vq_cursor {
	uint16_t seg; /* index into segs[] */
	uint32_t off; /* offset inside segs[seg] */
	uint32_t pos; /* bytes consumed so far in this direction */
};

/* A popped buffer. Only vq_pop() fills it; devices read it through the vq_chain_* calls. */
struct vq_chain {
	uint16_t id;	       /* what vq_push() hands back: split head index, packed Buffer ID */
	uint16_t ndescs;       /* ring descriptors consumed (an indirect table counts as one) */
	uint16_t nsegs;	       /* stored segments */
	uint16_t nreadable;    /* segs[0, nreadable) device-readable, the rest device-writable */
	uint32_t readable_len; /* total device-readable bytes */
	uint32_t writable_len; /* total device-writable bytes */
	struct vq_cursor rd;   /* reader position over the readable segments */
	struct vq_cursor wr;   /* writer position over the writable segments */
	uint32_t written;      /* bytes really written by the device: the used `len` (2.7.8) */
	struct vq_seg segs[VQ_CHAIN_MAX_SEGS];
};

/* A completion: what vq_add_used() publishes. Keep one per in-flight request when completing
 * asynchronously (the chain itself need not be kept). */
struct vq_used {
	uint16_t id;
	uint16_t ndescs;
	uint32_t len; /* bytes written into the buffer */
};

struct virtqueue {
	/* Set by vq_init(): the largest size the device offers (QueueNumMax, 4.2.2). */
	uint16_t max_size;

	/* Written by the transport from the driver's registers before vq_activate(). `num` is 32
	 * bits so that a driver writing 0x10000 is refused instead of becoming 0 (then `% 0`). */
	uint32_t num;
	uint64_t desc_addr;   /* Descriptor Area: descriptor table / packed descriptor ring */
	uint64_t driver_addr; /* Driver Area: split avail ring / packed driver event suppression */
	uint64_t device_addr; /* Device Area: split used ring / packed device event suppression */

	/* Set by vq_activate() from `num` and the negotiated features. */
	bool active;
	bool packed;	/* VIRTIO_F_RING_PACKED */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC */
	uint16_t size;

	/* Device-side ring state. Split: free-running 16-bit indices. Packed: slot in [0, size)
	 * plus the ring wrap counters of 2.8.1 (both start at 1). */
	uint16_t last_avail;
	bool avail_wrap;
	uint16_t used_idx; /* next used slot (split: free-running), may be ahead of published */
	bool used_wrap;
	uint16_t pub_used; /* split: used->idx last published; packed: slot published up to */
	bool pub_wrap;
	uint16_t batch_slot;  /* packed: first used descriptor of the unpublished batch */
	uint16_t batch_flags; /* packed: its flags, written last by vq_publish_used() (2.8.9) */
	bool batch_pending;   /* packed: a batch is waiting for vq_publish_used() */
	uint32_t inflight;    /* ring descriptors popped and not yet pushed */

	/* Notification state (2.7.7, 2.7.10, 2.8.10). */
	bool kicks_enabled; /* device wants available-buffer notifications */
	/* Kicks are off because the I/O thread's poll watches the ring instead
	 * (virtio/core/poll.c); vq_enable_notify() and vq_disable_notify() clear it: the device
	 * decided. */
	bool kicks_deferred;
	uint16_t signalled_used; /* used position at the last vq_should_notify() decision */
	bool signalled_wrap;	 /* packed: its wrap counter */

	/* Set when the driver broke the rules; only vq_reset() clears it. */
	bool broken;
	int error; /* the -VQ_E_* that broke the queue */
};

/* ---- setup (virtqueue.c) ---- */

/* Zeroes the queue and records the device maximum. Returns 0, or -EINVAL when max_size is 0 or
 * above VQ_MAX_SIZE. */
int vq_init(struct virtqueue *vq, uint16_t max_size);

/* Device reset (status 0, or per-queue reset): clears configuration, indices, notification
 * state, features and the broken flag; keeps max_size. Touches no guest memory. */
void vq_reset(struct virtqueue *vq);

/* Checks vq->num and the three ring addresses against the negotiated `features` (the driver's
 * feature bits: VIRTIO_F_RING_PACKED, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC are
 * used) and guest RAM, then starts the queue at index 0. Call it at DRIVER_OK for each queue the
 * driver made ready (2.1.2: never touch a queue before that). Returns 0 or -VQ_E_SIZE /
 * -VQ_E_RING_RANGE / -VQ_E_RING_ALIGN (queue left inactive). Split extents: descriptors 16*N
 * aligned 16, avail 6+2N aligned 2, used 6+8N aligned 4 (2.7); packed: descriptors 16*N aligned
 * 16, each event suppression area 4 aligned 4 (2.8.10.1). */
int vq_activate(struct virtqueue *vq, const struct guest_mem *mem, uint64_t features);

static inline bool vq_is_active(const struct virtqueue *vq)
{
	return vq->active;
}

static inline bool vq_is_broken(const struct virtqueue *vq)
{
	return vq->broken;
}

/* ---- buffers (virtqueue.c dispatching to split_ring.c / packed_ring.c) ---- */

/* Takes the next available buffer. Returns 1 with *chain filled (cursors at 0), 0 when the ring
 * is empty or the queue is not active (so a spurious kick is harmless), or a negative -VQ_E_*
 * when the driver broke the ring: the queue is then broken and every later call returns
 * -VQ_E_BROKEN. */
int vq_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain);

/* Gives back the chain returned by the latest vq_pop() (e.g. an rx buffer the device cannot fill
 * yet): the next vq_pop() returns it again. Returns 0, -VQ_E_NOT_READY, -VQ_E_BROKEN or
 * -VQ_E_NO_INFLIGHT. */
int vq_unpop(struct virtqueue *vq, const struct guest_mem *mem, const struct vq_chain *chain);

/* The completion for a chain: its id, its descriptor count and the bytes the device wrote. */
static inline struct vq_used vq_chain_used(const struct vq_chain *chain)
{
	return (struct vq_used){chain->id, chain->ndescs, chain->written};
}

/* Writes one used element without making it visible to the driver (batching). Split: used->ring
 * entry; packed: id/len/flags of the used descriptor, the batch's first flags held back.
 * Returns 0, -VQ_E_NOT_READY, -VQ_E_BROKEN, -VQ_E_BAD_ID, -VQ_E_NO_INFLIGHT or -VQ_E_RING_RANGE.
 * The caller guarantees used.len <= bytes written; vq_chain_used() does. */
int vq_add_used(struct virtqueue *vq, const struct guest_mem *mem, struct vq_used used);

/* Makes every element added since the last publish visible: split used->idx store-release
 * (2.7.8), packed flags of the batch's first descriptor store-release (2.8.9). */
int vq_publish_used(struct virtqueue *vq, const struct guest_mem *mem);

/* vq_add_used(vq_chain_used(chain)) then vq_publish_used(). */
int vq_push(struct virtqueue *vq, const struct guest_mem *mem, const struct vq_chain *chain);

/* ---- notifications (virtqueue.c dispatching) ---- */

/* Call after vq_publish_used(): true when the driver wants a used-buffer notification now.
 * Split: EVENT_IDX used_event at avail->ring[N], notify when (u16)(new - event - 1) <
 * (u16)(new - old) (2.7.7.2); otherwise unless VRING_AVAIL_F_NO_INTERRUPT. Packed: driver event
 * suppression ENABLE / DISABLE / DESC (2.8.10). False when nothing was published since the last
 * decision, or the queue is inactive or broken. */
bool vq_should_notify(struct virtqueue *vq, const struct guest_mem *mem);

/* Device-side kick suppression (2.7.10, 2.8.10). Disable: split sets VRING_USED_F_NO_NOTIFY
 * (without EVENT_IDX), packed writes RING_EVENT_FLAGS_DISABLE. Returns 0 or negative. */
int vq_disable_notify(struct virtqueue *vq, const struct guest_mem *mem);

/* Re-enables kicks (split: clear NO_NOTIFY, or avail_event = last_avail with EVENT_IDX; packed:
 * ENABLE, or DESC at the next slot), then fences and looks at the ring again so a buffer added
 * meanwhile is not lost. Returns 1 when work is available (pop again before sleeping), 0 when
 * the ring is empty, negative on error. */
int vq_enable_notify(struct virtqueue *vq, const struct guest_mem *mem);

/* True (1) when the driver has made a buffer available that the device has not popped, 0 when
 * not, negative for an inactive or broken queue. Changes nothing: a polling device's look at
 * the ring (virtio/core/poll.c). */
int vq_has_avail(const struct virtqueue *vq, const struct guest_mem *mem);

/* ---- chain byte streams (chain_io.c) ---- */

/* Device-readable bytes not consumed yet. */
static inline uint32_t vq_chain_readable(const struct vq_chain *c)
{
	return c->readable_len - c->rd.pos;
}

/* Device-writable room not passed yet. */
static inline uint32_t vq_chain_writable(const struct vq_chain *c)
{
	return c->writable_len - c->wr.pos;
}

/* Copies the next `len` device-readable bytes into dst, across segment boundaries. All or
 * nothing: -VQ_E_SHORT (nothing consumed) when fewer remain; -EFAULT if guest RAM vanished. */
int vq_chain_read(struct vq_chain *c, const struct guest_mem *mem, void *dst, size_t len);

/* Copies `len` bytes into the next device-writable bytes and counts them as written. All or
 * nothing: -VQ_E_SHORT when less room remains. Readable buffers are never written. */
int vq_chain_write(struct vq_chain *c, const struct guest_mem *mem, const void *src, size_t len);

/* Moves a cursor without copying. Skipped writable bytes are NOT counted as written. Return 0 or
 * -VQ_E_SHORT (cursor unchanged). */
/* Guest address of the chain's last device-writable byte (where virtio-blk's status goes,
 * 5.2.6), for a device that completes the request later and keeps only that address. Returns 0,
 * or -EINVAL when the chain has no writable byte. */
static inline int vq_chain_last_writable(const struct vq_chain *c, uint64_t *gpa)
{
	if (c->writable_len == 0 || c->nsegs == c->nreadable)
		return -EINVAL;
	*gpa = c->segs[c->nsegs - 1].addr + c->segs[c->nsegs - 1].len - 1;
	return 0;
}
int vq_chain_skip_read(struct vq_chain *c, size_t len);

/* Zero-copy access for file I/O (preadv/pwritev/io_uring): maps the next `len` bytes of one
 * direction to host iovecs and advances that cursor. Returns the number of iovecs used, or
 * -VQ_E_SHORT / -ENOBUFS (more than max_iov needed) / -EFAULT with the cursor unchanged. Bytes
 * mapped by vq_chain_write_iov() are not counted as written until vq_chain_add_written(). */
int vq_chain_read_iov(struct vq_chain *c, const struct guest_mem *mem, size_t len,
		      struct iovec *iov, int max_iov);
int vq_chain_write_iov(struct vq_chain *c, const struct guest_mem *mem, size_t len,
		       struct iovec *iov, int max_iov);

/* Copies up to `len` bytes of `src` into the buffers of `iov` in order (e.g. a header into the
 * host iovecs vq_chain_write_iov() mapped for it, written after the payload); zero-length
 * entries are skipped. Returns the bytes copied: `len`, or less when the iovecs hold fewer.
 * Counts nothing as written (vq_chain_add_written() does). */
size_t vq_iov_from_buf(const struct iovec *iov, int niov, const void *src, size_t len);

/* Records `n` bytes written through vq_chain_write_iov() mappings. Refuses (-EINVAL) a count
 * that would claim more than the writer cursor has passed, so the used len never exceeds it. */
int vq_chain_add_written(struct vq_chain *c, uint32_t n);

/* Where the writer cursor stands, to take back a vq_chain_write_iov() mapping that wrote nothing
 * (a socket read that came back empty): vq_chain_write_rewind() returns the cursor there. A mark
 * taken before bytes were counted as written cannot go behind them (-EINVAL, nothing changed). */
static inline struct vq_cursor vq_chain_write_mark(const struct vq_chain *c)
{
	return c->wr;
}
static inline int vq_chain_write_rewind(struct vq_chain *c, struct vq_cursor mark)
{
	if (mark.pos < c->written || mark.pos > c->wr.pos)
		return -EINVAL;
	c->wr = mark;
	return 0;
}

#endif
