/* A disk's PCI hotplug (struct device_hotplug, docs/hotplug.md): a --disk added to a running VM
 * (PUT /vmm/vm.add-disk, Firecracker's PUT /drives/{id} after InstanceStart) and a disk removed,
 * a boot disk kept in its slot when an earlier device goes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "virtio/blk/blk.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"

/* The disk of record `rec`, its file opened within what Landlock allows and locked. */
static int create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		  struct virtio_dev **dev, char *err, size_t errlen)
{
	struct virtio_blk_opts o;
	(void)x;
	int r = virtio_blk_opts_from_items(rec, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	unsigned access = LANDLOCK_READ | (o.ro ? 0 : LANDLOCK_WRITE);
	if (!sandbox_landlock_allows(o.path, access)) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may open (Landlock: start it with "
			 "--landlock-rules DIR:%s for the disk's directory)",
			 o.path, o.ro ? "ro" : "rw");
		virtio_blk_opts_free(&o);
		return -EACCES;
	}
	r = virtio_blk_create(dev, &o, &vm->mem);
	if (r)
		snprintf(err, errlen, "%s",
			 r == -EWOULDBLOCK ? "the disk's file is in use (locked): by this VM "
					     "or another VMM"
					   : log_last_error());
	virtio_blk_opts_free(&o);
	return r == -EWOULDBLOCK ? -EBUSY : r;
}

static int room(const struct vm_config *cfg, char *err, size_t errlen)
{
	return dev_hotplug_room(dev_disk_count(cfg), VM_MAX_DISKS, "disks", err, errlen);
}

/* By its id=, else by the API's name of a disk without one (drive<N>). */
static int find(const struct vm_config *cfg, const char *id)
{
	return dev_hotplug_find_named(cfg, id, dev_disk_count(cfg), dev_disk_find_id,
				      dev_disk_api_id);
}

static bool is_root(const struct vm_config *cfg, int i)
{
	return dev_disk_opts(cfg, i)->root;
}

static enum virtio_transport transport(const struct vm_config *cfg, int i)
{
	const struct dev_disk_cfg *c = device_cfg_find(cfg, &device_disk);
	return c->disk[i].transport;
}

/* A later boot disk on virtio-mmio without a slot of its own: drive<N> counts the disks. */
static bool renamed_after(const struct vm_config *cfg, int i, char *id, size_t len)
{
	const struct dev_disk_cfg *c = device_cfg_find(cfg, &device_disk);
	for (int j = i + 1; c && j < c->n; j++) {
		if (!c->disk[j].hotplug_slot && c->disk[j].transport == TRANSPORT_MMIO) {
			dev_disk_api_id(cfg, j, id, len);
			return true;
		}
	}
	return false;
}

static void forget(struct vm_config *cfg, const char *id)
{
	dev_disk_forget(cfg, find(cfg, id));
}

/* Its entries in the VM's slot table. */
static const struct vm_hotplug_kind disk_kind = {.name = "disk"};

const struct device_hotplug dev_disk_hotplug = {.kind = &disk_kind,
						.stem = "disk",
						.what = "a disk",
						.model = &dev_disk_api,
						.room = room,
						.create = create,
						.find = find,
						.is_root = is_root,
						.transport = transport,
						.renamed_after = renamed_after,
						.pin = dev_disk_pin,
						.forget = forget,
						.sandbox = &blk_sandbox};
