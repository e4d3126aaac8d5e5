/* A NIC's PCI hotplug (struct device_hotplug, docs/hotplug.md): a tap NIC added to a running VM
 * (PUT /vmm/vm.add-net, Firecracker's PUT /network-interfaces/{id} after InstanceStart) and a NIC
 * removed, a boot NIC kept in its slot when an earlier device goes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/net/net.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/vm/hotplug.h"

/* The NIC of record `rec`, its tap opened. */
static int create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		  struct virtio_dev **dev, char *err, size_t errlen)
{
	struct virtio_net_opts o;
	(void)x;
	int r = virtio_net_opts_from_items(rec, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	return dev_hotplug_init(vm, virtio_net_create(dev, &o), dev, err, errlen);
}

static int room(const struct vm_config *cfg, char *err, size_t errlen)
{
	return dev_hotplug_room(dev_net_count(cfg), VM_MAX_NICS, "NICs", err, errlen);
}

/* By its id=, else by the API's name of a NIC without one (net<N>). */
static int find(const struct vm_config *cfg, const char *id)
{
	return dev_hotplug_find_named(cfg, id, dev_net_count(cfg), dev_net_find_id, dev_net_api_id);
}

static enum virtio_transport transport(const struct vm_config *cfg, int i)
{
	const struct dev_net_cfg *c = device_cfg_find(cfg, &device_net);
	return c->nic[i].transport;
}

/* A restore opens the tap again by its name: a tapfd= or user-mode NIC has none. */
static const char *cannot_pin(const struct vm_config *cfg, int i)
{
	return dev_net_opts(cfg, i)->kind != VIRTIO_NET_TAP
		   ? "a NIC kept at its slot needs a tap= (not a tapfd= or user networking)"
		   : NULL;
}

/* A later boot NIC on virtio-mmio without a slot of its own: net<N> counts the NICs. */
static bool renamed_after(const struct vm_config *cfg, int i, char *id, size_t len)
{
	const struct dev_net_cfg *c = device_cfg_find(cfg, &device_net);
	for (int j = i + 1; c && j < c->n; j++) {
		if (!c->nic[j].hotplug_slot && c->nic[j].transport == TRANSPORT_MMIO) {
			dev_net_api_id(cfg, j, id, len);
			return true;
		}
	}
	return false;
}

/* Its entries in the VM's slot table. */
static const struct vm_hotplug_kind net_kind = {.name = "net"};

const struct device_hotplug dev_net_hotplug = {.kind = &net_kind,
					       .stem = "net",
					       .what = "a NIC",
					       .model = &dev_net_api,
					       .room = room,
					       .create = create,
					       .find = find,
					       .transport = transport,
					       .cannot_pin = cannot_pin,
					       .renamed_after = renamed_after,
					       .pin = dev_net_pin,
					       .forget = dev_net_forget,
					       .sandbox = &tap_sandbox};
