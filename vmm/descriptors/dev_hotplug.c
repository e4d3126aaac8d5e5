/* What the devices' PCI hotplug hooks share. See dev_hotplug.h. */
#include "vmm/descriptors/dev_hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "virtio/core/device.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"

int dev_hotplug_room(int n, int max, const char *plural, char *err, size_t errlen)
{
	if (n < max)
		return 0;
	snprintf(err, errlen, "the VM has as many %s as it may have (%d)", plural, max);
	return -ENOSPC;
}

int dev_hotplug_find_named(const struct vm_config *cfg, const char *id, int n,
			   int (*find_id)(const struct vm_config *cfg, const char *id),
			   void (*api_id)(const struct vm_config *cfg, int i, char *id, size_t len))
{
	char name[64];
	int i = find_id(cfg, id);
	for (int j = 0; i < 0 && j < n; j++) {
		api_id(cfg, j, name, sizeof(name));
		if (!strcmp(name, id))
			i = j;
	}
	return i;
}

int dev_hotplug_init(struct vm *vm, int r, struct virtio_dev **dev, char *err, size_t errlen)
{
	if (!r) {
		r = virtio_dev_init(*dev, &vm->mem);
		if (r) {
			virtio_dev_destroy(*dev);
			free(*dev);
		}
	}
	if (r && !err[0])
		snprintf(err, errlen, "%s", log_last_error());
	return r;
}

/* Each kind's seccomp list (device_hotplug.sandbox), each list once, in table order. */
static int hotplug_sandboxes(const struct sandbox_list **out, int max)
{
	int n = 0;
	for (int i = 0; device_table[i]; i++) {
		const struct device_hotplug *h = device_table[i]->hotplug;
		bool seen = !h || !h->sandbox;
		for (int k = 0; !seen && k < n; k++)
			seen = out[k] == h->sandbox;
		if (!seen && n < max)
			out[n++] = h->sandbox;
	}
	return n;
}

const struct vm_hotplug_devices device_table_hotplug_devices = {.sandboxes = hotplug_sandboxes};
