/* Test-only calls of virtio/vhost_user/vu_net.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_VHOST_USER_VU_NET_TEST_H
#define VIRTIO_VHOST_USER_VU_NET_TEST_H

#include "virtio/vhost_user/vu_net.h"

/* The features of a set whose dependencies (5.1.3.1) are in it: an offload without the
 * checksum feature it needs, ECN without TSO, is dropped (a pure function; fuzz_vu_config). */
uint64_t vu_net_features_sanitize(uint64_t features);

#endif
