/* --balloon: its configuration block (vmm/descriptors/dev_balloon.c keeps it with device_cfg()). */
#ifndef VMM_DEV_BALLOON_H
#define VMM_DEV_BALLOON_H

#include "virtio/balloon/balloon.h"
#include "vmm/descriptors/device_table.h"

struct dev_balloon_cfg {
	struct virtio_balloon_opts opts;
	enum virtio_transport transport;
	int hotplug_slot; /* 0, or its PCI device number kept (hotplug-slot=N, docs/hotplug.md) */
};

extern const struct device_desc device_balloon;

/* The --balloon argument that stands for `o` (the API's PATCH records the new target with it).
 * Returns 0 or -ENAMETOOLONG. */
int dev_balloon_option(const struct virtio_balloon_opts *o, char *arg, size_t len);

struct vm;
/* The VM's balloon device, or NULL when it has none (the API's backend). */
struct virtio_dev *dev_balloon_find(struct vm *vm);

#endif
