/* virtio-rng (virtio 1.2 section 5.4) with an optional token-bucket rate limit. See
 * virtio/rng/rng.h.
 */
#include <sys/syscall.h>

#include "virtio/rng/rng.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/parse.h"
#include "virtio/core/serve.h"

#define NSEC_PER_SEC 1000000000ull
#define RANDOM_CHUNK 256 /* getrandom() never returns short for <= 256 bytes once seeded */
#define RNG_BUDGET   (2 * VIRTIO_RNG_QUEUE_SIZE) /* chains per callback */
#define OPTS_USAGE   "expected rate=BYTES_PER_SEC[,burst=BYTES]"

struct vrng {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct vq_chain chain; /* the chain being served (dev->lock) */
	struct virtio_rng_opts opts;
	struct virtio_rng_source src;
	uint64_t tokens;  /* bytes we may still hand out (rate limit only) */
	uint64_t last_ns; /* time up to which tokens have been credited */
	int timer_fd;
	bool timer_added; /* registered with the I/O thread */
	bool waiting;	  /* the timer is armed: serve nothing until it fires */
	bool warned;	  /* an unexpected entropy error was logged */
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
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void virtio_rng_set_source(struct virtio_dev *dev, const struct virtio_rng_source *src)
{
	struct vrng *r = to_rng(dev);

	r->src.read = src->read ? src->read : default_read;
	r->src.now_ns = src->now_ns ? src->now_ns : default_now;
	r->src.opaque = src->opaque;
	r->last_ns = r->src.now_ns(r->src.opaque);
}

/* ---- token bucket ---- */

/* Credits the tokens earned since last_ns. last_ns advances only by the time those whole tokens
 * took, so fractions of a token are not lost between calls. */
static void refill(struct vrng *r)
{
	uint64_t now = r->src.now_ns(r->src.opaque);
	unsigned __int128 earned;

	if (now <= r->last_ns)
		return;
	earned = (unsigned __int128)(now - r->last_ns) * r->opts.rate / NSEC_PER_SEC;
	if (earned >= r->opts.burst - r->tokens) {
		r->tokens = r->opts.burst;
		r->last_ns = now;
		return;
	}
	r->tokens += (uint64_t)earned;
	r->last_ns += (uint64_t)(earned * NSEC_PER_SEC / r->opts.rate);
}

/* Time until `want` tokens are available (tokens < want <= burst). */
static uint64_t wait_ns(struct vrng *r, uint64_t want)
{
	uint64_t now = r->src.now_ns(r->src.opaque);
	unsigned __int128 need =
	    ((unsigned __int128)(want - r->tokens) * NSEC_PER_SEC + r->opts.rate - 1) /
	    r->opts.rate;
	uint64_t partial = now > r->last_ns ? now - r->last_ns : 0;

	return need > partial ? (uint64_t)(need - partial) : 1;
}

/* Stop serving until the timer fires in `ns` nanoseconds. */
static void sleep_for(struct vrng *r, uint64_t ns)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(ns / NSEC_PER_SEC),
			 .tv_nsec = (long)(ns % NSEC_PER_SEC)},
	};

	if (timerfd_settime(r->timer_fd, 0, &its, NULL) < 0) {
		log_error("virtio-rng: timerfd_settime: %s", strerror(errno));
		return; /* not waiting: the next kick serves again */
	}
	r->waiting = true;
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
	uint32_t got;

	if (want == 0)
		return true; /* nothing writable: used len 0 */
	if (want > VIRTIO_RNG_MAX_FILL)
		want = VIRTIO_RNG_MAX_FILL; /* 5.4.6.2: fewer bytes than offered is allowed */
	if (r->opts.rate) {
		refill(r);
		if (r->tokens == 0) {
			sleep_for(r, wait_ns(r, want < r->opts.burst ? want : r->opts.burst));
			return false;
		}
		if (want > r->tokens)
			want = (uint32_t)r->tokens;
	}
	got = fill_random(r, want);
	if (got == 0) {
		sleep_for(r, VIRTIO_RNG_RETRY_NS); /* never block the I/O thread on the pool */
		return false;
	}
	if (r->opts.rate)
		r->tokens -= got;
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

	if (!r->waiting)
		virtio_serve_queue(&r->dev, 0, &s);
}

/* ---- device ops ---- */

static void timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	uint64_t expirations;

	(void)revents;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("virtio-rng: timerfd read: %s", strerror(errno));
	to_rng(dev)->waiting = false;
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
	if (!r->timer_added) {
		int err = virtio_dev_add_fd(dev, r->timer_fd, EPOLLIN, timer_ready);

		if (err) {
			log_error("virtio-rng: cannot watch its timer: %s", strerror(-err));
			return err;
		}
		r->timer_added = true;
	}
	serve(r);
	return 0;
}

/* 2.4: forget the waiting chain (the queue is reset); the bucket keeps its level, so resetting
 * the device is no way around the rate limit. */
static void rng_reset(struct virtio_dev *dev)
{
	struct vrng *r = to_rng(dev);
	struct itimerspec off = {0};

	timerfd_settime(r->timer_fd, 0, &off, NULL);
	r->waiting = false;
}

static void rng_destroy(struct virtio_dev *dev)
{
	struct vrng *r = to_rng(dev);

	if (r->timer_fd >= 0)
		close(r->timer_fd);
	r->timer_fd = -1;
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* The token bucket's level. Its clock (CLOCK_MONOTONIC) does not survive a restore: the bucket
 * refills from the restore on. The limit itself is configuration; it is saved to be compared. */
struct virtio_rng_state {
	uint64_t rate, burst, tokens;
};

static int rng_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vrng *r = to_rng(dev);
	struct virtio_rng_state st = {r->opts.rate, r->opts.burst, r->tokens};

	if (cap < sizeof(st))
		return -ENOSPC;
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

/* The same limit as this device's, and no more tokens than its bucket holds. */
static int rng_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vrng *r = to_rng(dev);
	struct virtio_rng_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.rate != r->opts.rate || st.burst != r->opts.burst || st.tokens > st.burst)
		return -EINVAL;
	r->tokens = st.tokens;
	r->last_ns = r->src.now_ns(r->src.opaque);
	return 0;
}

static const struct virtio_dev_ops rng_ops = {
    .activate = rng_activate,
    .queue_notify = rng_queue_notify,
    .reset = rng_reset,
    .destroy = rng_destroy,
    .save = rng_save,
    .restore = rng_restore,
};

static bool opts_valid(const struct virtio_rng_opts *o)
{
	if (o->rate == 0)
		return o->burst == 0;
	return o->rate <= VIRTIO_RNG_MAX_RATE && o->burst <= VIRTIO_RNG_MAX_RATE;
}

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

	if (!opts_valid(&o)) {
		log_error("virtio-rng: invalid rate limit (rate %llu, burst %llu)",
			  (unsigned long long)o.rate, (unsigned long long)o.burst);
		return -EINVAL;
	}
	if (o.rate && !o.burst)
		o.burst = o.rate;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer_fd < 0) {
		int err = -errno;

		log_error("virtio-rng: timerfd_create: %s", strerror(-err));
		free(r);
		return err;
	}
	r->opts = o;
	r->tokens = o.burst; /* start with a full bucket */
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
	virtio_rng_set_source(&r->dev, &(struct virtio_rng_source){0});
	*out = &r->dev;
	return 0;
}

/* ---- option parser ---- */

static int parse_value(const char *key, const char *val, uint64_t *out)
{
	int err;

	if (!val || !*val) {
		log_error("--rng: '%s' needs a value (%s)", key, OPTS_USAGE);
		return -EINVAL;
	}
	err = parse_size(val, 1, out);
	if (!err && *out == 0)
		err = -EINVAL;
	if (!err && *out > VIRTIO_RNG_MAX_RATE)
		err = -ERANGE;
	if (err)
		log_error("--rng: bad %s '%s': a byte count from 1 to 1G is expected", key, val);
	return err;
}

/* One "key=value" item. */
static int parse_item(char *item, struct virtio_rng_opts *o)
{
	char *val = strchr(item, '=');

	if (val)
		*val++ = '\0';
	if (strcmp(item, "rate") == 0 && !o->rate)
		return parse_value("rate", val, &o->rate);
	if (strcmp(item, "burst") == 0 && !o->burst)
		return parse_value("burst", val, &o->burst);
	if (strcmp(item, "rate") == 0 || strcmp(item, "burst") == 0)
		log_error("--rng: '%s' given twice", item);
	else
		log_error("--rng: unknown option '%s' (%s)", item, OPTS_USAGE);
	return -EINVAL;
}

int virtio_rng_parse_opts(const char *arg, struct virtio_rng_opts *opts)
{
	struct virtio_rng_opts o = {0};
	char *copy, *item, *save = NULL;
	int err = 0;

	*opts = o;
	if (!arg || !*arg)
		return 0;
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	/* strtok_r would skip empty items; walk the commas by hand so "rate=1,," is refused. */
	for (item = copy; !err && item; item = save) {
		save = strchr(item, ',');
		if (save)
			*save++ = '\0';
		if (!*item) {
			log_error("--rng: empty option in '%s' (%s)", arg, OPTS_USAGE);
			err = -EINVAL;
		} else {
			err = parse_item(item, &o);
		}
	}
	free(copy);
	if (!err && o.burst && !o.rate) {
		log_error("--rng: burst needs a rate (%s)", OPTS_USAGE);
		err = -EINVAL;
	}
	if (!err) {
		if (o.rate && !o.burst)
			o.burst = o.rate;
		*opts = o;
	}
	return err;
}
