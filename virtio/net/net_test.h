/* Test-only calls of virtio-net (virtio/net/net.h): what unit tests use to set up or look inside it
 * and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include
 * anywhere else. */
#ifndef VIRTIO_NET_NET_TEST_H
#define VIRTIO_NET_NET_TEST_H

#include "virtio/net/net.h"

/* Queue pairs in use (1 until the driver's VQ_PAIRS_SET); takes the device's locks. */
unsigned virtio_net_pairs_in_use(struct virtio_dev *dev);

void virtio_net_get_rx_mode(struct virtio_dev *dev, struct virtio_net_rx_mode *out);

/* The backend of pair `pair`, or NULL past the device's pairs. */
struct net_backend *virtio_net_pair_backend(struct virtio_dev *dev, unsigned pair);

#endif
