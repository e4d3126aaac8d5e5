/* --vsock: its configuration block (vmm/descriptors/dev_vsock.c keeps it with device_cfg()). */
#ifndef VMM_DEV_VSOCK_H
#define VMM_DEV_VSOCK_H

#include <stdbool.h>

#include "virtio/vsock/vsock.h"
#include "vmm/descriptors/device_table.h"

struct dev_vsock_cfg {
	struct virtio_vsock_opts opts;
	enum virtio_transport transport;
};

extern const struct device_desc device_vsock;

#endif
