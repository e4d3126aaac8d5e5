/* Test-only calls of virtio-vsock (virtio/vsock/vsock.h): what unit tests use to set up or look
 * inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h
 * include anywhere else. */
#ifndef VIRTIO_VSOCK_VSOCK_TEST_H
#define VIRTIO_VSOCK_VSOCK_TEST_H

#include "virtio/vsock/vsock.h"

/* How long a host connection may take to send its CONNECT line (default
 * VIRTIO_VSOCK_HANDSHAKE_MS): for tests, before the first host connection. */
void virtio_vsock_set_handshake_timeout(struct virtio_dev *dev, unsigned ms);

/* The inner epoll set serving the host sockets: for tests and fuzzers without an I/O thread,
 * which call virtio_vsock_poll() (dev->lock held) to serve what is ready. */
int virtio_vsock_epoll_fd(struct virtio_dev *dev);

void virtio_vsock_poll(struct virtio_dev *dev);

/* Connections open now (tests). */
unsigned virtio_vsock_conn_count(struct virtio_dev *dev);

#endif
