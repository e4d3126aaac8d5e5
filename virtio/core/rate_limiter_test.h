/* Test-only calls of the rate limiter (virtio/core/rate_limiter.h): what unit tests use to set up
 * or look inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a
 * *_test.h include anywhere else. */
#ifndef VIRTIO_CORE_RATE_LIMITER_TEST_H
#define VIRTIO_CORE_RATE_LIMITER_TEST_H

#include "virtio/core/rate_limiter.h"

/* True when the limiter limits anything (cheap; a device skips all work otherwise). */
bool rate_limiter_active(struct rate_limiter *rl);

/* Checks a configuration: each bucket is off (size 0: the other fields must be 0 too, except that
 * Firecracker bodies may carry a refill_time; it is ignored) or has size and one_time_burst at
 * most RL_MAX_TOKENS and 1 <= refill_ms <= RL_MAX_REFILL_MS. Returns 0 or -EINVAL with the
 * reason in err (may be NULL). */
int rate_limiter_cfg_check(const struct rate_limiter_cfg *cfg, char *err, size_t errlen);

#endif
