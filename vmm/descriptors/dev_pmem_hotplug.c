/* A pmem device's PCI hotplug (struct device_hotplug, docs/hotplug.md): one added to a running VM
 * (PUT /vmm/vm.add-pmem, Firecracker's PUT /pmem/{id} after InstanceStart), its window opened
 * at the lowest free guest address, and one removed (its window closed once the guest released
 * it), or kept in its slot, with its window, when an earlier device goes. */
#include <errno.h>
#include <stdio.h>

#include "base/log.h"
#include "virtio/pmem/pmem.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/vm/hotplug.h"

static const struct dev_pmem_cfg *pmems(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_pmem);
}

static int create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		  struct virtio_dev **dev, char *err, size_t errlen)
{
	int r = dev_pmem_hot_create(vm, rec, x->size, dev, &x->gpa, err, errlen);
	if (r && !err[0])
		snprintf(err, errlen, "%s", log_last_error());
	return r;
}

static int room(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct dev_pmem_cfg *p = pmems(cfg);
	return dev_hotplug_room(p ? p->n : 0, DEV_PMEM_MAX, "pmem devices", err, errlen);
}

static bool is_root(const struct vm_config *cfg, int i)
{
	return pmems(cfg)->dev[i].opts.root;
}

static enum virtio_transport transport(const struct vm_config *cfg, int i)
{
	return pmems(cfg)->dev[i].transport;
}

/* Its window's address goes into its record too: a restore could not find it again. */
static int pin(struct vm_config *cfg, struct vm *vm, int i, int slot)
{
	(void)vm;
	return dev_pmem_pin(cfg, i, slot, dev_pmem_gpa(pmems(cfg)->dev[i].id));
}

/* Its entries in the VM's slot table. */
static const struct vm_hotplug_kind pmem_kind = {.name = "pmem"};

const struct device_hotplug dev_pmem_hotplug = {.kind = &pmem_kind,
						.stem = "pmem",
						.what = "a pmem device",
						.window_item = DEV_PMEM_GPA_ITEM,
						.room = room,
						.create = create,
						.released = dev_pmem_hot_release,
						.find = dev_pmem_find,
						.is_root = is_root,
						.transport = transport,
						.pin = pin,
						.forget = dev_pmem_forget,
						.sandbox = &pmem_sandbox};
