/* Test-only calls of virtio-console (virtio/console/console.h): what unit tests use to set up or
 * look inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a
 * *_test.h include anywhere else. */
#ifndef VIRTIO_CONSOLE_CONSOLE_TEST_H
#define VIRTIO_CONSOLE_CONSOLE_TEST_H

#include "virtio/console/console.h"

/* Transmit chains cut at VCONSOLE_TX_CHAIN_MAX so far (statistics, tests). */
uint64_t virtio_console_tx_truncated(struct virtio_dev *dev);

#endif
