/* Test-only calls of virtio/pmem/pmem.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_PMEM_PMEM_TEST_H
#define VIRTIO_PMEM_PMEM_TEST_H

#include "virtio/pmem/pmem.h"

bool virtio_pmem_is(const struct virtio_dev *dev);

void virtio_pmem_set_flush(struct virtio_dev *dev, virtio_pmem_flush_fn fn, void *opaque);

/* Test seam: waits (without dev->lock) until the flush thread has nothing left to do. */
void virtio_pmem_wait_idle(struct virtio_dev *dev);

/* Test seam: what a wakeup of the completion eventfd runs. dev->lock held. */
void virtio_pmem_poll(struct virtio_dev *dev);

#endif
