/* Test-only calls of vmm/migration/stream/mig_chan.h: what unit tests use to look inside it and the
 * VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere
 * else. */
#ifndef VMM_MIGRATION_STREAM_MIG_CHAN_TEST_H
#define VMM_MIGRATION_STREAM_MIG_CHAN_TEST_H

#include "vmm/migration/stream/mig_chan.h"

/* True when a read would not wait: bytes (buffered, or the socket's, or end of stream) are
 * ready. */
int mig_chan_readable(struct mig_chan *c);

#endif
