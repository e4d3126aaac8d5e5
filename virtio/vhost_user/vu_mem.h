/* The memory table a vhost-user back-end is given (SET_MEM_TABLE), and the translation of ring
 * addresses into it.
 *
 * The back-end maps each region's fd and from then on reaches guest memory only through the
 * table; ring addresses are sent as front-end virtual addresses ("user addresses") that it
 * translates with the table. So every address handed over is first checked to lie, whole,
 * inside one region: a hostile guest that programs a ring address outside RAM gets a refused
 * queue, never a back-end that touches something else. */
#ifndef VIRTIO_VHOST_USER_MEM_H
#define VIRTIO_VHOST_USER_MEM_H

#include <stdint.h>

#include "virtio/vhost_user/vu_proto.h"

struct guest_mem;

struct vu_region {
	uint64_t gpa;	    /* guest-physical start */
	uint64_t size;	    /* bytes */
	uint64_t uaddr;	    /* the front-end's mapping of gpa (the "user address") */
	int fd;		    /* the file the back-end maps (a memfd) */
	uint64_t fd_offset; /* offset of the region's first byte in fd */
};

struct vu_mem_table {
	struct vu_region r[VU_MAX_REGIONS];
	unsigned n;
};

/* The table of guest RAM: every region of `mem` must be shareable (guest_mem_alloc_shared() or
 * guest_mem_add_shared_region()). Returns 0 or -EINVAL when one has no fd. */
int vu_mem_table_from_guest(struct vu_mem_table *t, const struct guest_mem *mem);

/* A split virtqueue as the driver programmed it (virtio 1.2 2.7). */
struct vu_ring_gpa {
	uint32_t num; /* queue size */
	uint64_t desc, avail, used;
};

/* The user addresses of a split ring's three parts, after checking the queue size (a power of
 * two, 1..32768) and each part's alignment and whole extent (descriptor table 16*num, 16-byte
 * aligned; available ring 6+2*num, 2-aligned; used ring 6+8*num, 4-aligned; each including the
 * event-index field, 2.7.10) against the table. Returns 0, -EINVAL (queue size, alignment) or
 * -EFAULT (outside the table). */
int vu_ring_translate(const struct vu_mem_table *t, const struct vu_ring_gpa *ring, uint64_t *desc,
		      uint64_t *avail, uint64_t *used);

#endif
