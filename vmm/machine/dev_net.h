/* --net: virtio-net NICs (dev_net.c), and their Firecracker API bodies (dev_net_api.c). */
#ifndef VMM_DEV_NET_H
#define VMM_DEV_NET_H

#include "vmm/machine/device_table.h"

extern const struct device_desc device_net;
/* PUT /network-interfaces/{id} and the config file's "network-interfaces" (dev_net_api.c). */
extern const struct device_api dev_net_api;

#endif
