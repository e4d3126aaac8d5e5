/* Test-only calls of virtio/balloon/balloon.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_BALLOON_BALLOON_TEST_H
#define VIRTIO_BALLOON_BALLOON_TEST_H

#include "virtio/balloon/balloon.h"

/* Test seam: the device's own eventfd and timerfd are normally served by its I/O thread; a test
 * without one calls this to run what a wakeup of either would run. dev->lock held. */
void virtio_balloon_poll(struct virtio_dev *dev, bool timer_fired);

void virtio_balloon_set_discard(struct virtio_dev *dev, virtio_balloon_discard_fn fn);

#endif
