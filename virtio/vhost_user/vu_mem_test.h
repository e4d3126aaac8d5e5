/* Test-only calls of virtio/vhost_user/vu_mem.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_VHOST_USER_VU_MEM_TEST_H
#define VIRTIO_VHOST_USER_VU_MEM_TEST_H

#include "virtio/vhost_user/vu_mem.h"

/* Adds a region. Returns 0, -EINVAL (size 0, fd < 0, gpa+size or uaddr+size or
 * fd_offset+size overflowing, a guest range that overlaps another region's), or -ENOSPC. */
int vu_mem_table_add(struct vu_mem_table *t, const struct vu_region *r);

/* The user address of [gpa, gpa+len): the whole range inside one region, no overflow.
 * Returns 0 or -EFAULT. */
int vu_mem_translate(const struct vu_mem_table *t, uint64_t gpa, uint64_t len, uint64_t *uaddr);

#endif
