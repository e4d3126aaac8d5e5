/* A shared folder's PCI hotplug (struct device_hotplug, docs/hotplug.md): one added to a running
 * VM (PUT /vmm/vm.add-fs), its vhost-user back-end connected on the hotplug thread, and one
 * removed, or kept in its slot when an earlier device goes. */
#include <errno.h>

#include "virtio/vhost_user/vu_device.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/vm/hotplug.h"

static int create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		  struct virtio_dev **dev, char *err, size_t errlen)
{
	(void)x;
	return dev_fs_hot_create(vm, rec, dev, err, errlen);
}

static int room(const struct vm_config *cfg, char *err, size_t errlen)
{
	return dev_hotplug_room(dev_fs_count(cfg), DEV_FS_MAX, "shared folders", err, errlen);
}

static enum virtio_transport transport(const struct vm_config *cfg, int i)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	return c->fs[i].transport;
}

static int pin(struct vm_config *cfg, struct vm *vm, int i, int slot)
{
	(void)vm;
	return dev_fs_pin(cfg, i, slot);
}

/* Its entries in the VM's slot table. */
static const struct vm_hotplug_kind fs_kind = {.name = "fs"};

const struct device_hotplug dev_fs_hotplug = {.kind = &fs_kind,
					      .stem = "fs",
					      .what = "a shared folder",
					      .room = room,
					      .create = create,
					      .find = dev_fs_find,
					      .transport = transport,
					      .pin = pin,
					      .forget = dev_fs_forget,
					      .sandbox = &vu_sandbox};
