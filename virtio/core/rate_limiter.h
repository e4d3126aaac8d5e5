/* Token-bucket rate limiters for device I/O, with Firecracker's semantics (its
 * src/vmm/src/rate_limiter: `rate_limiter: {bandwidth: {size, one_time_burst, refill_time},
 * ops: {...}}`), shared by virtio-blk (per disk) and virtio-net (per direction).
 *
 * A bucket holds up to `size` tokens and refills linearly, `size` tokens every `refill_ms`
 * milliseconds; it starts full. `one_time_burst` extra tokens are available once, consumed before
 * the bucket and never refilled. A request larger than everything the bucket can ever hold
 * (size + what is left of the burst) is let through when it comes and leaves the bucket in debt:
 * the debt is refilled first, so the long-run rate still holds (Firecracker's OverConsumption,
 * which blocks the limiter for the same time). size 0 means no limit.
 *
 * A limiter is an optional bandwidth bucket (bytes) and an optional ops bucket (requests): a
 * request passes only when both allow it, and then takes from both; a refused request takes
 * nothing. When refused, rate_limiter_consume() says how long until this request would pass, and
 * the device arms its rl_timer for that long and stops serving the queue (it never spins); the
 * timer's fd is registered with the device's I/O thread, whose callback serves the queue again.
 *
 * Threads: struct rate_limiter has its own small mutex, so several queue threads of one device
 * may consume from one limiter. A timer belongs to the one thread that waits on it (give each
 * queue thread its own). The clock is injectable for tests (CLOCK_MONOTONIC by default). */
#ifndef VIRTIO_RATE_LIMITER_H
#define VIRTIO_RATE_LIMITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Largest accepted values (checked by rate_limiter_cfg_check(), rate_limiter_test.h): keep the
 * arithmetic far from overflow and refuse nonsense from a command line or an API body. */
#define RL_MAX_TOKENS	 (1ull << 50)	       /* 1 PiB or 10^15 operations */
#define RL_MAX_REFILL_MS (1000ull * 3600 * 24) /* one day */

struct rl_bucket_cfg {
	uint64_t size;		 /* tokens; 0 = unlimited */
	uint64_t one_time_burst; /* extra tokens available once */
	uint64_t refill_ms;	 /* time to refill `size` tokens from empty (> 0 when size > 0) */
};

struct rate_limiter_cfg {
	struct rl_bucket_cfg bw;  /* bytes */
	struct rl_bucket_cfg ops; /* requests */
};

struct rl_bucket {
	struct rl_bucket_cfg cfg;
	uint64_t budget;  /* tokens in the bucket, <= cfg.size */
	uint64_t burst;	  /* one-time burst left */
	uint64_t debt;	  /* tokens taken beyond an empty bucket (an oversized request) */
	uint64_t last_ns; /* time up to which refill has been credited */
	/* The refill rate: per_tokens tokens every per_ns (size per refill_ms from a cfg; a rate
	 * per second from rate_limiter_init_rate()). */
	uint64_t per_tokens, per_ns;
};

typedef uint64_t (*rl_clock_fn)(void *opaque);

struct rate_limiter {
	pthread_mutex_t lock;
	struct rl_bucket bw, ops;
	rl_clock_fn now;
	void *clock_opaque;
	uint64_t throttled; /* requests refused, for tests and metrics */
};

/* The state a snapshot keeps (fixed layout, little-endian host assumed as the rest of the
 * snapshot). Restored with rate_limiter_restore(), which checks it. */
struct rl_bucket_state {
	uint64_t size, one_time_burst, refill_ms;
	uint64_t budget, burst, debt;
};
struct rate_limiter_state {
	struct rl_bucket_state bw, ops;
};

/* True when either bucket limits something. */
bool rate_limiter_cfg_active(const struct rate_limiter_cfg *cfg);

/* Sets up a limiter with full buckets (cfg may be NULL: unlimited). `now` NULL: CLOCK_MONOTONIC.
 * Returns 0 or -EINVAL (bad cfg). */
int rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg, rl_clock_fn now,
		      void *clock_opaque);
void rate_limiter_destroy(struct rate_limiter *rl);

/* A limiter of one bandwidth bucket given as a rate, virtio-rng's rate=,burst=: `per_sec`
 * tokens a second up to `size` (which need not be a whole number of milliseconds' refill, so it
 * is not a cfg), starting full; its cfg reads as size per ceil(size / per_sec) ms. `now` as for
 * rate_limiter_init(). Returns 0 or -EINVAL (0 or more than RL_MAX_TOKENS). */
int rate_limiter_init_rate(struct rate_limiter *rl, uint64_t per_sec, uint64_t size,
			   rl_clock_fn now, void *clock_opaque);

/* For a device that may serve less than it is asked (virtio-rng, virtio 1.2 5.4.6.2): the
 * bandwidth tokens there are now, at most `want`, without taking them (take what was used with
 * rate_limiter_consume()). 0 when there are none: *wait_ns is then the time until min(want,
 * size) are. Without a bandwidth bucket: `want`. Takes the limiter's lock. */
uint64_t rate_limiter_available(struct rate_limiter *rl, uint64_t want, uint64_t *wait_ns);

/* For output that is dropped rather than delayed (COM1's, Firecracker's serial rate_limiter):
 * takes the bandwidth tokens there are now, at most `want`, and returns how many (the caller
 * drops the rest). Never leaves the bucket in debt. Without a bandwidth bucket: `want`. */
uint64_t rate_limiter_take_available(struct rate_limiter *rl, uint64_t want);

/* The bandwidth bucket's level, for a device whose snapshot keeps only that; set clamps it to
 * the bucket's size and counts the refill from now. */
uint64_t rate_limiter_bw_level(struct rate_limiter *rl);
void rate_limiter_set_bw_level(struct rate_limiter *rl, uint64_t tokens);

/* Asks for `bytes` bandwidth tokens and `ops` operation tokens. True: they were taken (or a
 * bucket is off). False: nothing was taken; *wait_ns (if not NULL) is the time until this request
 * would pass (>= 1). Takes the limiter's lock. */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops, uint64_t *wait_ns);

/* Replaces the configuration at run time: a bucket whose config changes starts anew, full
 * (Firecracker builds new buckets); an unchanged one keeps its level. Returns 0 or -EINVAL. */
int rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg);

/* A run-time change in Firecracker's PATCH terms: the buckets it names get their new
 * configuration (size 0: that bucket off), the others stay as they are. */
struct rate_limiter_patch {
	struct rate_limiter_cfg cfg; /* the named buckets' configuration; the others ignored */
	bool has_bw, has_ops;
};

/* True when the patch names a bucket (else applying it changes nothing). */
bool rate_limiter_patch_any(const struct rate_limiter_patch *p);

/* rate_limiter_cfg_check() of the buckets the patch names. */
int rate_limiter_patch_check(const struct rate_limiter_patch *p, char *err, size_t errlen);

/* *cfg with the buckets `p` names replaced. */
void rate_limiter_cfg_patch(struct rate_limiter_cfg *cfg, const struct rate_limiter_patch *p);

/* Applies `p` to the configuration in force, as rate_limiter_update() would the merged
 * configuration, reading and changing it under one hold of the lock (two patches of different
 * buckets never undo each other). *now (may be NULL) gets the configuration in force after it.
 * Returns 0 or -EINVAL (a bad bucket; nothing changed). */
int rate_limiter_apply_patch(struct rate_limiter *rl, const struct rate_limiter_patch *p,
			     struct rate_limiter_cfg *now);

/* The configuration in force. */
void rate_limiter_get_cfg(struct rate_limiter *rl, struct rate_limiter_cfg *cfg);

/* Snapshot: the buckets' configuration and levels (the clock is not kept: refill counts from
 * the restore on). restore checks every value (the file is untrusted) and that the saved
 * configuration is the one this limiter was built with; it changes nothing on failure. Returns 0
 * or -EINVAL. */
void rate_limiter_save(struct rate_limiter *rl, struct rate_limiter_state *st);
int rate_limiter_restore(struct rate_limiter *rl, const struct rate_limiter_state *st);

/* ---- the wait: a one-shot timerfd the device's I/O thread watches ---- */

struct rl_timer {
	int fd;	      /* timerfd (CLOCK_MONOTONIC, non-blocking), -1 when not created */
	bool armed;   /* waiting for it: the queue is throttled */
	bool watched; /* registered with the I/O thread (the device's business) */
};

/* Creates the timerfd. Returns 0 or -errno. */
int rl_timer_init(struct rl_timer *t);
void rl_timer_destroy(struct rl_timer *t);
/* Fires once in `ns` nanoseconds (>= 1); sets armed. Returns 0 or -errno (then not armed: the
 * caller serves again on its next event rather than never). */
int rl_timer_arm(struct rl_timer *t, uint64_t ns);
/* The timer fired (its fd was readable): reads the expirations and clears armed. */
void rl_timer_fired(struct rl_timer *t);
/* Stops a pending wait (a device reset): clears armed. */
void rl_timer_disarm(struct rl_timer *t);

/* Parses a bucket "SIZE:REFILL_MS[:ONE_TIME_BURST]" (SIZE and burst take K/M/G suffixes, powers
 * of 1024) into *b. Returns 0 or -EINVAL with the reason in err. */
int rl_bucket_parse(const char *s, struct rl_bucket_cfg *b, char *err, size_t errlen);

/* Adds bucket `b` as item `key` ("bw=SIZE:REFILL_MS:BURST", what rl_bucket_parse() reads back)
 * to `l` when it is set (size > 0). Returns 0 or -ENOMEM. */
struct opt_items;
int rl_bucket_to_item(const struct rl_bucket_cfg *b, const char *key, struct opt_items *l);

#endif
