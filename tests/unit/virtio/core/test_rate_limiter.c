/* The token-bucket rate limiter (virtio/core/rate_limiter.h) on a fake clock: refill, the
 * one-time burst, requests larger than the bucket, clock jumps, both buckets together, the wait
 * the timer is armed for, reconfiguration while throttled, snapshots, the option text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "virtio/core/rate_limiter.h"
#include "virtio/core/rate_limiter_test.h"

#define MS 1000000ull
#define S  1000000000ull

static uint64_t fake_now = 1000 * S;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_now;
}

static struct rate_limiter rl;

static void setup_rl(struct rl_bucket_cfg bw, struct rl_bucket_cfg ops)
{
	struct rate_limiter_cfg cfg = {bw, ops};
	cr_assert_eq(rate_limiter_init(&rl, &cfg, fake_clock, NULL), 0);
}

static bool take(uint64_t bytes, uint64_t ops, uint64_t *wait)
{
	return rate_limiter_consume(&rl, bytes, ops, wait);
}

Test(rate_limiter, unlimited_passes_everything)
{
	uint64_t w = 7;
	cr_assert_eq(rate_limiter_init(&rl, NULL, fake_clock, NULL), 0);
	cr_assert_not(rate_limiter_active(&rl));
	for (int i = 0; i < 1000; i++)
		cr_assert(take(UINT64_MAX / 2, 1000, &w));
	cr_assert_eq(w, 7);
}

Test(rate_limiter, starts_full_then_refills_linearly)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){1000, 0, 1000}, (struct rl_bucket_cfg){0});
	cr_assert(rate_limiter_active(&rl));
	cr_assert(take(1000, 1, &w)); /* a full bucket */
	cr_assert_not(take(1, 1, &w));
	cr_assert_eq(w, 1 * MS); /* one token per millisecond */
	fake_now += 500 * MS;
	cr_assert(take(500, 1, &w));
	cr_assert_not(take(1, 1, &w));
	fake_now += 10 * S; /* never more than the size */
	cr_assert(take(1000, 1, &w));
	cr_assert_not(take(1, 1, &w));
}

Test(rate_limiter, fractions_of_a_token_are_not_lost)
{
	uint64_t w, got = 0;
	setup_rl((struct rl_bucket_cfg){3, 0, 10}, (struct rl_bucket_cfg){0}); /* 0.3 tokens/ms */
	cr_assert(take(3, 0, &w));
	for (int i = 0; i < 1000; i++) { /* 1 s in steps of 1 ms: 300 tokens */
		fake_now += MS;
		while (take(1, 0, &w))
			got++;
	}
	cr_assert(got >= 299 && got <= 300, "got %llu", (unsigned long long)got);
}

Test(rate_limiter, one_time_burst_first_and_never_refilled)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){100, 400, 100}, (struct rl_bucket_cfg){0});
	cr_assert(take(400, 0, &w)); /* the burst */
	cr_assert(take(100, 0, &w)); /* the bucket */
	cr_assert_not(take(1, 0, &w));
	fake_now += 10 * S;
	cr_assert(take(100, 0, &w));
	cr_assert_not(take(1, 0, &w)); /* the burst did not come back */
}

Test(rate_limiter, burst_and_bucket_together_serve_one_request)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){100, 50, 100}, (struct rl_bucket_cfg){0});
	cr_assert(take(120, 0, &w)); /* 50 of the burst + 70 of the bucket */
	cr_assert(take(30, 0, &w));
	cr_assert_not(take(1, 0, &w));
}

Test(rate_limiter, refused_request_takes_nothing)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){100, 0, 100}, (struct rl_bucket_cfg){10, 0, 1000});
	cr_assert(take(60, 1, &w));
	cr_assert_not(take(60, 1, &w)); /* bandwidth refuses: the op is not taken either */
	for (int i = 0; i < 9; i++)
		cr_assert(take(0, 1, &w)); /* 9 ops left */
	cr_assert_not(take(0, 1, &w));
	cr_assert(take(40, 0, &w)); /* the 40 bytes are still there */
}

Test(rate_limiter, oversized_request_passes_and_leaves_a_debt)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){1000, 0, 1000}, (struct rl_bucket_cfg){0});
	cr_assert(take(3000, 1, &w)); /* 3x the bucket: passes, 2000 tokens of debt */
	cr_assert_not(take(1, 1, &w));
	cr_assert_eq(w, 2001 * MS); /* the debt, then the token */
	fake_now += 2000 * MS;
	cr_assert_not(take(1, 1, &w));
	cr_assert_eq(w, 1 * MS);
	fake_now += 1 * MS;
	cr_assert(take(1, 1, &w));
	/* a second oversized request waits for the debt to be repaid, not for a full bucket */
	fake_now += 10 * S;
	cr_assert(take(3000, 1, &w));
	cr_assert_not(take(3000, 1, &w));
	cr_assert_eq(w, 2000 * MS);
	fake_now += 2000 * MS;
	cr_assert(take(3000, 1, &w));
}

Test(rate_limiter, long_run_rate_with_oversized_requests)
{
	uint64_t w, bytes = 0, start = fake_now;
	setup_rl((struct rl_bucket_cfg){1000, 0, 100}, (struct rl_bucket_cfg){0}); /* 10000/s */
	while (fake_now - start < 10 * S) {
		if (take(4096, 1, &w))
			bytes += 4096;
		else
			fake_now += w;
	}
	/* 10 s at 10000 tokens/s, plus at most the first bucket and one request */
	cr_assert(bytes >= 100000 && bytes <= 100000 + 1000 + 4096, "%llu",
		  (unsigned long long)bytes);
}

Test(rate_limiter, clock_backwards_credits_nothing)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){1000, 0, 1000}, (struct rl_bucket_cfg){0});
	cr_assert(take(1000, 0, &w));
	fake_now -= 100 * S;
	cr_assert_not(take(1, 0, &w));
	cr_assert_eq(w, 1 * MS); /* restarted from the new now, not 100 s later */
	fake_now += 10 * MS;
	cr_assert(take(10, 0, &w));
	cr_assert_not(take(1, 0, &w));
}

Test(rate_limiter, huge_forward_jump_fills_without_overflow)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){RL_MAX_TOKENS, 0, 1}, (struct rl_bucket_cfg){0});
	cr_assert(take(RL_MAX_TOKENS, 0, &w));
	fake_now += UINT64_MAX / 4;
	cr_assert(take(RL_MAX_TOKENS, 0, &w));
	cr_assert_not(take(RL_MAX_TOKENS, 0, &w));
	cr_assert(w >= 1);
}

Test(rate_limiter, wait_is_the_slower_bucket)
{
	uint64_t w;
	setup_rl((struct rl_bucket_cfg){1000, 0, 1000}, (struct rl_bucket_cfg){10, 0, 1000});
	cr_assert(take(1000, 10, &w));
	cr_assert_not(take(1, 1, &w));
	cr_assert_eq(w, 100 * MS); /* ops: 10/s, bandwidth would be 1 ms */
	fake_now += 40 * MS;
	cr_assert_not(take(1, 1, &w));
	cr_assert_eq(w, 60 * MS); /* the partial time counts */
	fake_now += w;
	cr_assert(take(1, 1, &w));
}

Test(rate_limiter, reconfigure_while_throttled)
{
	uint64_t w;
	struct rate_limiter_cfg cfg = {{1000, 0, 1000}, {0}}, got;
	setup_rl(cfg.bw, cfg.ops);
	cr_assert(take(1000, 1, &w));
	cr_assert_not(take(500, 1, &w));
	cr_assert_eq(rate_limiter_update(&rl, &cfg), 0); /* same config: keeps its level */
	cr_assert_not(take(500, 1, &w));
	cfg.bw.size = 4000; /* another: a new full bucket */
	cr_assert_eq(rate_limiter_update(&rl, &cfg), 0);
	cr_assert(take(4000, 1, &w));
	rate_limiter_get_cfg(&rl, &got);
	cr_assert_eq(got.bw.size, 4000);
	cfg.bw = (struct rl_bucket_cfg){0}; /* off */
	cr_assert_eq(rate_limiter_update(&rl, &cfg), 0);
	cr_assert_not(rate_limiter_active(&rl));
	cr_assert(take(1ull << 40, 1, &w));
	cfg.bw = (struct rl_bucket_cfg){10, 0, 0}; /* refused: no refill time */
	cr_assert_eq(rate_limiter_update(&rl, &cfg), -EINVAL);
	cr_assert_not(rate_limiter_active(&rl));
}

/* A PATCH names buckets: those change, the other keeps its configuration and its level. */
Test(rate_limiter, a_patch_changes_only_the_buckets_it_names)
{
	uint64_t w;
	struct rate_limiter_cfg now;
	struct rate_limiter_patch p = {.cfg = {.ops = {20, 0, 1000}}, .has_ops = true};
	setup_rl((struct rl_bucket_cfg){1000, 0, 1000}, (struct rl_bucket_cfg){10, 0, 1000});
	cr_assert(take(1000, 1, &w)); /* bandwidth now empty */
	cr_assert_eq(rate_limiter_apply_patch(&rl, &p, &now), 0);
	cr_assert_eq(now.bw.size, 1000, "bandwidth not named: kept");
	cr_assert_eq(now.ops.size, 20);
	cr_assert_not(take(1, 1, &w), "the kept bucket keeps its level too");
	fake_now += 1000 * MS;
	cr_assert(take(1000, 20, &w), "the patched ops bucket holds 20");
	p = (struct rate_limiter_patch){.has_bw = true}; /* size 0: bandwidth off */
	cr_assert_eq(rate_limiter_apply_patch(&rl, &p, &now), 0);
	cr_assert_eq(now.bw.size, 0);
	cr_assert_eq(now.ops.size, 20, "ops not named: kept");
	p = (struct rate_limiter_patch){0};
	cr_assert_not(rate_limiter_patch_any(&p));
	cr_assert_eq(rate_limiter_apply_patch(&rl, &p, &now), 0, "naming nothing changes nothing");
	cr_assert_eq(now.ops.size, 20);
	p = (struct rate_limiter_patch){.cfg = {.ops = {5, 0, 0}}, .has_ops = true};
	cr_assert_eq(rate_limiter_apply_patch(&rl, &p, &now), -EINVAL);
	cr_assert_eq(now.ops.size, 20, "a refused patch changes nothing");
	rate_limiter_get_cfg(&rl, &now);
	cr_assert_eq(now.ops.refill_ms, 1000);
}

Test(rate_limiter, cfg_patch_merges)
{
	struct rate_limiter_cfg c = {{1, 2, 3}, {4, 5, 6}};
	struct rate_limiter_patch p = {.cfg = {{7, 8, 9}, {10, 11, 12}}, .has_bw = true};
	rate_limiter_cfg_patch(&c, &p);
	cr_assert_eq(c.bw.size, 7);
	cr_assert_eq(c.ops.size, 4);
	p.has_bw = false, p.has_ops = true;
	rate_limiter_cfg_patch(&c, &p);
	cr_assert_eq(c.bw.refill_ms, 9);
	cr_assert_eq(c.ops.one_time_burst, 11);
}

Test(rate_limiter, config_checks)
{
	char err[128];
	struct rate_limiter_cfg c = {{0, 0, 1000}, {0}};
	cr_assert_eq(rate_limiter_cfg_check(&c, err, sizeof(err)), 0); /* size 0: off */
	c.bw.one_time_burst = 5;
	cr_assert_eq(rate_limiter_cfg_check(&c, err, sizeof(err)), -EINVAL);
	c.bw = (struct rl_bucket_cfg){RL_MAX_TOKENS + 1, 0, 10};
	cr_assert_eq(rate_limiter_cfg_check(&c, err, sizeof(err)), -EINVAL);
	c.bw = (struct rl_bucket_cfg){10, 0, RL_MAX_REFILL_MS + 1};
	cr_assert_eq(rate_limiter_cfg_check(&c, err, sizeof(err)), -EINVAL);
	c.bw = (struct rl_bucket_cfg){10, 0, 1};
	c.ops = (struct rl_bucket_cfg){10, 0, 0};
	cr_assert_eq(rate_limiter_cfg_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "ops"));
	cr_assert_eq(rate_limiter_init(&rl, &c, NULL, NULL), -EINVAL);
}

Test(rate_limiter, snapshot_round_trip_and_checks)
{
	uint64_t w;
	struct rate_limiter_state st, bad;
	struct rate_limiter other;
	setup_rl((struct rl_bucket_cfg){1000, 500, 1000}, (struct rl_bucket_cfg){10, 0, 1000});
	cr_assert(take(700, 3, &w));
	rate_limiter_save(&rl, &st);
	cr_assert_eq(st.bw.budget, 800);
	cr_assert_eq(st.bw.burst, 0);
	cr_assert_eq(st.ops.budget, 7);
	cr_assert_eq(rate_limiter_init(&other, NULL, fake_clock, NULL), 0);
	cr_assert_eq(rate_limiter_restore(&other, &st), 0);
	cr_assert(rate_limiter_consume(&other, 800, 7, &w));
	cr_assert_not(rate_limiter_consume(&other, 1, 0, &w));
	bad = st;
	bad.bw.budget = 1001;
	cr_assert_eq(rate_limiter_restore(&other, &bad), -EINVAL);
	bad = st;
	bad.ops.burst = 1;
	cr_assert_eq(rate_limiter_restore(&other, &bad), -EINVAL);
	bad = st;
	bad.bw.refill_ms = 0;
	cr_assert_eq(rate_limiter_restore(&other, &bad), -EINVAL);
	bad = st;
	bad.bw.debt = 5; /* a debt with tokens in the bucket cannot happen */
	cr_assert_eq(rate_limiter_restore(&other, &bad), -EINVAL);
	memset(&bad, 0, sizeof(bad));
	bad.ops.budget = 3; /* an off bucket holds nothing */
	cr_assert_eq(rate_limiter_restore(&other, &bad), -EINVAL);
}

Test(rate_limiter, timer_fires_after_the_wait)
{
	struct rl_timer t;
	struct pollfd p;
	cr_assert_eq(rl_timer_init(&t), 0);
	cr_assert_not(t.armed);
	cr_assert_eq(rl_timer_arm(&t, 20 * MS), 0);
	cr_assert(t.armed);
	p = (struct pollfd){.fd = t.fd, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 0), 0); /* not yet */
	cr_assert_eq(poll(&p, 1, 5000), 1);
	rl_timer_fired(&t);
	cr_assert_not(t.armed);
	cr_assert_eq(poll(&p, 1, 0), 0); /* read: no longer readable */
	rl_timer_destroy(&t);
}

Test(rate_limiter, option_text)
{
	struct rl_bucket_cfg b;
	char err[128];
	cr_assert_eq(rl_bucket_parse("2M:1000", &b, err, sizeof(err)), 0);
	cr_assert_eq(b.size, 2 << 20);
	cr_assert_eq(b.refill_ms, 1000);
	cr_assert_eq(b.one_time_burst, 0);
	cr_assert_eq(rl_bucket_parse("500:1000:1K", &b, err, sizeof(err)), 0);
	cr_assert_eq(b.size, 500);
	cr_assert_eq(b.one_time_burst, 1024);
	const char *bad[] = {"",      "100",	   "0:1000",	      "100:0", "100:x",
			     "x:100", "100:100:y", "100:99999999999", NULL};
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		cr_assert_eq(rl_bucket_parse(bad[i], &b, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(err, "rate limit"), "%s", bad[i]);
	}
}

/* virtio-rng's limit: a rate per second and a bucket that is not a whole number of milliseconds
 * of it (64 B/s, 5 bytes), served partly: a chain gets what the bucket holds. */
Test(rate_limiter, a_rate_per_second_serves_what_the_bucket_holds)
{
	uint64_t wait = 0;

	fake_now = 1000 * S;
	cr_assert_eq(rate_limiter_init_rate(&rl, 0, 5, fake_clock, NULL), -EINVAL);
	cr_assert_eq(rate_limiter_init_rate(&rl, 64, 5, fake_clock, NULL), 0);
	cr_assert_eq(rate_limiter_available(&rl, 200, &wait), 5, "starts full");
	cr_assert(rate_limiter_consume(&rl, 5, 0, NULL));
	cr_assert_eq(rate_limiter_available(&rl, 200, &wait), 0);
	/* 5 bytes at 64 B/s: 78.125 ms, rounded up to the nanosecond */
	cr_assert_eq(wait, 78125000u, "%llu", (unsigned long long)wait);
	fake_now += 1000000000u / 64 * 2; /* two bytes' time */
	cr_assert_eq(rate_limiter_available(&rl, 200, &wait), 2);
	cr_assert_eq(rate_limiter_available(&rl, 1, &wait), 1, "never more than asked");
	rate_limiter_set_bw_level(&rl, 99);
	cr_assert_eq(rate_limiter_bw_level(&rl), 5, "a level is clamped to the bucket");
	fake_now += 3600 * S;
	cr_assert_eq(rate_limiter_available(&rl, 200, &wait), 5, "an hour idle: still the bucket");
	rate_limiter_destroy(&rl);
}

/* Output that is dropped rather than delayed (COM1's): what the bucket has is taken, the rest
 * refused and counted, and the bucket is never left in debt. */
Test(rate_limiter, take_available_takes_what_there_is)
{
	setup_rl((struct rl_bucket_cfg){.size = 100, .refill_ms = 1000, .one_time_burst = 10},
		 (struct rl_bucket_cfg){0});
	cr_assert_eq(rate_limiter_take_available(&rl, 30), 30, "from the burst, then the bucket");
	cr_assert_eq(rate_limiter_take_available(&rl, 200), 80, "what is left, no debt");
	cr_assert_eq(rl.bw.debt, 0);
	cr_assert_eq(rate_limiter_take_available(&rl, 1), 0);
	cr_assert_eq(rl.throttled, 2);
	fake_now += 100 * MS;
	cr_assert_eq(rate_limiter_take_available(&rl, 50), 10, "a tenth refilled");
	rate_limiter_destroy(&rl);
	cr_assert_eq(rate_limiter_init(&rl, NULL, fake_clock, NULL), 0);
	cr_assert_eq(rate_limiter_take_available(&rl, 1 << 20), 1 << 20, "no bucket: no limit");
	rate_limiter_destroy(&rl);
}
