/* Test-only calls of virtio/transport/virtio_mmio.h: what unit tests and fuzz targets use to drive
 * or look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in
 * any layer. */
#ifndef VIRTIO_TRANSPORT_VIRTIO_MMIO_TEST_H
#define VIRTIO_TRANSPORT_VIRTIO_MMIO_TEST_H

#include "virtio/transport/virtio_mmio.h"

/* One guest access at `offset` inside the window; registers take 32-bit aligned accesses only
 * (others read 0 and are ignored), the config space any size. Take dev->lock. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len);

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len);

#endif
