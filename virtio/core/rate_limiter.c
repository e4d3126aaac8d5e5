/* Token buckets and the limiter built of two (see rate_limiter.h). */
#include "virtio/core/rate_limiter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"

#define NS_PER_MS NSEC_PER_MSEC

/* The default rl_clock_fn: base/clock.h's clock. */
static uint64_t monotonic_ns(void *opaque)
{
	(void)opaque;
	return mono_ns();
}

static int cfg_fail(char *err, size_t errlen, const char *what, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, why);
	return -EINVAL;
}

static int bucket_cfg_check(const struct rl_bucket_cfg *b, const char *what, char *err,
			    size_t errlen)
{
	if (b->size == 0)
		return b->one_time_burst
			   ? cfg_fail(err, errlen, what,
				      "one_time_burst needs a size (size 0 = no limit)")
			   : 0;
	if (b->size > RL_MAX_TOKENS || b->one_time_burst > RL_MAX_TOKENS)
		return cfg_fail(err, errlen, what, "size or one_time_burst above 2^50");
	if (b->refill_ms == 0 || b->refill_ms > RL_MAX_REFILL_MS)
		return cfg_fail(err, errlen, what, "refill_time must be 1 ms to one day");
	return 0;
}

int rate_limiter_cfg_check(const struct rate_limiter_cfg *cfg, char *err, size_t errlen)
{
	int r = bucket_cfg_check(&cfg->bw, "bandwidth", err, errlen);

	return r ? r : bucket_cfg_check(&cfg->ops, "ops", err, errlen);
}

bool rate_limiter_cfg_active(const struct rate_limiter_cfg *cfg)
{
	return cfg->bw.size || cfg->ops.size;
}

/* ---- one bucket (caller holds the lock) ---- */

/* A size-0 bucket is off: its other fields are kept at zero so configurations compare equal. */
static void bucket_reset(struct rl_bucket *b, const struct rl_bucket_cfg *cfg, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (cfg->size)
		b->cfg = *cfg;
	b->budget = b->cfg.size;
	b->burst = b->cfg.one_time_burst;
	b->last_ns = now;
	b->per_tokens = b->cfg.size;
	b->per_ns = b->cfg.refill_ms * NS_PER_MS;
}

/* Credits the tokens earned since last_ns: the debt first, then the bucket up to its size.
 * last_ns moves on only by the time the credited whole tokens took (rounded up, so never more
 * than elapsed), so a fraction of a token is not lost between calls; a full bucket forgets the
 * time. A clock that went backwards credits nothing and restarts from now. */
static void bucket_refill(struct rl_bucket *b, uint64_t now)
{
	uint64_t size = b->cfg.size, want;
	unsigned __int128 earned;

	if (!size)
		return;
	if (now < b->last_ns) {
		b->last_ns = now;
		return;
	}
	want = b->debt + (size - b->budget);
	earned = (unsigned __int128)(now - b->last_ns) * b->per_tokens / b->per_ns;
	if (earned >= want) {
		b->debt = 0;
		b->budget = size;
		b->last_ns = now;
		return;
	}
	b->last_ns += (uint64_t)((earned * b->per_ns + b->per_tokens - 1) / b->per_tokens);
	if (earned <= b->debt) {
		b->debt -= (uint64_t)earned;
		return;
	}
	b->budget += (uint64_t)earned - b->debt;
	b->debt = 0;
}

/* More than the bucket can ever hold at once: it passes on an empty debt and runs into debt. */
static bool bucket_oversized(const struct rl_bucket *b, uint64_t n)
{
	return n > b->burst + b->cfg.size;
}

static bool bucket_allows(const struct rl_bucket *b, uint64_t n)
{
	if (!b->cfg.size || n == 0)
		return true;
	if (b->debt)
		return false;
	return bucket_oversized(b, n) || n <= b->burst + b->budget;
}

static void bucket_take(struct rl_bucket *b, uint64_t n)
{
	uint64_t from_burst;

	if (!b->cfg.size || n == 0)
		return;
	from_burst = n < b->burst ? n : b->burst;
	b->burst -= from_burst;
	n -= from_burst;
	if (n <= b->budget) {
		b->budget -= n;
		return;
	}
	b->debt = n - b->budget; /* oversized: Firecracker's OverConsumption */
	b->budget = 0;
}

/* Time until bucket_allows(b, n) (b refilled at `now`, and refusing). */
static uint64_t bucket_wait(const struct rl_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t have = b->burst + b->budget, partial = now - b->last_ns;
	unsigned __int128 need = b->debt, ns;

	/* The debt first; then the request itself, unless it is one that passes on no debt. In
	 * debt the burst and the bucket are empty (have = 0). */
	if (!bucket_oversized(b, n))
		need += n - have; /* n > have, else it would pass */
	ns = (need * b->per_ns + b->per_tokens - 1) / b->per_tokens;
	if (ns <= partial)
		return 1;
	ns -= partial;
	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

/* ---- the limiter ---- */

int rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg, rl_clock_fn now,
		      void *clock_opaque)
{
	static const struct rate_limiter_cfg none;
	uint64_t t;

	if (!cfg)
		cfg = &none;
	if (rate_limiter_cfg_check(cfg, NULL, 0))
		return -EINVAL;
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	rl->now = now ? now : monotonic_ns;
	rl->clock_opaque = clock_opaque;
	t = rl->now(rl->clock_opaque);
	bucket_reset(&rl->bw, &cfg->bw, t);
	bucket_reset(&rl->ops, &cfg->ops, t);
	return 0;
}

void rate_limiter_destroy(struct rate_limiter *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

int rate_limiter_init_rate(struct rate_limiter *rl, uint64_t per_sec, uint64_t size,
			   rl_clock_fn now, void *clock_opaque)
{
	struct rl_bucket *b = &rl->bw;

	if (!per_sec || !size || per_sec > RL_MAX_TOKENS || size > RL_MAX_TOKENS)
		return -EINVAL;
	rate_limiter_init(rl, NULL, now, clock_opaque);
	b->cfg = (struct rl_bucket_cfg){.size = size,
					.refill_ms = (size * 1000 + per_sec - 1) / per_sec};
	b->budget = size;
	b->per_tokens = per_sec;
	b->per_ns = NSEC_PER_SEC;
	return 0;
}

uint64_t rate_limiter_available(struct rate_limiter *rl, uint64_t want, uint64_t *wait_ns)
{
	struct rl_bucket *b = &rl->bw;
	uint64_t have = want;

	pthread_mutex_lock(&rl->lock);
	if (b->cfg.size) {
		uint64_t now = rl->now(rl->clock_opaque);

		bucket_refill(b, now);
		have = b->debt ? 0 : b->burst + b->budget;
		if (have > want)
			have = want;
		if (!have && wait_ns)
			*wait_ns = bucket_wait(b, want < b->cfg.size ? want : b->cfg.size, now);
	}
	pthread_mutex_unlock(&rl->lock);
	return have;
}

uint64_t rate_limiter_take_available(struct rate_limiter *rl, uint64_t want)
{
	struct rl_bucket *b = &rl->bw;
	uint64_t have = want;

	pthread_mutex_lock(&rl->lock);
	if (b->cfg.size) {
		bucket_refill(b, rl->now(rl->clock_opaque));
		have = b->debt ? 0 : b->burst + b->budget;
		if (have > want)
			have = want;
		bucket_take(b, have); /* never beyond the bucket: no debt */
		rl->throttled += have < want;
	}
	pthread_mutex_unlock(&rl->lock);
	return have;
}

uint64_t rate_limiter_bw_level(struct rate_limiter *rl)
{
	pthread_mutex_lock(&rl->lock);
	uint64_t level = rl->bw.budget;
	pthread_mutex_unlock(&rl->lock);
	return level;
}

void rate_limiter_set_bw_level(struct rate_limiter *rl, uint64_t tokens)
{
	pthread_mutex_lock(&rl->lock);
	rl->bw.budget = tokens < rl->bw.cfg.size ? tokens : rl->bw.cfg.size;
	rl->bw.debt = 0;
	rl->bw.last_ns = rl->now(rl->clock_opaque);
	pthread_mutex_unlock(&rl->lock);
}

bool rate_limiter_active(struct rate_limiter *rl)
{
	pthread_mutex_lock(&rl->lock);
	bool on = rl->bw.cfg.size || rl->ops.cfg.size;
	pthread_mutex_unlock(&rl->lock);
	return on;
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops, uint64_t *wait_ns)
{
	bool ok;

	pthread_mutex_lock(&rl->lock);
	if (!rl->bw.cfg.size && !rl->ops.cfg.size) {
		pthread_mutex_unlock(&rl->lock);
		return true;
	}
	uint64_t now = rl->now(rl->clock_opaque);
	bucket_refill(&rl->bw, now);
	bucket_refill(&rl->ops, now);
	ok = bucket_allows(&rl->bw, bytes) && bucket_allows(&rl->ops, ops);
	if (ok) {
		bucket_take(&rl->bw, bytes);
		bucket_take(&rl->ops, ops);
	} else {
		uint64_t w = 0, w2;
		if (!bucket_allows(&rl->bw, bytes))
			w = bucket_wait(&rl->bw, bytes, now);
		if (!bucket_allows(&rl->ops, ops) && (w2 = bucket_wait(&rl->ops, ops, now)) > w)
			w = w2;
		rl->throttled++;
		if (wait_ns)
			*wait_ns = w;
	}
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

static bool bucket_cfg_equal(const struct rl_bucket_cfg *a, const struct rl_bucket_cfg *b)
{
	if (!a->size && !b->size)
		return true;
	return a->size == b->size && a->one_time_burst == b->one_time_burst &&
	       a->refill_ms == b->refill_ms;
}

/* rate_limiter_update() of a checked configuration, the lock held. */
static void update_locked(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg)
{
	uint64_t now = rl->now(rl->clock_opaque);

	if (!bucket_cfg_equal(&rl->bw.cfg, &cfg->bw))
		bucket_reset(&rl->bw, &cfg->bw, now);
	if (!bucket_cfg_equal(&rl->ops.cfg, &cfg->ops))
		bucket_reset(&rl->ops, &cfg->ops, now);
}

int rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg)
{
	if (rate_limiter_cfg_check(cfg, NULL, 0))
		return -EINVAL;
	pthread_mutex_lock(&rl->lock);
	update_locked(rl, cfg);
	pthread_mutex_unlock(&rl->lock);
	return 0;
}

bool rate_limiter_patch_any(const struct rate_limiter_patch *p)
{
	return p->has_bw || p->has_ops;
}

int rate_limiter_patch_check(const struct rate_limiter_patch *p, char *err, size_t errlen)
{
	struct rate_limiter_cfg named = {0};

	rate_limiter_cfg_patch(&named, p);
	return rate_limiter_cfg_check(&named, err, errlen);
}

void rate_limiter_cfg_patch(struct rate_limiter_cfg *cfg, const struct rate_limiter_patch *p)
{
	if (p->has_bw)
		cfg->bw = p->cfg.bw;
	if (p->has_ops)
		cfg->ops = p->cfg.ops;
}

int rate_limiter_apply_patch(struct rate_limiter *rl, const struct rate_limiter_patch *p,
			     struct rate_limiter_cfg *now)
{
	struct rate_limiter_cfg cfg;
	int r = 0;

	pthread_mutex_lock(&rl->lock);
	cfg = (struct rate_limiter_cfg){rl->bw.cfg, rl->ops.cfg};
	rate_limiter_cfg_patch(&cfg, p);
	if (rate_limiter_cfg_check(&cfg, NULL, 0))
		r = -EINVAL;
	else
		update_locked(rl, &cfg);
	if (now)
		*now = (struct rate_limiter_cfg){rl->bw.cfg, rl->ops.cfg};
	pthread_mutex_unlock(&rl->lock);
	return r;
}

void rate_limiter_get_cfg(struct rate_limiter *rl, struct rate_limiter_cfg *cfg)
{
	pthread_mutex_lock(&rl->lock);
	cfg->bw = rl->bw.cfg;
	cfg->ops = rl->ops.cfg;
	pthread_mutex_unlock(&rl->lock);
}

/* ---- snapshot ---- */

static void bucket_save(const struct rl_bucket *b, struct rl_bucket_state *s)
{
	*s = (struct rl_bucket_state){
	    b->cfg.size, b->cfg.one_time_burst, b->cfg.refill_ms, b->budget, b->burst, b->debt};
}

void rate_limiter_save(struct rate_limiter *rl, struct rate_limiter_state *st)
{
	pthread_mutex_lock(&rl->lock);
	bucket_save(&rl->bw, &st->bw);
	bucket_save(&rl->ops, &st->ops);
	pthread_mutex_unlock(&rl->lock);
}

/* Levels within what the configuration allows: a debt no larger than one request can make. */
static bool bucket_state_ok(const struct rl_bucket_state *s)
{
	struct rl_bucket_cfg c = {s->size, s->one_time_burst, s->refill_ms};

	if (bucket_cfg_check(&c, "", NULL, 0))
		return false;
	if (!s->size)
		return !s->refill_ms && !s->budget && !s->burst && !s->debt;
	return s->budget <= s->size && s->burst <= s->one_time_burst && s->debt <= RL_MAX_TOKENS &&
	       (!s->debt || !s->budget);
}

static void bucket_load(struct rl_bucket *b, const struct rl_bucket_state *s, uint64_t now)
{
	struct rl_bucket_cfg c = {s->size, s->one_time_burst, s->refill_ms};

	bucket_reset(b, &c, now);
	b->budget = s->budget;
	b->burst = s->burst;
	b->debt = s->debt;
}

int rate_limiter_restore(struct rate_limiter *rl, const struct rate_limiter_state *st)
{
	if (!bucket_state_ok(&st->bw) || !bucket_state_ok(&st->ops))
		return -EINVAL;
	pthread_mutex_lock(&rl->lock);
	uint64_t now = rl->now(rl->clock_opaque);
	bucket_load(&rl->bw, &st->bw, now);
	bucket_load(&rl->ops, &st->ops, now);
	pthread_mutex_unlock(&rl->lock);
	return 0;
}

/* ---- timer ---- */

int rl_timer_init(struct rl_timer *t)
{
	*t = (struct rl_timer){.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)};
	return t->fd < 0 ? -errno : 0;
}

void rl_timer_destroy(struct rl_timer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->armed = false;
}

int rl_timer_arm(struct rl_timer *t, uint64_t ns)
{
	struct itimerspec its = {0};

	if (ns == 0)
		ns = 1; /* an all-zero it_value would disarm */
	its.it_value.tv_sec = (time_t)(ns / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(ns % NSEC_PER_SEC);
	if (timerfd_settime(t->fd, 0, &its, NULL) < 0) {
		int err = -errno;
		log_error("rate limiter: timerfd_settime: %s", strerror(-err));
		return err;
	}
	t->armed = true;
	return 0;
}

void rl_timer_disarm(struct rl_timer *t)
{
	struct itimerspec off = {0};

	timerfd_settime(t->fd, 0, &off, NULL);
	t->armed = false;
}

void rl_timer_fired(struct rl_timer *t)
{
	uint64_t expirations;

	if (read(t->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("rate limiter: timerfd read: %s", strerror(errno));
	t->armed = false;
}

/* ---- option text ---- */

static int rl_fail(char *err, size_t errlen, const char *s, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "bad rate limit '%s': %s", s, why);
	return -EINVAL;
}

int rl_bucket_parse(const char *s, struct rl_bucket_cfg *b, char *err, size_t errlen)
{
	char buf[96], *refill, *burst;
	uint64_t size, ms, otb = 0;

	if (!s || strlen(s) >= sizeof(buf))
		return rl_fail(err, errlen, s ? s : "", "expected SIZE:REFILL_MS[:BURST]");
	strcpy(buf, s);
	refill = strchr(buf, ':');
	if (!refill)
		return rl_fail(err, errlen, s, "expected SIZE:REFILL_MS[:BURST]");
	*refill++ = '\0';
	burst = strchr(refill, ':');
	if (burst)
		*burst++ = '\0';
	if (parse_size(buf, 1, &size) || size == 0 || size > RL_MAX_TOKENS)
		return rl_fail(err, errlen, s, "SIZE must be 1 to 2^50 (K, M, G suffixes)");
	if (parse_uint(refill, 1, RL_MAX_REFILL_MS, &ms))
		return rl_fail(err, errlen, s, "REFILL_MS must be 1 to 86400000");
	if (burst && (parse_size(burst, 1, &otb) || otb > RL_MAX_TOKENS))
		return rl_fail(err, errlen, s, "BURST must be 0 to 2^50 (K, M, G suffixes)");
	*b = (struct rl_bucket_cfg){size, otb, ms};
	return 0;
}

int rl_bucket_to_item(const struct rl_bucket_cfg *b, const char *key, struct opt_items *l)
{
	if (!b->size)
		return 0;
	return opt_items_addf(l, key, "%llu:%llu:%llu", (unsigned long long)b->size,
			      (unsigned long long)b->refill_ms,
			      (unsigned long long)b->one_time_burst);
}
