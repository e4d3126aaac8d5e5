/* virtio-rng (virtio 1.2 section 5.4), rate limited by the shared token bucket
 * (virtio/core/rate_limiter.h). See virtio/rng/rng.h. */
#include <sys/syscall.h>

#include "virtio/rng/rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "virtio/core/rate_limiter.h"
#include "virtio/core/serve.h"

#define RANDOM_CHUNK 256 /* getrandom() never returns short for <= 256 bytes once seeded */
#define RNG_BUDGET   (2 * VIRTIO_RNG_QUEUE_SIZE) /* chains per callback */

struct vrng {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct vq_chain chain; /* the chain being served (dev->lock) */
	struct virtio_rng_opts opts;
	struct virtio_rng_source src;
	struct rate_limiter rl; /* bytes and chains; unlimited without rate= or buckets */
	struct rl_timer timer;	/* armed: serve nothing until it fires */
	bool warned;		/* an unexpected entropy error was logged */
};

static struct vrng *to_rng(struct virtio_dev *dev)
{
	return dev->priv;
}

/* ---- defaults of the test seam ---- */

static ssize_t default_read(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	return getrandom(buf, len, GRND_NONBLOCK);
}

static uint64_t default_now(void *opaque)
{
	(void)opaque;
	return mono_ns();
}

/* (Re)builds the limiter on the source's clock, with a full bucket: called before the device is
 * used, so nothing is lost. */
void virtio_rng_set_source(struct virtio_dev *dev, const struct virtio_rng_source *src)
{
	struct vrng *r = to_rng(dev);

	r->src.read = src->read ? src->read : default_read;
	r->src.now_ns = src->now_ns ? src->now_ns : default_now;
	r->src.opaque = src->opaque;
	rate_limiter_destroy(&r->rl);
	if (rate_limiter_cfg_active(&r->opts.rl)) /* checked by virtio_rng_create() */
		rate_limiter_init(&r->rl, &r->opts.rl, r->src.now_ns, r->src.opaque);
	else if (r->opts.rate) /* checked by virtio_rng_create(): cannot fail */
		rate_limiter_init_rate(&r->rl, r->opts.rate, r->opts.burst, r->src.now_ns,
				       r->src.opaque);
	else
		rate_limiter_init(&r->rl, NULL, r->src.now_ns, r->src.opaque);
}

/* ---- filling a chain ---- */

/* Writes up to `want` random bytes into the chain. Returns the count (0 when no entropy can be
 * had without blocking). Short reads are continued, EINTR retried; EAGAIN ends the fill. */
static uint32_t fill_random(struct vrng *r, uint32_t want)
{
	uint8_t buf[RANDOM_CHUNK];
	uint32_t done = 0;

	while (done < want) {
		size_t ask = want - done < sizeof(buf) ? want - done : sizeof(buf);
		ssize_t got = r->src.read(r->src.opaque, buf, ask);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got < 0 && errno != EAGAIN && !r->warned) {
				log_warn("virtio-rng: getrandom: %s", strerror(errno));
				r->warned = true;
			}
			break;
		}
		if ((size_t)got > ask)
			got = (ssize_t)ask; /* a broken source cannot overrun the chain */
		if (vq_chain_write(&r->chain, r->dev.mem, buf, (size_t)got) < 0)
			break;
		done += (uint32_t)got;
	}
	return done;
}

/* Serves r->chain: returns true when it can be pushed (used len = chain.written), false when the
 * device must wait (the timer is armed and the chain must be given back). */
static bool fill_chain(struct vrng *r)
{
	uint32_t want = vq_chain_writable(&r->chain);
	uint64_t wait = 0;
	uint32_t got;

	if (want == 0)
		return true; /* nothing writable: used len 0 */
	if (want > VIRTIO_RNG_MAX_FILL)
		want = VIRTIO_RNG_MAX_FILL; /* 5.4.6.2: fewer bytes than offered is allowed */
	want = (uint32_t)rate_limiter_available(&r->rl, want, &wait);
	if (want == 0) { /* serve nothing until the timer fires (a failure to arm it was logged:
			  * the next kick serves again) */
		rl_timer_arm(&r->timer, wait);
		return false;
	}
	/* the chain's operation token first, before any byte is written (a refusal takes
	 * nothing); 0 bytes always pass the bandwidth bucket */
	if (!rate_limiter_consume(&r->rl, 0, 1, &wait)) {
		rl_timer_arm(&r->timer, wait);
		return false;
	}
	got = fill_random(r, want);
	if (got == 0) {
		rl_timer_arm(&r->timer,
			     VIRTIO_RNG_RETRY_NS); /* never block the I/O thread on the pool */
		return false;
	}
	rate_limiter_consume(&r->rl, got, 0, NULL); /* got <= available: it passes */
	return true;
}

static int handle_chain(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
			uint64_t *bytes)
{
	struct vrng *r = to_rng(dev);

	(void)opaque;
	if (!fill_chain(r))
		return VIRTIO_CHAIN_WAIT; /* served again when the timer fires */
	*bytes += chain->written;
	return VIRTIO_CHAIN_PUSH;
}

/* The budget hit leaves the queue pending (virtio_dev_reschedule): the vCPUs get the lock, then
 * the I/O thread carries on. */
static void serve(struct vrng *r)
{
	const struct virtio_server s = {
	    .chain = &r->chain,
	    .max_chains = RNG_BUDGET,
	    .handle = handle_chain,
	};

	if (!r->timer.armed)
		virtio_serve_queue(&r->dev, 0, &s);
}

/* ---- device ops ---- */

static void timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)fd, (void)revents;
	rl_timer_fired(&to_rng(dev)->timer);
	serve(to_rng(dev));
}

static void rng_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	if (q == 0)
		serve(to_rng(dev));
}

static int rng_activate(struct virtio_dev *dev)
{
	struct vrng *r = to_rng(dev);

	/* The I/O thread's epoll set exists only after virtio_dev_init(); register once here. */
	if (!r->timer.watched) {
		int err = virtio_dev_add_fd(dev, r->timer.fd, EPOLLIN, timer_ready);

		if (err) {
			log_error("virtio-rng: cannot watch its timer: %s", strerror(-err));
			return err;
		}
		r->timer.watched = true;
	}
	serve(r);
	return 0;
}

/* 2.4: forget the waiting chain (the queue is reset); the bucket keeps its level, so resetting
 * the device is no way around the rate limit. */
static void rng_reset(struct virtio_dev *dev)
{
	rl_timer_disarm(&to_rng(dev)->timer);
}

static void rng_destroy(struct virtio_dev *dev)
{
	struct vrng *r = to_rng(dev);

	rl_timer_destroy(&r->timer);
	rate_limiter_destroy(&r->rl);
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* The token bucket's level. Its clock (CLOCK_MONOTONIC) does not survive a restore: the bucket
 * refills from the restore on. The limit itself is configuration; it is saved to be compared.
 * With bw=/ops= buckets the limiter's whole state follows (rate_limiter_save()); without them
 * the section is the short form alone, as before the buckets existed. */
struct virtio_rng_state {
	uint64_t rate, burst, tokens;
};

static int rng_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vrng *r = to_rng(dev);
	struct virtio_rng_state st = {r->opts.rate, r->opts.burst, rate_limiter_bw_level(&r->rl)};
	bool buckets = rate_limiter_cfg_active(&r->opts.rl);
	struct rate_limiter_state rs = {0};
	size_t need = sizeof(st) + (buckets ? sizeof(rs) : 0);

	if (cap < need)
		return -ENOSPC;
	if (buckets) {
		st.tokens = 0;
		rate_limiter_save(&r->rl, &rs);
		memcpy((uint8_t *)buf + sizeof(st), &rs, sizeof(rs));
	}
	memcpy(buf, &st, sizeof(st));
	*len = need;
	return 0;
}

static bool same_bucket(const struct rl_bucket_state *s, const struct rl_bucket_cfg *c)
{
	return s->size == c->size && s->one_time_burst == c->one_time_burst &&
	       s->refill_ms == c->refill_ms;
}

/* The same limit as this device's, and no more tokens than its bucket holds
 * (rate_limiter_restore() checks the buckets' levels). */
static int rng_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vrng *r = to_rng(dev);
	struct virtio_rng_state st;
	bool buckets = rate_limiter_cfg_active(&r->opts.rl);
	struct rate_limiter_state rs;

	if (len != sizeof(st) + (buckets ? sizeof(rs) : 0))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.rate != r->opts.rate || st.burst != r->opts.burst || st.tokens > st.burst)
		return -EINVAL;
	if (!buckets) {
		rate_limiter_set_bw_level(&r->rl, st.tokens);
		return 0;
	}
	memcpy(&rs, (const uint8_t *)buf + sizeof(st), sizeof(rs));
	if (!same_bucket(&rs.bw, &r->opts.rl.bw) || !same_bucket(&rs.ops, &r->opts.rl.ops))
		return -EINVAL; /* another limit than this device's */
	return rate_limiter_restore(&r->rl, &rs);
}

static const struct virtio_dev_ops rng_ops = {
    .activate = rng_activate,
    .queue_notify = rng_queue_notify,
    .reset = rng_reset,
    .destroy = rng_destroy,
    .save = rng_save,
    .restore = rng_restore,
};

/* The entropy source and the rate limiter's timer, on the I/O thread (sandbox.h). */
static const struct sandbox_rule rng_rules[] = {
    SB_ALLOW(SYS_getrandom),
    SB_ALLOW(SYS_timerfd_settime),
    SB_ALLOW(SYS_timerfd_gettime),
};
static const struct sandbox_list rng_sandbox = SANDBOX_LIST("virtio-rng", rng_rules);

int virtio_rng_create(struct virtio_dev **out, const struct virtio_rng_opts *opts)
{
	struct virtio_rng_opts o = opts ? *opts : (struct virtio_rng_opts){0};
	struct vrng *r;
	int err;

	if (virtio_rng_opts_check(&o, NULL, 0)) {
		log_error("virtio-rng: invalid rate limit (rate %llu, burst %llu, or buckets)",
			  (unsigned long long)o.rate, (unsigned long long)o.burst);
		return -EINVAL;
	}
	if (o.rate && !o.burst)
		o.burst = o.rate;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = rl_timer_init(&r->timer);
	if (err) {
		log_error("virtio-rng: timerfd_create: %s", strerror(-err));
		free(r);
		return err;
	}
	r->opts = o;
	r->dev = (struct virtio_dev){
	    .name = "virtio-rng",
	    .device_id = VIRTIO_ID_RNG,
	    .host_features = VIRTIO_DEV_RING_FEATURES,
	    .num_queues = 1,
	    .queue_max_size = VIRTIO_RNG_QUEUE_SIZE,
	    .ops = &rng_ops,
	    .sandbox = &rng_sandbox,
	    .priv = r,
	};
	rate_limiter_init(&r->rl, NULL, NULL, NULL); /* set_source() builds the real one */
	virtio_rng_set_source(&r->dev, &(struct virtio_rng_source){0});
	*out = &r->dev;
	return 0;
}
