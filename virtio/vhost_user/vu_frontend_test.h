/* Test-only calls of virtio/vhost_user/vu_frontend.h: what unit tests and fuzz targets use to drive
 * or look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in
 * any layer. */
#ifndef VIRTIO_VHOST_USER_VU_FRONTEND_TEST_H
#define VIRTIO_VHOST_USER_VU_FRONTEND_TEST_H

#include "virtio/vhost_user/vu_frontend.h"

int vu_frontend_set_config(struct vu_frontend *f, uint32_t offset, const void *buf, uint32_t len);

/* The socket, to watch for the back-end hanging up (POLLRDHUP) from an event loop; -1 closed. */
int vu_frontend_fd(const struct vu_frontend *f);

/* The same handshake over an already connected socket `fd` (taken; tests use a socketpair). */
int vu_frontend_attach(struct vu_frontend *f, int fd, int timeout_ms);

/* Stops ring `index` and gives its next available index in `*base` (NULL: not wanted).
 * Returns 0 or -errno. */
int vu_frontend_stop_vring(struct vu_frontend *f, unsigned index, uint16_t *base);

#endif
