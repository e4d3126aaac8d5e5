/* Test-only calls of the batched tap receive (virtio/net/tap_rx.h). Included by tests/ only;
 * cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef VIRTIO_NET_TAP_RX_TEST_H
#define VIRTIO_NET_TAP_RX_TEST_H

#include "virtio/net/tap_rx.h"

/* While err is nonzero every io_uring read answers -err without touching the fd, as Linux 6.1
 * answers a RWF_NOWAIT read of a tap (-EOPNOTSUPP); 0 restores the real reads. Process-wide. */
void tap_rx_test_fail_nowait(int err);

#endif
