/* Test-only calls of virtio/core/queue_state.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_CORE_QUEUE_STATE_TEST_H
#define VIRTIO_CORE_QUEUE_STATE_TEST_H

#include "virtio/core/queue_state.h"

/* Puts a saved state into `vq` (vq_init()ed with the device's maximum). An active state is
 * checked like vq_activate() does (size, ring layout in `mem`) and its positions against the
 * size. Returns 0 or -EINVAL / -VQ_E_* (the queue is then reset). */
int vq_restore(struct virtqueue *vq, const struct guest_mem *mem, const struct vq_state *st);

#endif
