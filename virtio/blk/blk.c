/* virtio-blk device model (see blk.h). Section numbers: virtio 1.2. */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <linux/fs.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/io.h"
#include "virtio/blk/qcow2.h"
#include "virtio/blk/throttle.h"
#include "virtio/core/serve.h"

/* What decoding a request came to (Firecracker's request.rs has the same split): done with a
 * status now, or handed to the I/O engine, which completes it through blk_io_done(). No status
 * byte value doubles as "pending". A rate limiter would add a THROTTLED outcome here. */
enum blk_outcome { BLK_DONE, BLK_SUBMITTED };
struct blk_result {
	enum blk_outcome outcome;
	uint8_t status; /* BLK_DONE: VIRTIO_BLK_S_* */
};

static struct blk_result blk_done(uint8_t status)
{
	return (struct blk_result){BLK_DONE, status};
}

static struct blk_result blk_submitted(void)
{
	return (struct blk_result){BLK_SUBMITTED, 0};
}

/* One request queue (5.2.2: queue i is requestq i) and what serves it: its own I/O engine and
 * request slots. With num-queues > 1 each queue is a queue group of the framework, served by its
 * own I/O thread under its own lock, so nothing here is shared between queues. */
struct blk_queue {
	struct virtio_blk *b;
	uint16_t index;
	struct blk_io io;
	bool used_pending; /* used elements added, not yet published */
	bool stalled;	   /* popping stopped for lack of a free slot: a completion resumes it */
	struct rl_timer rl_timer; /* armed: the rate limiter refused; this queue waits for it */
	/* The free request slots as a stack of indices: taking and freeing a slot touches only this
	 * array, so the ~4 KiB slots are faulted in when first used, not when the disk is set up.
	 */
	uint8_t free_slot[VIRTIO_BLK_DEPTH];
	unsigned nfree;
	struct blk_req reqs[VIRTIO_BLK_DEPTH];
	struct vq_chain chain; /* scratch for vq_pop() */
};

struct virtio_blk {
	struct virtio_dev dev; /* first: container_of by cast */
	struct virtio_blk_config cfg;
	struct blk_disk disk;
	struct blk_throttle thr;      /* rate limiter shared by the queues (throttle.h) */
	char id[VIRTIO_BLK_ID_BYTES]; /* GET_ID answer, NUL-padded */
	bool writethrough;	      /* FLUSH not negotiated: writes use RWF_DSYNC */
	bool resetting;		      /* completions only free their slot (every group held) */
	atomic_bool io_error_logged;  /* set by any queue's thread */
	uint16_t nq;		      /* request queues */
	/* nq of them: each is ~280 KiB (its request slots), so a disk allocates only its own */
	struct blk_queue q[];
};

/* The device is one allocation that starts with its struct virtio_dev, so a VM that frees
 * devices with virtio_dev_destroy(dev); free(dev) frees a disk correctly too. */
_Static_assert(offsetof(struct virtio_blk, dev) == 0, "dev must come first");

static struct virtio_blk *to_blk(struct virtio_dev *dev)
{
	return (struct virtio_blk *)dev;
}

/* ---- request slots ---- */

_Static_assert(VIRTIO_BLK_DEPTH <= 256, "slot indices are bytes");

/* Slot 0 on top: a queue that never has more than a few requests in flight uses only its first
 * slots. */
static void free_all_reqs(struct blk_queue *bq)
{
	for (unsigned i = 0; i < VIRTIO_BLK_DEPTH; i++)
		bq->free_slot[i] = (uint8_t)(VIRTIO_BLK_DEPTH - 1 - i);
	bq->nfree = VIRTIO_BLK_DEPTH;
}

static struct blk_req *take_req(struct blk_queue *bq)
{
	struct blk_req *req = &bq->reqs[bq->free_slot[--bq->nfree]];
	memset(req, 0, offsetof(struct blk_req, iov));
	return req;
}

static void put_req(struct blk_queue *bq, struct blk_req *req)
{
	bq->free_slot[bq->nfree++] = (uint8_t)(req - bq->reqs);
}

/* ---- completion ---- */

/* Writes the status byte, then the used element with len = data bytes written + the status
 * byte (2.7.8: len never claims more than the device wrote). Published later in a batch.
 * Counted as a request (bytes: data read or written) and, unless OK, as an error. */
static void blk_finish(struct blk_queue *bq, struct blk_req *req, uint8_t status,
		       uint32_t data_written)
{
	struct virtio_blk *b = bq->b;
	struct virtio_dev *dev = &b->dev;
	if (!b->resetting) {
		/* The status byte was inside the chain (checked at pop time); write it through the
		 * bounds-checked API all the same, then the used element (2.7.8 order). */
		int r = guest_mem_write(dev->mem, req->status_gpa, &status, 1);
		req->used.len = data_written + 1;
		if (r == 0)
			r = vq_add_used(&dev->vqs[bq->index], dev->mem, req->used);
		if (r) {
			log_debug("virtio-blk %s: vq_add_used: %s", b->disk.path, vq_strerror(r));
		} else {
			bq->used_pending = true;
			bool ok = status == VIRTIO_BLK_S_OK;
			uint32_t out = req->op == BLK_OP_WRITE ? req->data_len : 0;
			virtio_dev_count_requests(dev, 1, ok ? (uint64_t)data_written + out : 0);
			if (!ok)
				virtio_dev_count_error(dev);
		}
	}
	put_req(bq, req);
}

/* The I/O engine's callback: a read, write or flush finished with 0 or -errno. */
static void blk_io_done(void *opaque, struct blk_req *req, int result)
{
	struct blk_queue *bq = opaque;
	struct virtio_blk *b = bq->b;
	if (result && !b->resetting && !atomic_exchange(&b->io_error_logged, true)) {
		log_warn("virtio-blk %s: I/O error at byte %llu: %s (reported to the guest; "
			 "further errors not logged)",
			 b->disk.path, (unsigned long long)req->off, strerror(-result));
	}
	uint32_t data = result == 0 && req->op == BLK_OP_READ ? req->data_len : 0;
	blk_finish(bq, req, result ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, data);
}

static void blk_publish(struct blk_queue *bq)
{
	if (!bq->used_pending)
		return;
	bq->used_pending = false;
	struct virtio_dev *dev = &bq->b->dev;
	if (vq_publish_used(&dev->vqs[bq->index], dev->mem) == 0)
		virtio_dev_notify_used(dev, bq->index);
}

/* ---- request decoding (5.2.6) ---- */

/* Byte offset of [sector, sector + len) when len is whole sectors and the range fits the disk;
 * overflow-checked, since sector comes from the guest. */
static bool range_ok(const struct blk_disk *d, uint64_t sector, uint64_t len, uint64_t *off)
{
	uint64_t end;
	if (len % BLK_SECTOR_SIZE)
		return false;
	if (__builtin_add_overflow(sector, len >> BLK_SECTOR_SHIFT, &end) || end > d->sectors)
		return false;
	*off = sector << BLK_SECTOR_SHIFT; /* sector <= capacity < 2^55: no overflow */
	return true;
}

/* A qcow2 disk's read or write (issue 51): straight to the file through the I/O engine (io_uring,
 * as for a raw file) when its range is plain data clusters there, else through the qcow2 layer,
 * synchronously (io.c). Returns 0, or -errno when the image's metadata is broken (logged). */
static int route_qcow2(struct virtio_blk *b, struct blk_req *req)
{
	uint64_t host;
	int r = qcow2_map(b->disk.qcow2, req->off, req->data_len, &host);
	if (r < 0)
		return r;
	if (r == 1)
		req->off = host;
	else
		req->qcow2 = b->disk.qcow2;
	return 0;
}

/* VIRTIO_BLK_T_IN: map the data room (all writable bytes but the status) for the read. */
static struct blk_result prep_read(struct virtio_blk *b, struct vq_chain *c, struct blk_req *req,
				   uint64_t sector)
{
	uint32_t len = vq_chain_writable(c) - 1;
	if (!range_ok(&b->disk, sector, len, &req->off))
		return blk_done(VIRTIO_BLK_S_IOERR);
	int n = vq_chain_write_iov(c, b->dev.mem, len, req->iov, BLK_REQ_MAX_IOV);
	if (n < 0)
		return blk_done(VIRTIO_BLK_S_IOERR); /* more segments than seg_max allows */
	req->op = BLK_OP_READ;
	req->niov = n;
	req->data_len = len;
	if (b->disk.qcow2 && route_qcow2(b, req))
		return blk_done(VIRTIO_BLK_S_IOERR);
	req->fd = blk_disk_fd_for(&b->disk, req->iov, n, req->off);
	return blk_submitted();
}

/* True when this write would put the qcow2 magic at the start of a disk whose format was probed
 * as raw: the next open would probe it as qcow2, and a guest could so name a backing file on the
 * host (QEMU refuses such a write to sector 0 of a probed raw image for the same reason). A
 * disk given format=raw is the guest's to write anywhere. */
static bool writes_probed_magic(const struct blk_disk *d, const struct blk_req *req)
{
	static const uint8_t magic[4] = {'Q', 'F', 'I', 0xfb};
	uint8_t head[sizeof(magic)];
	size_t got = 0;

	if (d->format != VIRTIO_BLK_FORMAT_AUTO || d->qcow2 || req->off >= sizeof(magic))
		return false;
	for (int i = 0; i < req->niov && got < sizeof(head); i++) {
		size_t n = req->iov[i].iov_len;
		if (n > sizeof(head) - got)
			n = sizeof(head) - got;
		memcpy(head + got, req->iov[i].iov_base, n);
		got += n;
	}
	return req->off == 0 && got == sizeof(head) && !memcmp(head, magic, sizeof(magic));
}

/* VIRTIO_BLK_T_OUT: map every readable byte after the header as the data. */
static struct blk_result prep_write(struct virtio_blk *b, struct vq_chain *c, struct blk_req *req,
				    uint64_t sector)
{
	uint32_t len = vq_chain_readable(c);
	if (b->disk.ro || !range_ok(&b->disk, sector, len, &req->off))
		return blk_done(
		    VIRTIO_BLK_S_IOERR); /* 5.2.6.2: RO device: IOERR, no data written */
	int n = vq_chain_read_iov(c, b->dev.mem, len, req->iov, BLK_REQ_MAX_IOV);
	if (n < 0)
		return blk_done(VIRTIO_BLK_S_IOERR);
	req->op = BLK_OP_WRITE;
	req->niov = n;
	req->data_len = len;
	req->rwf = b->writethrough ? RWF_DSYNC : 0;
	if (writes_probed_magic(&b->disk, req)) {
		static atomic_bool warned; /* once per process: the guest decides how often */
		if (!atomic_exchange(&warned, true))
			log_warn(
			    "%s: refused a write of the qcow2 magic to sector 0 of a disk probed "
			    "as raw (give format=raw to allow it)",
			    b->disk.path);
		return blk_done(VIRTIO_BLK_S_IOERR);
	}
	if (b->disk.qcow2 && route_qcow2(b, req))
		return blk_done(VIRTIO_BLK_S_IOERR);
	req->fd = blk_disk_fd_for(&b->disk, req->iov, n, req->off);
	req->buffered = !b->disk.direct || req->fd != b->disk.fd;
	return blk_submitted();
}

/* VIRTIO_BLK_T_GET_ID: up to 20 bytes of the ID (NUL-padded, not terminated when 20 long). */
static struct blk_result prep_get_id(struct virtio_blk *b, struct vq_chain *c, uint32_t *written)
{
	uint32_t room = vq_chain_writable(c) - 1;
	uint32_t n = room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES;
	if (vq_chain_write(c, b->dev.mem, b->id, n))
		return blk_done(VIRTIO_BLK_S_IOERR);
	*written = n;
	return blk_done(VIRTIO_BLK_S_OK);
}

/* Checks one discard / write-zeroes segment (5.2.6.2): unknown flags, and UNMAP on a discard,
 * are UNSUPP; a count above the advertised maximum or a range past the disk is IOERR. */
static uint8_t check_dwz_seg(struct virtio_blk *b, const struct virtio_blk_discard_write_zeroes *s,
			     bool zeroes, uint64_t *off, uint64_t *len)
{
	uint32_t flags = le32toh(s->flags), count = le32toh(s->num_sectors);
	if (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;
	if (!zeroes && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		return VIRTIO_BLK_S_UNSUPP;
	if (count > (zeroes ? VIRTIO_BLK_WZ_MAX_SECT : VIRTIO_BLK_DISCARD_MAX_SECT))
		return VIRTIO_BLK_S_IOERR;
	*len = (uint64_t)count << BLK_SECTOR_SHIFT;
	return range_ok(&b->disk, le64toh(s->sector), *len, off) ? VIRTIO_BLK_S_OK
								 : VIRTIO_BLK_S_IOERR;
}

/* VIRTIO_BLK_T_DISCARD / WRITE_ZEROES: 1..max segments of 16 bytes, all copied out once and
 * checked before any is carried out. Done synchronously: fallocate() is quick. */
static struct blk_result do_dwz(struct virtio_blk *b, struct vq_chain *c, bool zeroes)
{
	struct virtio_blk_discard_write_zeroes segs[VIRTIO_BLK_DISCARD_MAX_SEG];
	_Static_assert(VIRTIO_BLK_WZ_MAX_SEG <= VIRTIO_BLK_DISCARD_MAX_SEG, "segs[] too small");
	uint32_t len = vq_chain_readable(c), n = len / sizeof(segs[0]);
	uint32_t max = zeroes ? VIRTIO_BLK_WZ_MAX_SEG : VIRTIO_BLK_DISCARD_MAX_SEG;
	if (b->disk.ro || n == 0 || n > max || len % sizeof(segs[0]))
		return blk_done(VIRTIO_BLK_S_IOERR);
	if (vq_chain_read(c, b->dev.mem, segs, len))
		return blk_done(VIRTIO_BLK_S_IOERR);
	uint64_t off[VIRTIO_BLK_DISCARD_MAX_SEG], bytes[VIRTIO_BLK_DISCARD_MAX_SEG];
	for (uint32_t i = 0; i < n; i++) {
		uint8_t st = check_dwz_seg(b, &segs[i], zeroes, &off[i], &bytes[i]);
		if (st != VIRTIO_BLK_S_OK)
			return blk_done(st);
	}
	for (uint32_t i = 0; i < n; i++) {
		bool unmap = le32toh(segs[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		int r = zeroes ? blk_disk_write_zeroes(&b->disk, off[i], bytes[i], unmap)
			       : blk_disk_discard(&b->disk, off[i], bytes[i]);
		if (r)
			return blk_done(VIRTIO_BLK_S_IOERR);
	}
	return blk_done(VIRTIO_BLK_S_OK);
}

/* Decodes the request after its header: done with a final status, or submitted with req set
 * up for the I/O engine. *written gets the data bytes written into the chain so far. */
static struct blk_result blk_prepare(struct virtio_blk *b, struct vq_chain *c, struct blk_req *req,
				     const struct virtio_blk_outhdr *hdr, uint32_t *written)
{
	uint64_t sector = le64toh(hdr->sector);
	uint32_t type = le32toh(hdr->type);
	*written = 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return prep_read(b, c, req, sector);
	case VIRTIO_BLK_T_OUT:
		return prep_write(b, c, req, sector);
	case VIRTIO_BLK_T_FLUSH:
		/* fdatasync is file-wide: it covers the writes completed on every queue, as 5.2.6.2
		 * asks of a flush (writes still in flight on another queue are not completed, so
		 * the driver does not expect them covered). */
		if (b->disk.ro)
			return blk_done(VIRTIO_BLK_S_OK); /* nothing can be dirty */
		req->op = BLK_OP_FLUSH;
		req->qcow2 = b->disk.qcow2;
		req->fd = b->disk.fd;
		return blk_submitted();
	case VIRTIO_BLK_T_GET_ID:
		return prep_get_id(b, c, written);
	case VIRTIO_BLK_T_DISCARD:
		if (b->disk.ro)
			return blk_done(
			    VIRTIO_BLK_S_IOERR); /* checked first: never touch a read-only file */
		if (!virtio_dev_has_feature(&b->dev, VIRTIO_BLK_F_DISCARD))
			return blk_done(VIRTIO_BLK_S_UNSUPP);
		return do_dwz(b, c, false);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (b->disk.ro)
			return blk_done(VIRTIO_BLK_S_IOERR);
		if (!virtio_dev_has_feature(&b->dev, VIRTIO_BLK_F_WRITE_ZEROES))
			return blk_done(VIRTIO_BLK_S_UNSUPP);
		return do_dwz(b, c, true);
	default:
		return blk_done(VIRTIO_BLK_S_UNSUPP);
	}
}

/* One popped chain (serve.h handle()): refused by the rate limiter (given back: the timer
 * serves the queue again), or taken, done at once or handed to the I/O engine; a chain without a
 * header or a status byte fails the device. */
static int blk_serve_chain(struct virtio_dev *dev, struct vq_chain *c, void *opaque,
			   uint64_t *bytes)
{
	struct blk_queue *bq = opaque;
	struct virtio_blk *b = bq->b;
	struct virtio_blk_outhdr hdr;

	(void)bytes; /* no byte budget; blk_finish() counts the request and its bytes */
	if (!blk_throttle_admit(&b->thr, &bq->rl_timer, dev, bq->index, c))
		return VIRTIO_CHAIN_WAIT;
	/* Without a header or a status byte there is no request and no way to answer it: a
	 * broken driver (the driver MUST supply both, 5.2.6.1). */
	if (vq_chain_writable(c) == 0 || vq_chain_read(c, dev->mem, &hdr, sizeof(hdr))) {
		virtio_dev_fail(dev, "request without a 16-byte header or a status byte");
		return -EPROTO;
	}
	struct blk_req *req = take_req(bq);
	req->used = vq_chain_used(c);
	uint32_t written;
	vq_chain_last_writable(c, &req->status_gpa); /* a writable byte exists: checked above */
	struct blk_result res = blk_prepare(b, c, req, &hdr, &written);
	if (res.outcome == BLK_SUBMITTED)
		blk_io_start(&bq->io, req);
	else
		blk_finish(bq, req, res.status, written);
	return VIRTIO_CHAIN_TAKEN;
}

/* Before each request: a free slot, and no rate-limiter wait. Out of slots, the queue stalls
 * (kicks stay off): the next completion resumes it. */
static int blk_has_work(struct virtio_dev *dev, void *opaque)
{
	struct blk_queue *bq = opaque;

	if (bq->rl_timer.armed)
		return VIRTIO_WORK_NONE; /* the timer serves the queue again */
	if (bq->nfree)
		return VIRTIO_WORK_CHAIN;
	bq->stalled = true;
	virtio_dev_count_stall(dev);
	return VIRTIO_WORK_NONE;
}

/* Once per wakeup: the requests prepared go to the kernel in one io_uring submission, and the
 * ones done at once are published with one notification. */
static void blk_end_batch(struct virtio_dev *dev, uint16_t q, void *opaque,
			  enum virtio_serve_result result)
{
	struct blk_queue *bq = opaque;

	(void)dev, (void)q, (void)result;
	blk_io_submit(&bq->io);
	blk_publish(bq);
}

/* Serves the queue (virtio/core/serve.h) while slots are free. No budget: the slots bound what
 * is in flight, and requests done at once free theirs. Kicks are off while popping. */
static void blk_process(struct blk_queue *bq)
{
	const struct virtio_server s = {
	    .chain = &bq->chain,
	    .max_chains = UINT_MAX,
	    .quiet = true,
	    .has_work = blk_has_work,
	    .handle = blk_serve_chain,
	    .end_batch = blk_end_batch,
	    .opaque = bq,
	};

	bq->stalled = false;
	virtio_serve_queue(&bq->b->dev, bq->index, &s);
}

/* ---- virtio_dev ops and the completion eventfds ---- */

static void blk_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	struct virtio_blk *b = to_blk(dev);
	if (q < b->nq)
		blk_process(&b->q[q]);
}

/* The completion eventfd of one queue's engine (registered with that queue's group). */
static void blk_on_completion(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct virtio_blk *b = to_blk(dev);
	(void)revents;
	for (uint16_t i = 0; i < b->nq; i++) {
		struct blk_queue *bq = &b->q[i];
		if (blk_io_event_fd(&bq->io) != fd)
			continue;
		blk_io_reap(&bq->io);
		blk_io_submit(&bq->io); /* short transfers continued by the reap */
		blk_publish(bq);
		if (bq->stalled)
			blk_process(bq); /* slots were freed: take what waited for one */
	}
}

/* A queue's rate-limiter wait is over: pop again what the limiter refused. */
static void blk_on_throttle_timer(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct virtio_blk *b = to_blk(dev);
	(void)revents;
	for (uint16_t i = 0; i < b->nq; i++) {
		if (b->q[i].rl_timer.fd != fd)
			continue;
		rl_timer_fired(&b->q[i].rl_timer);
		blk_process(&b->q[i]);
	}
}

static int blk_activate(struct virtio_dev *dev)
{
	struct virtio_blk *b = to_blk(dev);
	/* a driver that did not take the FLUSH offered gets every write synced; flush=off
	 * offers none and syncs nothing (Firecracker's Unsafe) */
	b->writethrough = (dev->host_features & 1ull << VIRTIO_BLK_F_FLUSH) &&
			  !virtio_dev_has_feature(dev, VIRTIO_BLK_F_FLUSH);
	return 0;
}

/* Waits for every request in flight (file I/O cannot be cancelled), dropping their
 * completions: after this returns no I/O writes guest memory and no used element is added. */
static void blk_reset(struct virtio_dev *dev)
{
	struct virtio_blk *b = to_blk(dev);
	b->resetting = true; /* every group is held: no queue is being served */
	for (uint16_t i = 0; i < b->nq; i++) {
		struct blk_queue *bq = &b->q[i];
		blk_io_drain(&bq->io);
		bq->used_pending = false;
		bq->stalled = false;
		free_all_reqs(bq);
	}
	b->resetting = false;
}

/* Pause (virtio_dev_pause): complete every request in flight on queue `group` (one queue per
 * group) into the used ring, start none. A stalled producer is rescheduled: the first pass after
 * the resume pops what waited. */
static void blk_quiesce_group(struct virtio_dev *dev, unsigned group)
{
	struct virtio_blk *b = to_blk(dev);
	if (group >= b->nq)
		return;
	struct blk_queue *bq = &b->q[group];
	blk_io_drain(&bq->io);
	blk_publish(bq);
	if (bq->stalled)
		virtio_dev_reschedule(dev, bq->index);
}

static void blk_destroy(struct virtio_dev *dev)
{
	struct virtio_blk *b = to_blk(dev);
	b->resetting = true;
	for (uint16_t i = 0; i < b->nq; i++) {
		blk_io_close(&b->q[i].io);
		rl_timer_destroy(&b->q[i].rl_timer);
	}
	blk_disk_close(&b->disk);
	blk_throttle_destroy(&b->thr);
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* What a disk keeps between requests. The config space is derived from the disk the normal create
 * path re-opens by path, so it is saved to be compared, not taken: a disk whose size or geometry
 * changed since the snapshot is refused (the guest's file system would not survive it). */
struct virtio_blk_state {
	struct virtio_blk_config cfg; /* little endian, as the guest read it */
	uint8_t writethrough;	      /* 0 or 1 */
	uint8_t reserved[7];	      /* zero */
	/* Added with rate limiters; a state that ends before it (an older snapshot) keeps the
	 * limiter the command line gave. The limiter's configuration travels here too, so a limit
	 * changed at run time (PATCH /drives) survives a restore. */
	struct rate_limiter_state rl;
};
#define BLK_STATE_V1_LEN offsetof(struct virtio_blk_state, rl)

static int blk_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct virtio_blk *b = to_blk(dev);
	struct virtio_blk_state st;

	/* The pause's quiesce completed and published everything: anything left is a bug. */
	for (uint16_t i = 0; i < b->nq; i++) {
		const struct blk_queue *bq = &b->q[i];
		if (bq->io.inflight || bq->io.queued || bq->used_pending)
			return -EBUSY;
	}
	if (cap < sizeof(st))
		return -ENOSPC;
	memset(&st, 0, sizeof(st));
	st.cfg = b->cfg;
	st.writethrough = b->writethrough;
	rate_limiter_save(&b->thr.rl, &st.rl);
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

static int blk_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct virtio_blk *b = to_blk(dev);
	struct virtio_blk_state st;

	if (len != sizeof(st) && len != BLK_STATE_V1_LEN)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	memcpy(&st, buf, len);
	if (st.writethrough > 1 || memcmp(st.reserved, (uint8_t[7]){0}, sizeof(st.reserved)))
		return -EINVAL;
	if (st.cfg.capacity != b->cfg.capacity || st.cfg.blk_size != b->cfg.blk_size) {
		log_error("virtio-blk %s: the disk has %llu sectors of %u bytes, the snapshot %llu "
			  "of %u: not restored",
			  b->disk.path, (unsigned long long)le64toh(b->cfg.capacity),
			  le32toh(b->cfg.blk_size), (unsigned long long)le64toh(st.cfg.capacity),
			  le32toh(st.cfg.blk_size));
		return -EINVAL;
	}
	if (memcmp(&st.cfg, &b->cfg, sizeof(st.cfg))) {
		log_error("virtio-blk %s: the snapshot's configuration space differs from the "
			  "disk's: not restored",
			  b->disk.path);
		return -EINVAL;
	}
	if (len == sizeof(st) && rate_limiter_restore(&b->thr.rl, &st.rl)) {
		log_error("virtio-blk %s: the snapshot's rate limiter is invalid: not restored",
			  b->disk.path);
		return -EINVAL;
	}
	b->writethrough = st.writethrough;
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
    .activate = blk_activate,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
    .quiesce_group = blk_quiesce_group,
    .destroy = blk_destroy,
    .save = blk_save,
    .restore = blk_restore,
};

/* ---- setup ---- */

static uint64_t blk_features(const struct virtio_blk *b, const struct virtio_blk_opts *o)
{
	uint64_t f = VIRTIO_DEV_RING_FEATURES | 1ull << VIRTIO_BLK_F_SIZE_MAX |
		     1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE;
	if (!o->no_flush)
		f |= 1ull << VIRTIO_BLK_F_FLUSH;
	if (b->nq > 1)
		f |= 1ull << VIRTIO_BLK_F_MQ; /* 5.2.3: num_queues is valid */
	if (b->disk.ro)
		f |= 1ull << VIRTIO_BLK_F_RO;
	else if (o->discard)
		f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

/* Config space (5.2.4), little endian. */
static void blk_fill_config(struct virtio_blk *b)
{
	struct virtio_blk_config *c = &b->cfg;
	uint32_t align = b->disk.blk_size / BLK_SECTOR_SIZE;
	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->disk.sectors);
	c->size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c->seg_max = htole32(VIRTIO_BLK_QUEUE_SIZE - 2); /* header and status take two */
	c->blk_size = htole32(b->disk.blk_size);
	c->num_queues = htole16(b->nq);
	c->max_discard_sectors = htole32(VIRTIO_BLK_DISCARD_MAX_SECT);
	c->max_discard_seg = htole32(VIRTIO_BLK_DISCARD_MAX_SEG);
	c->discard_sector_alignment = htole32(align);
	c->max_write_zeroes_sectors = htole32(VIRTIO_BLK_WZ_MAX_SECT);
	c->max_write_zeroes_seg = htole32(VIRTIO_BLK_WZ_MAX_SEG);
	c->write_zeroes_may_unmap = 1; /* UNMAP punches holes */
}

/* The disk's calls on the I/O thread (sandbox.h): io_uring or synchronous I/O, FLUSH, DISCARD
 * and WRITE_ZEROES (fallocate on files, ioctls on block devices). */
static const struct sandbox_rule blk_rules[] = {
    SB_ALLOW(SYS_io_uring_enter),
    SB_ALLOW(SYS_pread64), /* qcow2 metadata (qcow2_io.c) */
    SB_ALLOW(SYS_pwrite64),
    SB_ALLOW(SYS_preadv),
    SB_ALLOW(SYS_pwritev),
    SB_ALLOW(SYS_preadv2),
    SB_ALLOW(SYS_pwritev2),
    SB_ALLOW(SYS_fdatasync),
    SB_ALLOW(SYS_fallocate),
    SB_ALLOW(SYS_ftruncate), /* qcow2: the file grows ahead of new clusters (qcow2_io.c) */
    SB_ARG_EQ(SYS_ioctl, 1, BLKDISCARD),
    SB_ARG_EQ(SYS_ioctl, 1, BLKZEROOUT),
};
const struct sandbox_list blk_sandbox = SANDBOX_LIST("virtio-blk", blk_rules);

static void blk_fill_dev(struct virtio_blk *b, const struct virtio_blk_opts *opts)
{
	struct virtio_dev *dev = &b->dev;
	dev->name = "virtio-blk";
	dev->device_id = VIRTIO_ID_BLOCK;
	dev->host_features = blk_features(b, opts);
	dev->num_queues = b->nq;
	/* One queue group (I/O thread) per request queue; one queue keeps the one-group device. */
	dev->num_groups = b->nq;
	for (uint16_t i = 0; i < b->nq; i++)
		dev->queue_group[i] = (uint8_t)i;
	dev->iothread_cpus = opts->iothread_cpus;
	dev->queue_max_size = VIRTIO_BLK_QUEUE_SIZE;
	dev->config = &b->cfg;
	dev->config_len = sizeof(b->cfg);
	dev->ops = &blk_ops;
	dev->sandbox = &blk_sandbox;
	dev->priv = b;
	if (opts->has_serial) /* NUL-padded (b is zeroed), 20 bytes max */
		memcpy(b->id, opts->serial, strnlen(opts->serial, sizeof(b->id)));
	else
		blk_disk_default_id(&b->disk, b->id);
}

/* Landlock: the backing_dirs= folders stay readable for a drive swap, as the disk's own. */
static void allow_backing_dirs(const char *dirs)
{
	char one[VIRTIO_BLK_BACKING_DIRS_MAX + 2];
	for (const char *p = dirs; *p; p += strcspn(p, ":"), p += *p == ':') {
		/* "DIR/." so that the folder of the name is DIR itself */
		snprintf(one, sizeof(one), "%.*s/.", (int)strcspn(p, ":"), p);
		sandbox_landlock_allow_dir_of(one, LANDLOCK_READ);
	}
}

/* Everything before virtio_dev_init(); on failure nothing is left open. */
static int blk_open(struct virtio_blk *b, const struct virtio_blk_opts *opts)
{
	bool direct = opts->cache == VIRTIO_BLK_CACHE_NONE;
	struct blk_backing backing = {.on = opts->backing_files};
	snprintf(backing.dirs, sizeof(backing.dirs), "%s", opts->backing_dirs);
	int r = blk_disk_open_with(&b->disk, opts->path, opts->ro, direct, !opts->unlocked,
				   opts->format, &backing);
	if (r)
		return r;
	/* Landlock (sandbox.h): the disk's directory stays open to a drive swap (PATCH /drives,
	 * virtio_blk_replace_disk) after the VM is set up; read-only disks stay read-only */
	sandbox_landlock_allow_dir_of(opts->path,
				      opts->ro ? LANDLOCK_READ : LANDLOCK_READ | LANDLOCK_WRITE);
	allow_backing_dirs(backing.dirs);
	b->nq = opts->num_queues ? opts->num_queues : 1;
	r = blk_throttle_init(&b->thr, &opts->rl);
	if (r) {
		log_error("virtio-blk %s: rate limiter: %s", b->disk.path, strerror(-r));
		blk_disk_close(&b->disk);
		return r;
	}
	for (uint16_t i = 0; i < b->nq && !r; i++) {
		struct blk_queue *bq = &b->q[i];
		bq->b = b;
		bq->index = i;
		r = blk_io_init(&bq->io, opts->aio, VIRTIO_BLK_DEPTH, blk_io_done, bq,
				b->disk.path);
		if (!r && (r = rl_timer_init(&bq->rl_timer)))
			blk_io_close(&bq->io);
		if (r) {
			while (i--) {
				blk_io_close(&b->q[i].io);
				rl_timer_destroy(&b->q[i].rl_timer);
			}
			blk_throttle_destroy(&b->thr);
			blk_disk_close(&b->disk);
			return r;
		}
		free_all_reqs(bq);
	}
	blk_fill_config(b);
	blk_fill_dev(b, opts);
	return 0;
}

/* An in-process disk of this file, not a vhost-user one (which has the same device ID). */
static bool is_blk(const struct virtio_dev *dev)
{
	return dev && dev->ops == &blk_ops;
}

/* virtio_dev_destroy() (stops the I/O thread, waits for in-flight I/O, closes the disk), then
 * frees the device. NULL is allowed. */
static void destroy_dev(struct virtio_dev *dev)
{
	if (!dev)
		return;
	virtio_dev_destroy(dev);
	free(to_blk(dev));
}

int virtio_blk_create(struct virtio_dev **out, const struct virtio_blk_opts *opts,
		      const struct guest_mem *mem)
{
	*out = NULL;
	unsigned nq = opts->num_queues ? opts->num_queues : 1;
	if (nq > VIRTIO_BLK_MAX_QUEUES) {
		log_error("virtio-blk %s: %u queues (at most %u)", opts->path, nq,
			  VIRTIO_BLK_MAX_QUEUES);
		return -EINVAL;
	}
	struct virtio_blk *b = calloc(1, sizeof(*b) + nq * sizeof(b->q[0]));
	if (!b)
		return -ENOMEM;
	int r = blk_open(b, opts);
	if (r) {
		free(b);
		return r;
	}
	r = virtio_dev_init(&b->dev, mem);
	if (r) {
		log_error("virtio-blk %s: device init failed: %s", opts->path, strerror(-r));
		destroy_dev(&b->dev); /* runs blk_destroy() even before init finished */
		return r;
	}
	for (uint16_t i = 0; i < b->nq; i++) {
		int efd = blk_io_event_fd(&b->q[i].io);
		if (efd >= 0 && (r = virtio_dev_add_group_fd(&b->dev, i, efd, EPOLLIN,
							     blk_on_completion)) < 0) {
			log_error("virtio-blk %s: cannot watch io_uring completions: %s",
				  opts->path, strerror(-r));
			destroy_dev(&b->dev);
			return r;
		}
		r = virtio_dev_add_group_fd(&b->dev, i, b->q[i].rl_timer.fd, EPOLLIN,
					    blk_on_throttle_timer);
		if (r < 0) {
			log_error("virtio-blk %s: cannot watch its rate limiter's timer: %s",
				  opts->path, strerror(-r));
			destroy_dev(&b->dev);
			return r;
		}
		b->q[i].rl_timer.watched = true;
	}
	*out = &b->dev;
	return 0;
}

int virtio_blk_replace_disk(struct virtio_dev *dev, const char *path)
{
	struct virtio_blk *b = to_blk(dev);
	struct blk_disk fresh, old;

	if (!is_blk(dev))
		return -ENODEV;
	int r = blk_disk_open_with(&fresh, path, b->disk.ro, b->disk.direct, true, b->disk.format,
				   &b->disk.backing);
	if (r)
		return r;
	if (fresh.blk_size != b->disk.blk_size) {
		log_error("virtio-blk %s: logical block size %u, the disk has %u: not swapped",
			  path, fresh.blk_size, b->disk.blk_size);
		blk_disk_close(&fresh);
		return -EINVAL;
	}
	/* A paused VM's device stays paused: its kicks wait for vm_resume(). */
	bool was_paused = atomic_load(&dev->paused);
	virtio_dev_pause(dev); /* quiesce: the requests in flight complete on the old file */
	pthread_mutex_lock(&dev->lock);
	old = b->disk;
	b->disk = fresh;
	b->cfg.capacity = htole64(fresh.sectors);
	virtio_dev_config_changed(dev);
	pthread_mutex_unlock(&dev->lock);
	if (!was_paused)
		virtio_dev_resume(dev);
	blk_disk_close(&old);
	return 0;
}

int virtio_blk_set_backing(struct virtio_dev *dev, bool on, const char *dirs)
{
	if (!is_blk(dev))
		return -ENODEV;
	struct virtio_blk *b = to_blk(dev);
	if (strlen(dirs) >= sizeof(b->disk.backing.dirs))
		return -ENAMETOOLONG;
	b->disk.backing.on = on;
	snprintf(b->disk.backing.dirs, sizeof(b->disk.backing.dirs), "%s", dirs);
	return 0;
}

int virtio_blk_file(struct virtio_dev *dev, const char **path, uint64_t *bytes, bool *qcow2,
		    bool *forced_raw)
{
	if (!is_blk(dev))
		return -ENODEV;
	const struct blk_disk *d = &to_blk(dev)->disk;
	*path = d->path;
	*bytes = d->sectors * 512;
	*qcow2 = d->qcow2 != NULL;
	*forced_raw = d->format == VIRTIO_BLK_FORMAT_RAW;
	return 0;
}

int virtio_blk_hand_over(struct virtio_dev *dev)
{
	return is_blk(dev) ? blk_disk_hand_over(&to_blk(dev)->disk) : -ENODEV;
}

int virtio_blk_take_back(struct virtio_dev *dev)
{
	return is_blk(dev) ? blk_disk_take_back(&to_blk(dev)->disk) : -ENODEV;
}

int virtio_blk_patch_rate_limiter(struct virtio_dev *dev, const struct rate_limiter_patch *p,
				  struct rate_limiter_cfg *now)
{
	struct virtio_blk *b = to_blk(dev);

	if (!is_blk(dev))
		return -ENODEV;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_lock_groups(dev, -1); /* the queues' timers belong to their groups */
	int r = rate_limiter_apply_patch(&b->thr.rl, p, now);
	for (uint16_t i = 0; !r && i < b->nq; i++) {
		if (!b->q[i].rl_timer.armed)
			continue;
		/* Serve now under the new limit rather than at the old wait's end (the timer still
		 * fires once; a pass with nothing to do is harmless). */
		b->q[i].rl_timer.armed = false;
		virtio_dev_kick(dev, i);
	}
	virtio_dev_unlock_groups(dev, -1);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/* Declared in blk_test.h: the VMM frees its disks through virtio_dev_destroy() and free(). */
void virtio_blk_destroy(struct virtio_dev *dev)
{
	destroy_dev(dev);
}
