/* Test-only calls of virtio/core/poll.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_CORE_POLL_TEST_H
#define VIRTIO_CORE_POLL_TEST_H

#include "virtio/core/poll.h"

/* The window's next size after a sleep of `slept_ns` that followed an unsuccessful (or no)
 * poll: exposed for the unit test. */
uint64_t virtio_poll_adapt(uint64_t window_ns, uint64_t max_ns, uint64_t slept_ns);

#endif
