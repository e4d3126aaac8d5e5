/* The devices' hooks for saving, forking and moving a VM (struct device_save, device_table.h):
 * dev_disk_save.c, dev_net_save.c, dev_vsock_save.c, dev_memhp_save.c. */
#ifndef VMM_DEV_SAVE_H
#define VMM_DEV_SAVE_H

#include "vmm/descriptors/device_table.h"

extern const struct device_save dev_disk_save, dev_net_save, dev_vsock_save, dev_memhp_save;

#endif
