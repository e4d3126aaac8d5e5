/* --memory-hotplug: a virtio-mem device (virtio/mem/mem.h) over a region of hotpluggable memory
 * (vmm/vm/memhp.h), placed by base/layout.h above the RAM. */
#ifndef VMM_DEV_MEMHP_H
#define VMM_DEV_MEMHP_H

#include "virtio/mem/mem.h"
#include "vmm/descriptors/device_table.h"

/* KVM memory slots: RAM uses 0 and 1, the pmem windows DEV_PMEM_FIRST_SLOT.., the hotplug region
 * one per slot-sized piece from here. */
#define DEV_MEMHP_FIRST_SLOT 16u

struct dev_memhp_cfg {
	struct virtio_mem_opts opts;
	enum virtio_transport transport;
};

extern const struct device_desc device_memhp;

struct vm;
/* The VM's virtio-mem device, or NULL (the API's backend). */
struct memhp;
struct virtio_dev *dev_memhp_find(struct vm *vm);
/* The VM's hotplug region (a passed-through device keeps its DMA maps in step with it,
 * memhp_dma_attach()), or NULL. */
struct memhp *dev_memhp_region(struct vm *vm);

#endif
