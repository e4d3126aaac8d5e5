/* Test-only calls of virtio-blk (virtio/blk/blk.h): what unit tests use and the VMM does not.
 * Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef VIRTIO_BLK_BLK_TEST_H
#define VIRTIO_BLK_BLK_TEST_H

#include "virtio/blk/blk.h"

/* virtio_dev_destroy() (stops the I/O thread, waits for in-flight I/O, closes the disk), then
 * frees the device. NULL is allowed. */
void virtio_blk_destroy(struct virtio_dev *dev);

#endif
