/* virtio-balloon's state, shared by its files (balloon.c: queues and API; snapshot.c). */
#ifndef VIRTIO_BALLOON_INTERNAL_H
#define VIRTIO_BALLOON_INTERNAL_H

#include <endian.h>

#include "virtio/balloon/balloon.h"

/* PFNs looked at in one inflate or deflate chain (Linux sends 256); the rest are ignored, so a
 * huge hostile chain cannot hold the device lock for long. */
#define VIRTIO_BALLOON_MAX_CHAIN_PFNS 16384u

struct vballoon {
	struct virtio_dev dev;		     /* first: the allocation is freed through it */
	struct virtio_balloon_config config; /* little endian, what the driver reads */
	struct virtio_balloon_opts opts;     /* as configured (target_mib follows the API) */
	struct vq_chain chain;		     /* inflate, deflate, reporting (dev->lock) */
	struct vq_chain stats_chain;	     /* the driver's statistics buffer while held */
	bool stats_held;

	/* Pages released by inflating, one bit per 4 KiB page of RAM in region order
	 * (guest_mem_page_index()); `ballooned` counts the bits. */
	uint64_t *bitmap;
	uint64_t bitmap_words, ram_pages, ballooned;
	uint64_t run_gpa, run_len; /* contiguous inflated pages not yet released */
	uint64_t bad_pfns, refused_pfns, reported_bytes;

	/* Statistics: the last values per tag (5.5.6.3). */
	uint32_t stats_interval_s;
	bool stats_seen;
	uint64_t stats[VIRTIO_BALLOON_S_NR];
	bool stat_valid[VIRTIO_BALLOON_S_NR];

	/* Work for the I/O thread, asked for by the API (under dev->lock). */
	bool target_changed, interval_changed;
	int timer_fd, ctl_fd;
	bool fds_added;
	virtio_balloon_discard_fn discard; /* guest_mem_discard(), or a test's */
	bool keep_pages; /* virtio_balloon_keep_pages(): counted, never released (atomic) */
};

struct vballoon *to_balloon(struct virtio_dev *dev);

/* ops->save / ops->restore (snapshot.c). */
int balloon_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len);
int balloon_restore(struct virtio_dev *dev, const void *buf, size_t len);

#endif
