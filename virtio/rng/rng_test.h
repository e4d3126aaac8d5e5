/* Test-only calls of virtio/rng/rng.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_RNG_RNG_TEST_H
#define VIRTIO_RNG_RNG_TEST_H

#include "virtio/rng/rng.h"

void virtio_rng_set_source(struct virtio_dev *dev, const struct virtio_rng_source *src);

#endif
