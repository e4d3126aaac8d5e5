/* The vsock's part in saving a VM (struct device_save): its id in a version-1 snapshot, and
 * its guest connections reset in a VM made from another's state. */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>

#include "virtio/core/device.h"
#include "virtio/vsock/vsock.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/vm/vm.h"

/* A version-1 snapshot's --vsock ARG (a hot-added vsock's with its hotplug-slot=N): its id=. */
static int option_id(const char *arg, char *id, size_t len)
{
	struct virtio_vsock_opts v;
	char rest[VIRTIO_VSOCK_UDS_MAX + VIRTIO_VSOCK_ID_MAX + 64], why[160];
	int slot;
	if (dev_hotplug_slot_split(arg, rest, sizeof(rest), &slot, why, sizeof(why)) ||
	    virtio_vsock_opts_parse(rest, &v, why, sizeof(why)))
		return -EINVAL;
	snprintf(id, len, "%s", v.id);
	return 0;
}

static int reset_vsock(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	if (dev->device_id == VIRTIO_ID_VSOCK)
		virtio_vsock_transport_reset(dev);
	return 0;
}

/* Each vsock device's guest connections reset (virtio_vsock_transport_reset(): for a restored
 * device its own state already owes the reset, and nothing more happens). */
static int new_generation(struct vm *vm)
{
	return vm_for_each_virtio_dev(vm, reset_vsock, NULL);
}

const struct device_save dev_vsock_save = {.option_id = option_id,
					   .new_generation = new_generation};
