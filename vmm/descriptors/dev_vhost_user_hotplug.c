/* A vhost-user disk's or NIC's PCI hotplug (struct device_hotplug, docs/hotplug.md): one added to
 * a running VM (PUT /vmm/vm.add-disk or vm.add-net with "vhost_user": true, Firecracker's PUT
 * /drives/{id} with a "socket"), connected to its back-end on the hotplug thread, and removed. A
 * VM with one is never saved (its back-end holds its state), so its record keeps no slot. */
#include <errno.h>
#include <string.h>

#include "virtio/vhost_user/vu_device.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/vm/hotplug.h"

static int find(const struct device_desc *d, const struct vm_config *cfg, const char *id)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	for (int i = 0; c && id[0] && i < c->n; i++)
		if (!strcmp(c->dev[i].opts.id, id))
			return i;
	return -1;
}

static enum virtio_transport transport(const struct device_desc *d, const struct vm_config *cfg,
				       int i)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	return c->dev[i].transport;
}

static int blk_create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		      struct virtio_dev **dev, char *err, size_t errlen)
{
	(void)x;
	return dev_vu_hot_create(vm, rec, true, dev, err, errlen);
}

static int blk_room(const struct vm_config *cfg, char *err, size_t errlen)
{
	return dev_hotplug_room(dev_vu_count(cfg, &device_vu_blk), DEV_VU_MAX, "vhost-user disks",
				err, errlen);
}

static int blk_find(const struct vm_config *cfg, const char *id)
{
	return find(&device_vu_blk, cfg, id);
}

static enum virtio_transport blk_transport(const struct vm_config *cfg, int i)
{
	return transport(&device_vu_blk, cfg, i);
}

static void blk_forget(struct vm_config *cfg, const char *id)
{
	dev_vu_forget(cfg, &device_vu_blk, id);
}

static int net_create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		      struct virtio_dev **dev, char *err, size_t errlen)
{
	(void)x;
	return dev_vu_hot_create(vm, rec, false, dev, err, errlen);
}

static int net_room(const struct vm_config *cfg, char *err, size_t errlen)
{
	return dev_hotplug_room(dev_vu_count(cfg, &device_vu_net), DEV_VU_MAX, "vhost-user NICs",
				err, errlen);
}

static int net_find(const struct vm_config *cfg, const char *id)
{
	return find(&device_vu_net, cfg, id);
}

static enum virtio_transport net_transport(const struct vm_config *cfg, int i)
{
	return transport(&device_vu_net, cfg, i);
}

static void net_forget(struct vm_config *cfg, const char *id)
{
	dev_vu_forget(cfg, &device_vu_net, id);
}

/* Their entries in the VM's slot table: kinds of their own, not the virtio disk's and NIC's
 * (each descriptor finds its own instances). */
static const struct vm_hotplug_kind vu_blk_kind = {.name = "vhost-user-blk"};
static const struct vm_hotplug_kind vu_net_kind = {.name = "vhost-user-net"};

const struct device_hotplug dev_vu_blk_hotplug = {.kind = &vu_blk_kind,
						  .stem = "disk",
						  .what = "a vhost-user disk",
						  .model = &dev_disk_api,
						  .slotless = true,
						  .room = blk_room,
						  .create = blk_create,
						  .find = blk_find,
						  .transport = blk_transport,
						  .forget = blk_forget,
						  .sandbox = &vu_sandbox};

const struct device_hotplug dev_vu_net_hotplug = {.kind = &vu_net_kind,
						  .stem = "net",
						  .what = "a vhost-user NIC",
						  .model = &dev_net_api,
						  .slotless = true,
						  .room = net_room,
						  .create = net_create,
						  .find = net_find,
						  .transport = net_transport,
						  .forget = net_forget,
						  .sandbox = &vu_sandbox};
