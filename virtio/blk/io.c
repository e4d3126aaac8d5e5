/* virtio-blk I/O engines: io_uring and synchronous (see io.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/io.h"
#include "virtio/blk/qcow2.h"

/* ---- synchronous engine ---- */

static int sync_run(struct blk_req *req)
{
	switch (req->op) {
	case BLK_OP_READ:
		return blk_disk_rw(req->fd, req->cur, req->ncur, req->cur_off, false, 0);
	case BLK_OP_WRITE:
		return blk_disk_rw(req->fd, req->cur, req->ncur, req->cur_off, true, req->rwf);
	case BLK_OP_FLUSH:
		return fdatasync(req->fd) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/* A qcow2 disk's request, translated by the qcow2 layer and done synchronously under its lock
 * (the metadata it changes is shared by every queue). RWF_DSYNC (write-through) becomes a
 * flush after the write, so the metadata is durable too. */
static int qcow2_run(struct blk_req *req)
{
	int r;
	switch (req->op) {
	case BLK_OP_READ:
		return qcow2_readv(req->qcow2, req->cur, req->ncur, req->cur_off);
	case BLK_OP_WRITE:
		r = qcow2_writev(req->qcow2, req->cur, req->ncur, req->cur_off);
		return r || !(req->rwf & RWF_DSYNC) ? r : qcow2_flush(req->qcow2);
	case BLK_OP_FLUSH:
		return qcow2_flush(req->qcow2);
	}
	return -EINVAL;
}

/* ---- io_uring engine ---- */

#ifdef HAVE_LIBURING
/* Prepares the SQE for the rest of req's transfer. The ring has `depth` entries and each
 * request has at most one SQE outstanding, so an SQE is always free. */
static void uring_prep(struct blk_io *io, struct blk_req *req)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	if (!sqe) {
		io->done(io->opaque, req, -EBUSY); /* cannot happen: see above */
		return;
	}
	if (req->op == BLK_OP_FLUSH) {
		io_uring_prep_fsync(sqe, req->fd, IORING_FSYNC_DATASYNC);
	} else if (req->op == BLK_OP_READ) {
		io_uring_prep_readv(sqe, req->fd, req->cur, (unsigned)req->ncur, req->cur_off);
	} else {
		io_uring_prep_writev(sqe, req->fd, req->cur, (unsigned)req->ncur, req->cur_off);
		sqe->rw_flags = req->rwf;
	}
	io_uring_sqe_set_data(sqe, req);
	io->queued++;
	io->inflight++;
}

/* One CQE: continue a short transfer, or complete the request. */
static void uring_complete(struct blk_io *io, struct blk_req *req, int res)
{
	io->inflight--;
	if (res == -EINTR || res == -EAGAIN) {
		uring_prep(io, req); /* transient: resubmit the same range */
		return;
	}
	if (req->op != BLK_OP_FLUSH && res > 0) {
		req->cur_off += (uint64_t)res;
		blk_iov_advance(&req->cur, &req->ncur, (size_t)res);
		if (req->ncur > 0) {
			uring_prep(io, req); /* short transfer: continue it */
			return;
		}
		res = 0;
	} else if (req->op != BLK_OP_FLUSH && res == 0 && req->ncur > 0) {
		res = -EIO; /* no progress: end of file */
	}
	io->done(io->opaque, req, res);
}

/* Delivers every completion in the CQ ring now. */
static void uring_reap(struct blk_io *io)
{
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&io->ring, &cqe) == 0) {
		struct blk_req *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&io->ring, cqe);
		uring_complete(io, req, res);
	}
}

static int uring_init(struct blk_io *io, unsigned depth, const char *name)
{
	int r = io_uring_queue_init(depth, &io->ring, 0);
	if (r < 0) {
		log_warn("%s: io_uring_queue_init: %s", name, strerror(-r));
		return r;
	}
	io->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io->event_fd < 0) {
		r = -errno;
		log_error("%s: eventfd: %s", name, strerror(errno));
	} else if ((r = io_uring_register_eventfd(&io->ring, io->event_fd)) < 0) {
		log_warn("%s: io_uring_register_eventfd: %s", name, strerror(-r));
		close(io->event_fd);
		io->event_fd = -1;
	}
	if (r < 0)
		io_uring_queue_exit(&io->ring);
	return r < 0 ? r : 0;
}
#endif

/* The mode after the VMM_BLK_AIO override of AUTO. */
static enum virtio_blk_aio effective_mode(enum virtio_blk_aio mode)
{
	const char *env = getenv("VMM_BLK_AIO");
	if (mode != VIRTIO_BLK_AIO_AUTO || !env)
		return mode;
	if (!strcmp(env, "sync"))
		return VIRTIO_BLK_AIO_SYNC;
	if (!strcmp(env, "io_uring"))
		return VIRTIO_BLK_AIO_IO_URING;
	return mode;
}

int blk_io_init(struct blk_io *io, enum virtio_blk_aio mode, unsigned depth, blk_io_done_fn done,
		void *opaque, const char *name)
{
	memset(io, 0, sizeof(*io));
	io->event_fd = -1;
	io->done = done;
	io->opaque = opaque;
	mode = effective_mode(mode);
	if (mode == VIRTIO_BLK_AIO_SYNC)
		return 0;
#ifdef HAVE_LIBURING
	int r = uring_init(io, depth, name);
	if (r == 0) {
		io->uring = true;
		io->writes = mode == VIRTIO_BLK_AIO_IO_URING ? BLK_WRITES_RING : BLK_WRITES_NOWAIT;
		return 0;
	}
#else
	int r = -ENOSYS;
	(void)depth;
#endif
	if (mode == VIRTIO_BLK_AIO_IO_URING) {
		log_error("%s: aio=io_uring asked for but io_uring is unavailable (%s)", name,
			  strerror(-r));
		return r;
	}
	log_info("%s: io_uring unavailable (%s); using synchronous I/O", name, strerror(-r));
	return 0;
}

#ifdef HAVE_LIBURING
/* `bytes` of req moved at once: the request completed (true, counted in *count), or the ring
 * moves the rest (false). */
static bool inline_moved(struct blk_io *io, struct blk_req *req, size_t bytes, uint64_t *count)
{
	req->cur_off += (uint64_t)bytes;
	blk_iov_advance(&req->cur, &req->ncur, bytes);
	if (req->ncur > 0)
		return false;
	(*count)++;
	io->done(io->opaque, req, 0);
	return true;
}

/* The latency path: the first read of a batch (between two blk_io_submit() calls), with nothing
 * else in flight, is done here and now when the page cache can serve it (preadv2 RWF_NOWAIT
 * never sleeps on the disk), which saves the ring's submit, its completion eventfd and a
 * wake-up of the I/O thread. Returns true when req completed. The rest of a batch goes to the
 * ring, which moves many requests per system call. */
static bool try_inline_read(struct blk_io *io, struct blk_req *req)
{
	ssize_t r;

	if (req->op != BLK_OP_READ || io->inflight || io->queued || io->inline_tried)
		return false;
	io->inline_tried = true;
	r = preadv2(req->fd, req->cur, req->ncur, (off_t)req->cur_off, RWF_NOWAIT);
	if (r <= 0)
		return false; /* EAGAIN (not cached), an error or EOF: the ring says which */
	return inline_moved(io, req, (size_t)r, &io->inline_reads); /* partly cached: the ring */
}

/* A buffered write done here and now (see enum blk_write_path). Returns true when req
 * completed (its result passed to done); false leaves the rest of it to the ring. */
static bool try_inline_write(struct blk_io *io, struct blk_req *req)
{
	ssize_t r;

	if (req->op != BLK_OP_WRITE || !req->buffered || (req->rwf & RWF_DSYNC) ||
	    io->writes == BLK_WRITES_RING)
		return false;
	if (io->writes == BLK_WRITES_NOWAIT) {
		r = pwritev2(req->fd, req->cur, req->ncur, (off_t)req->cur_off,
			     req->rwf | RWF_NOWAIT);
		if (r < 0 && errno == EOPNOTSUPP)
			io->writes = BLK_WRITES_INLINE; /* this file system never takes it */
		else if (r <= 0)
			return false; /* EAGAIN (it would block), an error or nothing: the ring */
		else
			return inline_moved(io, req, (size_t)r, &io->inline_writes);
	}
	io->inline_writes++;
	io->done(io->opaque, req,
		 blk_disk_rw(req->fd, req->cur, req->ncur, req->cur_off, true, req->rwf));
	return true;
}
#endif

void blk_io_start(struct blk_io *io, struct blk_req *req)
{
	req->cur = req->iov;
	req->ncur = req->niov;
	req->cur_off = req->off;
	if (req->qcow2) {
		io->done(io->opaque, req, qcow2_run(req));
		return;
	}
#ifdef HAVE_LIBURING
	if (io->uring) {
		if (!try_inline_read(io, req) && !try_inline_write(io, req))
			uring_prep(io, req);
		return;
	}
#endif
	io->done(io->opaque, req, sync_run(req));
}

void blk_io_submit(struct blk_io *io)
{
	io->inline_tried = false; /* a new batch may start with an inline read */
#ifdef HAVE_LIBURING
	while (io->uring && io->queued) {
		int r = io_uring_submit(&io->ring);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			/* The SQEs stay in the ring; the next submit (after a completion) retries.
			 */
			log_error("io_uring_submit: %s", strerror(-r));
			return;
		}
		io->queued -= (unsigned)r < io->queued ? (unsigned)r : io->queued;
		if (r == 0)
			return;
	}
#else
	(void)io;
#endif
}

void blk_io_reap(struct blk_io *io)
{
	uint64_t count;
	if (io->event_fd >= 0 && read(io->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_debug("blk io eventfd read: %s", strerror(errno));
#ifdef HAVE_LIBURING
	if (io->uring)
		uring_reap(io);
#endif
}

void blk_io_drain(struct blk_io *io)
{
#ifdef HAVE_LIBURING
	while (io->uring && io->inflight) {
		/* Submits what is queued (a plain wait would sleep forever on unsubmitted SQEs)
		 * and sleeps until at least one completion arrived. */
		int r = io_uring_submit_and_wait(&io->ring, 1);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			log_error("io_uring_submit_and_wait: %s (%u requests lost)", strerror(-r),
				  io->inflight);
			return;
		}
		io->queued -= (unsigned)r < io->queued ? (unsigned)r : io->queued;
		uring_reap(io);
	}
#else
	(void)io;
#endif
}

void blk_io_close(struct blk_io *io)
{
	blk_io_drain(io);
#ifdef HAVE_LIBURING
	if (io->uring)
		io_uring_queue_exit(&io->ring);
	io->uring = false;
#endif
	if (io->event_fd >= 0)
		close(io->event_fd);
	io->event_fd = -1;
}
