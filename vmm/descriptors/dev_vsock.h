/* --vsock: its configuration block (vmm/descriptors/dev_vsock.c keeps it with device_cfg()). */
#ifndef VMM_DEV_VSOCK_H
#define VMM_DEV_VSOCK_H

#include <stdbool.h>

#include "virtio/vsock/vsock.h"
#include "vmm/descriptors/device_table.h"

struct dev_vsock_cfg {
	struct virtio_vsock_opts opts;
	enum virtio_transport transport;
	int hotplug_slot; /* 0, or the PCI hotplug slot of a hot-added vsock (hotplug-slot=N) */
};

extern const struct device_desc device_vsock;

/* The configured vsock's API id (its id=, "vsock0" without one), or NULL when there is none. */
const char *dev_vsock_id(const struct vm_config *cfg);
/* Whether the configured vsock sits in a hotplug slot (it was hot-added). */
bool dev_vsock_hot_added(const struct vm_config *cfg);
/* Takes the vsock out of the configuration (a hot-added one was removed). */
void dev_vsock_forget(struct vm_config *cfg);
/* The boot vsock (on PCI, at device number `slot`) recorded as a hotplug-slot= vsock from now on
 * (its id= set, vsock0 when it had none), as dev_disk_pin() does for a disk. 0, or -EINVAL (no
 * vsock). */
int dev_vsock_pin(struct vm_config *cfg, int slot);

#endif
