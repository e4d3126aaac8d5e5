/* Test-only calls of vmm/mmds/mmds_store.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_NET_MMDS_MMDS_STORE_TEST_H
#define VIRTIO_NET_MMDS_MMDS_STORE_TEST_H

#include "vmm/mmds/mmds_store.h"

/* The document for GET /mmds: a new reference, {} before the first PUT (as Firecracker
 * answers); NULL when out of memory. */
json_t *mmds_store_get(const struct mmds_store *s);

#endif
