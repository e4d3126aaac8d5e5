/* The VMM's side of virtio-mem (virtio/mem/mem.h): the host memory behind the hotplug region and
 * what plugging and unplugging a run of blocks does to it. It is the device's backend.
 *
 *   The region is one anonymous private mapping (MAP_NORESERVE: it costs nothing until the guest
 *   touches a plugged block), reserved at creation.
 *   Plug: the KVM memory slot of every slot-sized piece the run touches is added when its first
 *   block is plugged, then guest_mem is told the blocks are plugged (device DMA into them works).
 *   Unplug: guest_mem is told first (device DMA into them fails the bounds check from then on),
 *   the pages go back to the host (madvise MADV_DONTNEED: the guest can never read their old
 *   contents again, they read as zeros), and the KVM slot of a piece whose last block went is
 *   deleted, so the guest cannot touch those addresses at all. A guest that touches an unplugged
 *   block inside a piece that still has plugged blocks (VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE
 *   forbids it) reads zeros and costs the host that page until the block is unplugged again;
 *   a slot as small as the block (slot=block) rules even that out.
 *
 * KVM is reached through struct memhp_slots, so the logic is tested without KVM. Everything runs
 * on the virtio-mem device's I/O thread under its lock (or before the VM runs). */
#ifndef VMM_MEMHP_H
#define VMM_MEMHP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"

/* Sets KVM memory slot `slot` to [gpa, gpa + size) backed by `host`; size 0 deletes it. Returns 0
 * or -errno. */
struct memhp_slots {
	int (*set)(void *opaque, uint32_t slot, uint64_t gpa, uint64_t size, void *host);
	void *opaque;
};

/* Who maps guest memory for a device's DMA (a passed-through device's IOMMU, vmm/vm/vm_vfio.h):
 * told of each plugged block before the guest may use it, and of each unplugged block after the
 * guest released it, before its pages go back to the host. One block per call, so every unmap
 * matches a map whatever runs the guest plugs and unplugs. 0 or -errno. */
struct memhp_dma {
	int (*map)(void *opaque, uint64_t gpa, uint64_t len, void *host);
	int (*unmap)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
};

struct memhp {
	struct guest_mem *mem;
	uint8_t *host;
	uint64_t base, size, block, slot_size;
	uint32_t first_slot, nslots;
	uint32_t *plugged_in_slot; /* plugged blocks of each slot-sized piece */
	struct memhp_slots kvm;
	/* DMA (memhp_dma_attach()): `dma_lock` orders a plug or unplug against an attach from
	 * another thread (a device hot-added while the guest plugs memory) */
	pthread_mutex_t dma_lock;
	struct memhp_dma dma;
	bool dma_on;
	uint64_t *dma_mapped; /* one bit per block: mapped through `dma` */
};

/* The hotplug region's geometry (virtio-mem's options say it: vmm/descriptors/dev_memhp.c). */
struct memhp_region {
	uint64_t total;	     /* bytes of the region */
	uint64_t block_size; /* what the guest plugs and unplugs at once */
	uint64_t
	    slot_size; /* bytes of each KVM memory slot; divides total, a multiple of a block */
};

/* Maps the region `o` describes at guest address `base`, tells `mem` of it (every block
 * unplugged) and numbers its KVM slots from `first_slot`. Returns 0 or -errno (-EINVAL: a
 * geometry the sizes above refuse). */
int memhp_init(struct memhp *h, struct guest_mem *mem, uint64_t base, const struct memhp_region *o,
	       uint32_t first_slot, const struct memhp_slots *kvm);
/* The device's backend (struct virtio_mem_backend, opaque = the struct memhp). */
int memhp_plug(void *opaque, uint64_t gpa, uint64_t len);
int memhp_unplug(void *opaque, uint64_t gpa, uint64_t len);
/* From now on every plugged block is mapped through `dma` (the blocks plugged already, now):
 * 0, or -errno with nothing left mapped. One listener at a time (-EBUSY). */
int memhp_dma_attach(struct memhp *h, const struct memhp_dma *dma);
/* Unmaps every block mapped through the listener and forgets it. Fine when none. */
void memhp_dma_detach(struct memhp *h);
/* Unmaps the region (the KVM slots go with the VM). */
void memhp_free(struct memhp *h);

#endif
