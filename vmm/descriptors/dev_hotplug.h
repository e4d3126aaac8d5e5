/* What the devices' PCI hotplug hooks (struct device_hotplug, device_table.h) share. */
#ifndef VMM_DEV_HOTPLUG_H
#define VMM_DEV_HOTPLUG_H

#include <stddef.h>

#include "vmm/descriptors/device_table.h"

/* Room for one more of `n` instances when at most `max` may be: 0, or -ENOSPC with "the VM has as
 * many PLURAL as it may have (MAX)" in err. */
int dev_hotplug_room(int n, int max, const char *plural, char *err, size_t errlen);

/* Instance `id` of a kind whose API names an instance without id= by its place (drive<N>,
 * net<N>): by its id= (find_id), else by that name (api_id), among n instances; -1: none. */
int dev_hotplug_find_named(const struct vm_config *cfg, const char *id, int n,
			   int (*find_id)(const struct vm_config *cfg, const char *id),
			   void (*api_id)(const struct vm_config *cfg, int i, char *id,
					  size_t len));

/* After a device model's create returned r: 0 with *dev initialised over the VM's guest memory,
 * or the error (the device freed again; err from the log when the step left it empty). */
int dev_hotplug_init(struct vm *vm, int r, struct virtio_dev **dev, char *err, size_t errlen);

/* The hooks of the devices that are hot-added and removed (dev_*_hotplug.c, dev_*.c). */
extern const struct device_hotplug dev_disk_hotplug, dev_net_hotplug, dev_vsock_hotplug,
    dev_pmem_hotplug, dev_fs_hotplug, dev_vu_blk_hotplug, dev_vu_net_hotplug, dev_vfio_hotplug,
    dev_rng_hotplug, dev_balloon_hotplug, dev_console_hotplug;

#endif
