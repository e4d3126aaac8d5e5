/* --console: the guest console's host side (COM1, and hvc0 with "virtio"), a device
 * descriptor like the others (vmm/descriptors/device_table.h), its configuration in its own block.
 */
#ifndef VMM_MACHINE_DEV_CONSOLE_H
#define VMM_MACHINE_DEV_CONSOLE_H

#include <stdbool.h>

#include "host/ui/console.h"
#include "virtio/core/rate_limiter.h"
#include "vmm/config/vm_config.h"

struct dev_console_cfg {
	enum console_mode mode;
	char *path;		   /* CONSOLE_MODE_FILE: the block's own copy (a file or a FIFO) */
	struct rl_bucket_cfg rate; /* ,bw=: a byte bucket over COM1's output; size 0: none */
	bool virtio;		   /* "virtio": hvc0 on the host console, COM1 for early boot */
	enum virtio_transport transport; /* hvc0's, the one in effect at --console virtio */
	int hotplug_slot; /* 0, or hvc0's PCI device number kept (hotplug-slot=N, hotplug.md) */
};

extern const struct device_desc device_console;
/* Its API side, PUT /serial (api_serial.c). */
extern const struct device_api dev_console_api;

/* What --console gave, or its default: COM1 on stdio, no hvc0. */
struct dev_console_cfg dev_console_config(const struct vm_config *cfg);

#endif
