/* Test-only calls of the rate limiter (virtio/core/rate_limiter.h): what unit tests use to set up
 * or look inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a
 * *_test.h include anywhere else. */
#ifndef VIRTIO_CORE_RATE_LIMITER_TEST_H
#define VIRTIO_CORE_RATE_LIMITER_TEST_H

#include "virtio/core/rate_limiter.h"

/* True when the limiter limits anything (cheap; a device skips all work otherwise). */
bool rate_limiter_active(struct rate_limiter *rl);

#endif
