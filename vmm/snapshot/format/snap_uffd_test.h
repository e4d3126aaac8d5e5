/* Test-only calls of vmm/snapshot/format/snap_uffd.h: what unit tests use to look inside it and the
 * VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere
 * else. */
#ifndef VMM_SNAPSHOT_FORMAT_SNAP_UFFD_TEST_H
#define VMM_SNAPSHOT_FORMAT_SNAP_UFFD_TEST_H

#include "vmm/snapshot/format/snap_uffd.h"

/* The JSON body of the hand-off for `mem` (see above) into buf. Returns its length, or
 * -ENOSPC when it does not fit. File offsets count RAM in region order (snap_mem.h). */
int snap_uffd_mappings(const struct guest_mem *mem, char *buf, size_t len);

#endif
