/* virtio-pmem (virtio 1.2 section 5.19): the device, its queue, the answers and the snapshot
 * state. See virtio/pmem/pmem.h. */
#include "virtio/pmem/internal.h"

#include <sys/syscall.h>

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/serve.h"

#define REQ_BUDGET 16

static struct vpmem *to_pmem(struct virtio_dev *dev)
{
	return dev->priv;
}

/* Writes the 4-byte response and returns the chain to the driver. */
static int answer(struct vpmem *p, struct vq_chain *chain, uint32_t ret)
{
	struct virtio_pmem_resp resp = {.ret = htole32(ret)};

	if (ret)
		virtio_dev_count_error(&p->dev);
	return vq_chain_write(chain, p->dev.mem, &resp, sizeof(resp));
}

/* 5.19.6: one request (le32 type) and room for one response (le32 ret). */
static int pmem_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
		       uint64_t *bytes)
{
	struct vpmem *p = to_pmem(dev);
	struct virtio_pmem_req req;
	struct pmem_held *h;

	(void)opaque;
	if (vq_chain_writable(chain) < sizeof(struct virtio_pmem_resp)) {
		log_guest_warn(
		    "virtio-pmem: request without room for its response; not carried out");
		virtio_dev_count_error(dev);
		return VIRTIO_CHAIN_PUSH;
	}
	if (vq_chain_readable(chain) < sizeof(req) ||
	    vq_chain_read(chain, dev->mem, &req, sizeof(req)) < 0 ||
	    le32toh(req.type) != VIRTIO_PMEM_REQ_TYPE_FLUSH)
		return answer(p, chain, 1) < 0 ? -EFAULT : VIRTIO_CHAIN_PUSH;
	*bytes += sizeof(req);
	if (!p->read_only && p->nheld == VIRTIO_PMEM_MAX_HELD) {
		virtio_dev_count_stall(dev);
		return VIRTIO_CHAIN_WAIT; /* served again when an fsync frees a place */
	}
	uint64_t wait;
	if (!rate_limiter_consume(&p->rl, le64toh(p->config.size), 1, &wait)) {
		rl_timer_arm(&p->timer, wait); /* a failure to arm was logged: the next kick */
		return VIRTIO_CHAIN_WAIT;
	}
	if (p->read_only)
		return answer(p, chain, 0) < 0 ? -EFAULT : VIRTIO_CHAIN_PUSH;
	h = &p->held[p->nheld++];
	memcpy(&h->chain, chain, sizeof(*chain));
	h->gen = pmem_flusher_request(&p->fl);
	return VIRTIO_CHAIN_HOLD;
}

static void serve(struct vpmem *p)
{
	struct virtio_server s = {
	    .chain = &p->chain, .max_chains = REQ_BUDGET, .handle = pmem_handle};

	if (!p->timer.armed) /* throttled: the timer serves again */
		virtio_serve_queue(&p->dev, 0, &s);
}

static void timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd, (void)revents;
	rl_timer_fired(&to_pmem(dev)->timer);
	serve(to_pmem(dev));
}

static void pmem_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	if (q == 0)
		serve(to_pmem(dev));
}

/* Answers every held request whose fsync finished. Returns false when the queue broke. */
static bool answer_done(struct vpmem *p)
{
	struct virtio_dev *dev = &p->dev;
	uint64_t failed, done = pmem_flusher_done(&p->fl, &failed);
	unsigned kept = 0, answered = 0;

	for (unsigned i = 0; i < p->nheld; i++) {
		struct pmem_held *h = &p->held[i];

		if (h->gen > done) {
			if (kept != i)
				memcpy(&p->held[kept], h, sizeof(*h));
			kept++;
			continue;
		}
		if (answer(p, &h->chain, (failed >> (h->gen % 64)) & 1) < 0 ||
		    vq_push(&dev->vqs[0], dev->mem, &h->chain) < 0) {
			virtio_dev_fail(dev, "virtio-pmem: request queue broken");
			p->nheld = 0;
			return false;
		}
		answered++;
	}
	p->nheld = kept;
	if (answered) {
		virtio_dev_count_requests(dev, answered, answered * sizeof(struct virtio_pmem_req));
		virtio_dev_notify_used(dev, 0);
	}
	return true;
}

/* The completion eventfd: answers what finished, then serves the queue (a request may wait for
 * a free place). */
void virtio_pmem_poll(struct virtio_dev *dev)
{
	struct vpmem *p = to_pmem(dev);

	if (virtio_dev_running(dev) && answer_done(p))
		serve(p);
}

static void done_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	uint64_t v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("virtio-pmem: read: %s", strerror(errno));
	virtio_pmem_poll(dev);
}

static int pmem_activate(struct virtio_dev *dev)
{
	struct vpmem *p = to_pmem(dev);

	if (!p->fd_added) {
		int err = virtio_dev_add_fd(dev, p->fl.done_fd, EPOLLIN, done_ready);

		if (err) {
			log_error("virtio-pmem: cannot watch its eventfd: %s", strerror(-err));
			return err;
		}
		p->fd_added = true;
	}
	if (!p->timer.watched) {
		int err = virtio_dev_add_fd(dev, p->timer.fd, EPOLLIN, timer_ready);

		if (err) {
			log_error("virtio-pmem: cannot watch its timer: %s", strerror(-err));
			return err;
		}
		p->timer.watched = true;
	}
	serve(p);
	return 0;
}

/* 2.4: the queue is reset by the framework; held requests are forgotten (an fsync in flight
 * finishes harmlessly: nobody waits for it any more). */
static void pmem_reset(struct virtio_dev *dev)
{
	to_pmem(dev)->nheld = 0;
	rl_timer_disarm(&to_pmem(dev)->timer); /* the bucket keeps its level */
}

/* A pause: the fsyncs the held requests wait for finish, and they are answered. Nothing new is
 * popped; the queue is served again after the resume (a request that waited for a free place). */
static void pmem_quiesce(struct virtio_dev *dev)
{
	struct vpmem *p = to_pmem(dev);
	uint64_t last = 0;

	if (!p->nheld)
		return;
	for (unsigned i = 0; i < p->nheld; i++)
		last = p->held[i].gen > last ? p->held[i].gen : last;
	pmem_flusher_wait(&p->fl, last);
	if (!virtio_dev_running(dev))
		p->nheld = 0; /* a failed device: the driver must reset it, nobody waits */
	else if (answer_done(p))
		virtio_dev_reschedule(dev, 0);
}

static void pmem_destroy(struct virtio_dev *dev)
{
	struct vpmem *p = to_pmem(dev);

	pmem_flusher_stop(&p->fl);
	if (p->fl.fd >= 0)
		close(p->fl.fd);
	p->fl.fd = -1;
	rl_timer_destroy(&p->timer);
	rate_limiter_destroy(&p->rl);
}

/* ---- snapshot: the window and the mode, compared at restore ---- */

struct virtio_pmem_state {
	uint64_t start, size;
	uint8_t read_only, reserved[7];
};

static int pmem_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vpmem *p = to_pmem(dev);
	struct virtio_pmem_state st = {
	    .start = le64toh(p->config.start),
	    .size = le64toh(p->config.size),
	    .read_only = p->read_only,
	};

	if (p->nheld)
		return -EBUSY; /* not quiesced */
	if (cap < sizeof(st))
		return -ENOSPC;
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

static int pmem_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vpmem *p = to_pmem(dev);
	struct virtio_pmem_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.start != le64toh(p->config.start) || st.size != le64toh(p->config.size) ||
	    st.read_only != p->read_only)
		return -EINVAL;
	return 0;
}

static const struct virtio_dev_ops pmem_ops = {
    .activate = pmem_activate,
    .queue_notify = pmem_queue_notify,
    .reset = pmem_reset,
    .quiesce = pmem_quiesce,
    .destroy = pmem_destroy,
    .save = pmem_save,
    .restore = pmem_restore,
};

bool virtio_pmem_is(const struct virtio_dev *dev)
{
	return dev && dev->ops == &pmem_ops;
}

void virtio_pmem_set_flush(struct virtio_dev *dev, virtio_pmem_flush_fn fn, void *opaque)
{
	struct vpmem *p = to_pmem(dev);

	pthread_mutex_lock(&p->fl.lock);
	p->fl.flush = fn ? fn : pmem_fsync;
	p->fl.opaque = opaque;
	pthread_mutex_unlock(&p->fl.lock);
}

void virtio_pmem_wait_idle(struct virtio_dev *dev)
{
	struct vpmem *p = to_pmem(dev);
	uint64_t want;

	pthread_mutex_lock(&p->fl.lock);
	want = p->fl.want;
	pthread_mutex_unlock(&p->fl.lock);
	pmem_flusher_wait(&p->fl, want);
}

int virtio_pmem_set_rate_limiter(struct virtio_dev *dev, const struct rate_limiter_cfg *cfg)
{
	struct vpmem *p = to_pmem(dev);
	struct rate_limiter_cfg none = {0};

	return rate_limiter_update(&p->rl, cfg ? cfg : &none);
}

int virtio_pmem_patch_rate_limiter(struct virtio_dev *dev, const struct rate_limiter_patch *p,
				   struct rate_limiter_cfg *now)
{
	struct vpmem *pm = to_pmem(dev);

	pthread_mutex_lock(&dev->lock);
	virtio_dev_lock_groups(dev, -1); /* the timer belongs to the queue's group */
	int r = rate_limiter_apply_patch(&pm->rl, p, now);
	if (!r && pm->timer.armed) {
		/* Serve now under the new limit rather than at the old wait's end (the timer still
		 * fires once; a pass with nothing to do is harmless). */
		pm->timer.armed = false;
		virtio_dev_kick(dev, 0);
	}
	virtio_dev_unlock_groups(dev, -1);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/* The I/O thread reads its eventfd and its timer, and arms the timer. */
static const struct sandbox_rule pmem_rules[] = {
    SB_ALLOW(SYS_timerfd_settime),
    SB_ALLOW(SYS_timerfd_gettime),
};
const struct sandbox_list pmem_sandbox = SANDBOX_LIST("virtio-pmem", pmem_rules);

int virtio_pmem_create(struct virtio_dev **out, int fd, uint64_t start, uint64_t size,
		       bool read_only)
{
	struct vpmem *p;
	int err;

	if (!size || start % VIRTIO_PMEM_ALIGN || size % VIRTIO_PMEM_ALIGN ||
	    start + size < start) {
		log_error("virtio-pmem: bad window 0x%llx+0x%llx (2 MiB-aligned, not empty)",
			  (unsigned long long)start, (unsigned long long)size);
		close(fd);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->fl.fd = fd;
	err = rl_timer_init(&p->timer);
	if (err) {
		log_error("virtio-pmem: timerfd_create: %s", strerror(-err));
		close(fd);
		free(p);
		return err;
	}
	err = pmem_flusher_start(&p->fl, fd);
	if (err) {
		rl_timer_destroy(&p->timer);
		close(fd);
		free(p);
		return err;
	}
	rate_limiter_init(&p->rl, NULL, NULL, NULL); /* unlimited until set */
	p->read_only = read_only;
	p->config.start = htole64(start);
	p->config.size = htole64(size);
	p->dev = (struct virtio_dev){
	    .name = "virtio-pmem",
	    .device_id = VIRTIO_ID_PMEM,
	    .host_features = VIRTIO_DEV_RING_FEATURES,
	    .num_queues = 1,
	    .queue_max_size = VIRTIO_PMEM_QUEUE_SIZE,
	    .config = &p->config,
	    .config_len = sizeof(p->config),
	    .ops = &pmem_ops,
	    .sandbox = &pmem_sandbox, /* fsync is the flush thread's */
	    .priv = p,
	};
	*out = &p->dev;
	return 0;
}
