/* I/O engine of virtio-blk: reads, writes and flushes of guest requests, asynchronously through
 * io_uring (liburing) with many requests in flight, or synchronously (preadv2/pwritev2/fdatasync)
 * when io_uring cannot be set up or the sync engine is asked for.
 *
 * The engine knows nothing about virtqueues. The device fills a struct blk_req (guest buffers as
 * host iovecs from the bounds-checked chain API, byte offset, descriptor to use), starts it, and
 * gets it back through the `done` callback with 0 or -errno once the whole transfer finished:
 *   - sync: inside blk_io_start();
 *   - io_uring: from blk_io_reap(), which the device calls when the engine's eventfd
 *     (blk_io_event_fd(), registered with io_uring_register_eventfd) becomes readable, and from
 *     blk_io_drain(); or inside blk_io_start() for a read the page cache serves while nothing
 *     else is in flight (preadv2 RWF_NOWAIT: the latency path of queue depth 1).
 * Short transfers are continued; one that makes no progress (end of file) completes with -EIO.
 *
 * Not thread-safe: one caller at a time (the device lock). */
#ifndef VIRTIO_BLK_IO_H
#define VIRTIO_BLK_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "virtio/blk/options.h"
#include "virtio/queue/virtqueue.h"

/* Data segments one request may have: seg_max (queue size 256 - 2, 5.2.4) plus the two segments
 * the data may share with the header and the status byte. */
#define BLK_REQ_MAX_IOV 256

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH };

/* One request in flight. Everything needed to complete it later is here; the popped chain is
 * not kept. */
struct blk_req {
	struct vq_used used; /* id and ndescs from the chain; len filled at completion */
	uint64_t status_gpa; /* guest address of the status byte (the last writable byte) */
	uint32_t data_len;   /* data bytes (read: bytes the guest gets on success) */
	enum blk_op op;
	int fd;
	struct qcow2 *qcow2; /* a qcow2 disk's request: served through it, synchronously */
	int rwf;       /* pwritev2 / io_uring rw_flags for writes: RWF_DSYNC for write-through */
	bool buffered; /* a write through the page cache (not O_DIRECT): may be done inline */
	uint64_t off;
	/* transfer progress: the iovecs still to move (cur[0..ncur)) and the offset they go to */
	struct iovec *cur;
	int ncur;
	uint64_t cur_off;
	int niov;
	struct iovec iov[BLK_REQ_MAX_IOV];
};

typedef void (*blk_io_done_fn)(void *opaque, struct blk_req *req, int result);

/* The io_uring engine's buffered writes (not write-through): io_uring hands a write the file
 * system cannot do without blocking (ext4 and tmpfs refuse RWF_NOWAIT on buffered writes) to a
 * kernel worker thread, and waking it costs more than the write itself (on a 2-CPU host 20k
 * writes/s at queue depth 1 against 650k done inline; issue 68). So with aio=auto a buffered
 * write is first tried at once with RWF_NOWAIT (never blocking); where the file system refuses
 * that, it is done at once without it (a page-cache copy; Firecracker's default engine does
 * the same), and where it would block, it goes to the ring. aio=io_uring sends every write to
 * the ring. */
enum blk_write_path {
	BLK_WRITES_NOWAIT, /* try RWF_NOWAIT at once, the ring when it would block */
	BLK_WRITES_INLINE, /* the file system refused RWF_NOWAIT: at once, synchronously */
	BLK_WRITES_RING,   /* always the ring (aio=io_uring) */
};

struct blk_io {
	bool uring; /* false: synchronous engine */
	int event_fd;
	unsigned inflight;	    /* started and not completed (io_uring) */
	unsigned queued;	    /* prepared SQEs not yet submitted */
	uint64_t inline_reads;	    /* io_uring engine: reads done at once from the page cache */
	bool inline_tried;	    /* this batch had its inline read (see blk_io_start) */
	uint64_t inline_writes;	    /* io_uring engine: buffered writes done at once */
	enum blk_write_path writes; /* how buffered writes go (see blk_io_start) */
	blk_io_done_fn done;
	void *opaque;
#ifdef HAVE_LIBURING
	struct io_uring ring;
#endif
};

/* Sets up the engine for up to `depth` requests in flight. AUTO tries io_uring and falls back to
 * sync (logging why); IO_URING fails when it cannot be set up; SYNC never tries. The environment
 * variable VMM_BLK_AIO=sync|io_uring replaces AUTO. Returns 0 or -errno. */
int blk_io_init(struct blk_io *io, enum virtio_blk_aio mode, unsigned depth, blk_io_done_fn done,
		void *opaque, const char *name);

/* The eventfd signalled on io_uring completions, or -1 for the sync engine. */
static inline int blk_io_event_fd(const struct blk_io *io)
{
	return io->event_fd;
}

/* Starts req (op, fd, rwf, off, iov/niov filled). Sync: performs it and calls done before
 * returning. io_uring: queues it until blk_io_submit(). */
void blk_io_start(struct blk_io *io, struct blk_req *req);

/* Hands the queued requests to the kernel (io_uring; nothing for sync). */
void blk_io_submit(struct blk_io *io);

/* Clears the eventfd and delivers every completion available now. */
void blk_io_reap(struct blk_io *io);

/* Submits what is queued and waits until no request is in flight, delivering each completion.
 * Used before a reset or teardown so no I/O writes guest memory afterwards. */
void blk_io_drain(struct blk_io *io);

/* Drains, then releases the ring and the eventfd. */
void blk_io_close(struct blk_io *io);

#endif
