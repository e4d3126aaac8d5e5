/* virtio-mem's state, shared by its files (mem.c: device and queue; request.c: the four
 * requests; blocks.c: the bitmap; control.c: the API side; snapshot.c). */
#ifndef VIRTIO_MEM_INTERNAL_H
#define VIRTIO_MEM_INTERNAL_H

#include <endian.h>

#include "virtio/mem/mem.h"

struct vmem {
	struct virtio_dev dev;		 /* first: the allocation is freed through it */
	struct virtio_mem_config config; /* little endian, what the driver reads */
	struct virtio_mem_opts opts;
	struct virtio_mem_backend backend;
	struct vq_chain chain; /* the request being served (dev->lock) */

	/* One bit per block of the region, in address order; `plugged` counts the bits. */
	uint64_t *bitmap;
	uint64_t nblocks, words, plugged;
	uint64_t nacks, errors, busy;

	bool requested_changed; /* a config interrupt is owed (API thread -> I/O thread) */
	int ctl_fd;
	bool fd_added;
};

struct vmem *to_vmem(struct virtio_dev *dev);

/* Bytes of the usable region that fit `requested` (see mem.h): rounded up to a slot, plus one
 * slot, capped at the region. */
uint64_t vmem_usable_for(const struct vmem *m, uint64_t requested);
/* Sets the config's plugged_size from the count of plugged blocks. */
void vmem_sync_plugged(struct vmem *m);

/* Plugged blocks among [first, first + n). */
uint64_t vmem_count_plugged(const struct vmem *m, uint64_t first, uint64_t n);
void vmem_mark(struct vmem *m, uint64_t first, uint64_t n, bool plugged);
/* The next run of plugged blocks at or after *from: its first block and length (0: none left). */
uint64_t vmem_next_run(const struct vmem *m, uint64_t *from);

/* ---- request.c: one chain of guest-request (5.15.6) ---- */
int vmem_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes);

/* ---- snapshot.c ---- */
int vmem_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len);
int vmem_restore(struct virtio_dev *dev, const void *buf, size_t len);
size_t vmem_save_size(struct virtio_dev *dev);

#endif
