/* --rng: its configuration block (vmm/descriptors/dev_rng.c keeps it with device_cfg()). */
#ifndef VMM_DEV_RNG_H
#define VMM_DEV_RNG_H

#include "virtio/rng/rng.h"
#include "vmm/descriptors/device_table.h"

struct dev_rng_cfg {
	struct virtio_rng_opts opts;
	enum virtio_transport transport;
	int hotplug_slot; /* 0, or its PCI device number kept (hotplug-slot=N, docs/hotplug.md) */
};

extern const struct device_desc device_rng;

#endif
