/* The vsock device's PCI hotplug (struct device_hotplug, docs/hotplug.md): one added to a running
 * VM that has none (PUT /vmm/vm.add-vsock) and removed, or kept in its slot when an earlier
 * device goes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/sandbox/landlock.h"
#include "virtio/vsock/vsock.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/vm/hotplug.h"

/* The vsock device of record `rec`: its socket bound here, on the hotplug thread, under the VM's
 * Landlock set. */
static int create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		  struct virtio_dev **dev, char *err, size_t errlen)
{
	struct virtio_vsock_opts o;
	(void)x;
	int r = virtio_vsock_opts_from_items(rec, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	r = virtio_vsock_check_opts(&o, err, errlen);
	if (r)
		return r;
	if (!sandbox_landlock_allows(o.uds, LANDLOCK_CHANGE)) {
		snprintf(err, errlen,
			 "socket %s is outside what this VMM may create (Landlock: start it with "
			 "--landlock-rules DIR:rw for the socket's directory)",
			 o.uds);
		return -EACCES;
	}
	return dev_hotplug_init(vm, virtio_vsock_create(dev, &o), dev, err, errlen);
}

static int room(const struct vm_config *cfg, char *err, size_t errlen)
{
	const char *has = dev_vsock_id(cfg);
	if (!has)
		return 0;
	snprintf(err, errlen, "the VM has a vsock device already (%s): a VM has at most one", has);
	return -ENOSPC;
}

static int find(const struct vm_config *cfg, const char *id)
{
	const char *own = dev_vsock_id(cfg);
	return own && !strcmp(own, id) ? 0 : -1;
}

static enum virtio_transport transport(const struct vm_config *cfg, int i)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	(void)i;
	return c->transport;
}

static int pin(struct vm_config *cfg, struct vm *vm, int i, int slot)
{
	(void)vm, (void)i;
	return dev_vsock_pin(cfg, slot);
}

static void forget(struct vm_config *cfg, const char *id)
{
	if (!find(cfg, id))
		dev_vsock_forget(cfg);
}

/* Its entries in the VM's slot table. */
static const struct vm_hotplug_kind vsock_kind = {.name = "vsock"};

const struct device_hotplug dev_vsock_hotplug = {.kind = &vsock_kind,
						 .stem = "vsock",
						 .what = "the vsock device",
						 .model = NULL, /* its descriptor's own */
						 .room = room,
						 .create = create,
						 .find = find,
						 .transport = transport,
						 .pin = pin,
						 .forget = forget,
						 .sandbox = &vsock_sandbox};
