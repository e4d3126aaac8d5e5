/* A passed-through device's PCI hotplug (struct device_hotplug, docs/vfio.md): one added to a
 * running VM started with --vfio-hotplug (PUT /vmm/vm.add-device), which plugs itself into a
 * free slot, and one removed. A VM with one is never saved, so its record keeps no slot. */
#include <errno.h>
#include <string.h>

#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_vfio.h"
#include "vmm/vm/hotplug.h"

static int create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		  struct virtio_dev **dev, char *err, size_t errlen)
{
	*dev = NULL; /* a PCI function of its own, plugged here */
	return dev_vfio_hot_add(vm, rec, x->id, x->slot, err, errlen);
}

static int room(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	return dev_hotplug_room(c ? c->n : 0, VM_VFIO_MAX_DEVICES, "passed-through devices", err,
				errlen);
}

static int find(const struct vm_config *cfg, const char *id)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	for (int i = 0; c && id[0] && i < c->n; i++)
		if (!strcmp(c->id[i], id))
			return i;
	return -1;
}

static enum virtio_transport transport(const struct vm_config *cfg, int i)
{
	(void)cfg, (void)i;
	return TRANSPORT_PCI;
}

/* Its entries in the VM's slot table. */
static const struct vm_hotplug_kind vfio_kind = {.name = "vfio"};

const struct device_hotplug dev_vfio_hotplug = {.kind = &vfio_kind,
						.stem = "vfio",
						.what = "a passed-through device",
						.slotless = true,
						.room = room,
						.create = create,
						.find = find,
						.transport = transport,
						.forget = dev_vfio_forget};
