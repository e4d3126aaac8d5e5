/* --device vfio=PATH: a host PCI device passed through to the guest (docs/vfio.md); its
 * configuration block (vmm/descriptors/dev_vfio.c keeps it with device_cfg()). */
#ifndef VMM_DEV_VFIO_H
#define VMM_DEV_VFIO_H

#include "host/vfio/vfio.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/vm_vfio.h"

#define DEV_VFIO_PATH_MAX (sizeof(VFIO_SYSFS_PCI_DEV) + VFIO_BDF_LEN)

struct dev_vfio_cfg {
	int n;
	char path[VM_VFIO_MAX_DEVICES][DEV_VFIO_PATH_MAX]; /* /sys/bus/pci/devices/DDDD:BB:DD.F */
};

extern const struct device_desc device_vfio;

/* Parses one --device argument ("vfio=/sys/bus/pci/devices/DDDD:BB:DD.F") into `c`. Returns 0,
 * or -EINVAL / -ENOSPC with the message in err. (For the tests and the fuzzer.) */
int dev_vfio_parse(struct dev_vfio_cfg *c, const char *arg, char *err, size_t errlen);

#endif
