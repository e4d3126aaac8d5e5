/* --device vfio=PATH: a host PCI device passed through to the guest (docs/vfio.md); its
 * configuration block (vmm/descriptors/dev_vfio.c keeps it with device_cfg()). */
#ifndef VMM_DEV_VFIO_H
#define VMM_DEV_VFIO_H

#include "host/vfio/vfio.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/vm_vfio.h"

#define DEV_VFIO_PATH_MAX (sizeof(VFIO_SYSFS_PCI_DEV) + VFIO_BDF_LEN)

#define DEV_VFIO_ID_MAX 64

struct dev_vfio_cfg {
	int n;
	char path[VM_VFIO_MAX_DEVICES][DEV_VFIO_PATH_MAX]; /* /sys/bus/pci/devices/DDDD:BB:DD.F */
	char id[VM_VFIO_MAX_DEVICES][DEV_VFIO_ID_MAX];	   /* id=, or "" */
};

extern const struct device_desc device_vfio;

/* Parses one --device argument ("vfio=/sys/bus/pci/devices/DDDD:BB:DD.F[,id=ID]") into `c`.
 * Returns 0, or -EINVAL / -ENOSPC with the message in err. (For the tests and the fuzzer.) */
int dev_vfio_parse(struct dev_vfio_cfg *c, const char *arg, char *err, size_t errlen);

struct vm;
struct opt_items;
/* PUT /vmm/vm.add-device on a running VM, on the hotplug thread (vmm/vm/hotplug.h): the device
 * of `record` (a --device vfio= record's items) opened and plugged into a free hotplug slot as
 * `id`, the guest told. *slot gets its device number. 0, or -errno with the reason in err (nothing
 * is left of it). */
int dev_vfio_hot_add(struct vm *vm, const struct opt_items *record, const char *id, int *slot,
		     char *err, size_t errlen);
/* Whether the configuration has a passed-through device of id `id`. */
bool dev_vfio_has_id(const struct vm_config *cfg, const char *id);
/* Forgets the device of id `id` in the configuration (a hot-added one, removed). */
void dev_vfio_forget(struct vm_config *cfg, const char *id);

#endif
