/* virtio-mem, the hotpluggable memory device (virtio 1.2 section 5.15): a region of guest
 * physical address space, cut into blocks of `block_size` bytes, that the driver plugs and
 * unplugs on request. The host asks for a size by setting `requested_size` (a config-change
 * interrupt tells the driver); the driver answers with PLUG, UNPLUG, UNPLUG_ALL and STATE requests
 * on the one queue, guest-request (queue 0).
 *
 * The device model keeps the plugged-blocks bitmap and answers every request as 5.15.6 says:
 *   ERROR  addr not aligned to block_size, nb_blocks 0, a block outside the usable region, a
 *          block already plugged (PLUG) or already unplugged (UNPLUG), an unknown request type,
 *          or a request shorter than struct virtio_mem_req;
 *   NACK   a PLUG that would take plugged_size past requested_size;
 *   BUSY   the VMM could not carry the change out (the backend's plug or unplug failed): the
 *          driver retries later, the state is as before (UNPLUG_ALL: the blocks unplugged so far
 *          stay unplugged and are counted);
 *   ACK    done (STATE: with PLUGGED, UNPLUGGED or MIXED).
 * A chain without room for the 10-byte response is returned unanswered (used len 0) and the
 * request is NOT carried out, so the driver can never miss a change it was not told of.
 *
 * What plugging means is the VMM's: the device calls its backend (struct virtio_mem_backend) to
 * make a run of blocks usable guest RAM (map it, add KVM memory slots) or to take it away
 * (madvise the pages back to the host; the guest never reads their old contents). The device
 * itself never touches the region's memory.
 *
 * The usable region (usable_region_size) grows to cover requested_size rounded up to `slot_size`
 * plus one slot of room (the driver picks blocks there), capped at region_size; it shrinks only at
 * an UNPLUG_ALL (5.15.4: without a config notification). VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE is
 * offered and required (5.15.5: a device MAY refuse a driver without it): the VMM makes
 * unplugged blocks inaccessible. A driver reset changes no block's state (5.15.5); the driver
 * then finds plugged_size > 0 and unplugs all or asks STATE.
 *
 * Locking: the API thread calls virtio_mem_set_requested() / virtio_mem_get_info(), which take
 * dev->lock; the config interrupt is raised on the device's I/O thread, woken through an eventfd
 * (as virtio-balloon does). The backend is called from the I/O thread with dev->lock held. */
#ifndef VIRTIO_MEM_H
#define VIRTIO_MEM_H

#include <linux/virtio_mem.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"

#define VIRTIO_MEM_QUEUE_SIZE	   128
#define VIRTIO_MEM_MIN_BLOCK	   (2ull << 20) /* 2 MiB: x86-64's huge page (Firecracker's too) */
#define VIRTIO_MEM_MIN_SLOT	   (128ull << 20) /* Firecracker's minimum KVM slot */
#define VIRTIO_MEM_MAX_REGION	   (1ull << 40)	  /* 1 TiB */
#define VIRTIO_MEM_DEFAULT_BLOCK   VIRTIO_MEM_MIN_BLOCK
#define VIRTIO_MEM_DEFAULT_SLOT	   VIRTIO_MEM_MIN_SLOT
#define VIRTIO_MEM_BLOCKS_PER_WORD 64u

/* The region as configured (--memory-hotplug, PUT /hotplug/memory); sizes in bytes. */
struct virtio_mem_opts {
	uint64_t total;	     /* region_size */
	uint64_t block_size; /* a power of two, >= VIRTIO_MEM_MIN_BLOCK */
	uint64_t slot_size; /* a multiple of block_size, >= VIRTIO_MEM_MIN_SLOT; total a multiple */
	uint64_t requested; /* requested_size at start (ours: the CLI's requested=), whole blocks */
};

/* Parses "total=SIZE[,block=SIZE][,slot=SIZE][,requested=SIZE]" (sizes take K/M/G suffixes; a bare
 * number is MiB) and checks it with virtio_mem_check_opts(). Returns 0 or -EINVAL with the reason
 * in `err`. */
int virtio_mem_opts_parse(const char *arg, struct virtio_mem_opts *o, char *err, size_t errlen);
/* The same from items (base/options.h), and `o` (as the checks left it: sizes in whole MiB) as
 * the items that make it again (a record: vmm/descriptors/device_record.h). from: as
 * virtio_mem_opts_parse(); to: 0 or -ENOMEM. */
struct opt_items;
int virtio_mem_opts_from_items(const struct opt_items *items, struct virtio_mem_opts *o, char *err,
			       size_t errlen);
int virtio_mem_opts_to_items(const struct virtio_mem_opts *o, struct opt_items *out);
/* Fills in the defaults (block 2 MiB, slot 128 MiB) for zero fields and checks Firecracker's
 * rules: block a power of two >= 2 MiB, slot >= 128 MiB and a multiple of the block, total >=
 * slot, a multiple of it and at most 1 TiB; requested whole blocks, at most the total. Returns 0
 * or -EINVAL with the reason in `err`. */
int virtio_mem_check_opts(struct virtio_mem_opts *o, char *err, size_t errlen);

/* What the device asks of the VMM. Each call covers whole blocks of one run, inside the region.
 * Returns 0, or -errno: the request is then answered BUSY and the blocks keep their state. */
struct virtio_mem_backend {
	int (*plug)(void *opaque, uint64_t gpa, uint64_t len);
	int (*unplug)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
};

/* Allocates the device (free() it after virtio_dev_destroy()) for a region at guest address
 * `addr` (block-aligned). Every block starts unplugged, requested_size 0. Returns 0, -EINVAL
 * (options not checked, unaligned addr; logged) or -ENOMEM / -errno. */
int virtio_mem_create(struct virtio_dev **out, const struct virtio_mem_opts *o, uint64_t addr,
		      const struct virtio_mem_backend *backend);

/* What the API reports (bytes). */
struct virtio_mem_info {
	uint64_t addr, region_size, block_size, slot_size;
	uint64_t usable_size, plugged_size, requested_size;
	uint64_t nacks, errors, busy; /* requests answered so, since creation */
};

/* Any thread; takes dev->lock. */
void virtio_mem_get_info(struct virtio_dev *dev, struct virtio_mem_info *info);
/* A new requested_size (bytes: a multiple of block_size, at most region_size); the usable region
 * grows to fit and a running driver is told by a config interrupt. Returns 0 or -EINVAL. Any
 * thread; takes dev->lock. */
int virtio_mem_set_requested(struct virtio_dev *dev, uint64_t bytes);
/* True when `dev` is a virtio-mem device. */
bool virtio_mem_is(const struct virtio_dev *dev);
/* Calls `fn` for each run of plugged blocks in address order (the VMM's snapshot writes their
 * memory). dev->lock NOT held by the caller; taken here. */
void virtio_mem_for_each_plugged(struct virtio_dev *dev,
				 void (*fn)(void *opaque, uint64_t gpa, uint64_t len),
				 void *opaque);

/* Test seam: what a wakeup of the device's eventfd runs (the config interrupt of a new
 * requested_size). dev->lock held. */
void virtio_mem_poll(struct virtio_dev *dev);

#endif
