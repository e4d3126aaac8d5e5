/* Test-only calls of virtio/queue/virtqueue.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_QUEUE_VIRTQUEUE_TEST_H
#define VIRTIO_QUEUE_VIRTQUEUE_TEST_H

#include "virtio/queue/virtqueue.h"

int vq_chain_skip_write(struct vq_chain *c, size_t len);

#endif
