/* The hotplug-slot=N item of a device option. See dev_hotplug_slot.h. */
#include "vmm/descriptors/dev_hotplug_slot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "vmm/config/vm_config.h"

/* N of "hotplug-slot=N" (item of `n` bytes): 1..31, or -1. */
static int slot_value(const char *item, size_t n)
{
	size_t k = strlen(DEV_HOTPLUG_SLOT_KEY);
	int v = 0;
	if (n <= k || n > k + 2)
		return -1;
	for (size_t i = k; i < n; i++) {
		if (item[i] < '0' || item[i] > '9')
			return -1;
		v = v * 10 + (item[i] - '0');
	}
	return v >= 1 && v <= 31 ? v : -1;
}

int dev_hotplug_slot_split(const char *arg, char *rest, size_t len, int *slot, char *err,
			   size_t errlen)
{
	size_t out = 0, klen = strlen(DEV_HOTPLUG_SLOT_KEY);
	bool first = true; /* an empty item stays: the device's parser says what it lacks */
	*slot = 0;
	if (!len)
		return -ENAMETOOLONG;
	rest[0] = '\0';
	for (const char *p = arg; p;) {
		const char *end = opts_item_end(p); /* ",," stays in the item, as written */
		size_t n = (size_t)(end - p);
		if (n >= klen && !strncmp(p, DEV_HOTPLUG_SLOT_KEY, klen)) {
			int v = slot_value(p, n);
			if (v < 0 || *slot) {
				snprintf(err, errlen, "%.*s: %s", (int)n, p,
					 v < 0 ? "a PCI device number, 1..31, is expected"
					       : "given twice");
				return -EINVAL;
			}
			*slot = v;
		} else {
			if (out + (first ? 0 : 1) + n >= len) {
				snprintf(err, errlen, "the argument is too long");
				return -ENAMETOOLONG;
			}
			if (!first)
				rest[out++] = ',';
			first = false;
			memcpy(rest + out, p, n);
			out += n;
			rest[out] = '\0';
		}
		p = *end ? end + 1 : NULL;
	}
	return 0;
}

int dev_hotplug_slot_keep_split(const char *arg, int transport, char *rest, size_t len, int *slot,
				char *err, size_t errlen)
{
	int r = dev_hotplug_slot_split(arg, rest, len, slot, err, errlen);
	if (!r && *slot && transport != TRANSPORT_PCI) {
		snprintf(err, errlen, "%s%d: a PCI slot is for a device on --transport pci",
			 DEV_HOTPLUG_SLOT_KEY, *slot);
		*slot = 0;
		r = -EINVAL;
	}
	return r;
}

int dev_hotplug_slot_take(struct opt_items *l, int transport, bool keep, int *slot, char *err,
			  size_t errlen)
{
	char *v = NULL;
	*slot = 0;
	if (!opt_items_take(l, DEV_HOTPLUG_SLOT_ITEM, &v))
		return 0;
	char item[64];
	snprintf(item, sizeof(item), "%s%s", DEV_HOTPLUG_SLOT_KEY, v ? v : "");
	int n = v ? slot_value(item, strlen(item)) : -1;
	free(v);
	if (n < 0 || opt_items_find(l, DEV_HOTPLUG_SLOT_ITEM) >= 0) {
		snprintf(err, errlen, "%s: %s", item,
			 n < 0 ? "a PCI device number, 1..31, is expected" : "given twice");
		return -EINVAL;
	}
	if (keep && transport != TRANSPORT_PCI) {
		snprintf(err, errlen, "%s%d: a PCI slot is for a device on --transport pci",
			 DEV_HOTPLUG_SLOT_KEY, n);
		return -EINVAL;
	}
	*slot = n;
	return 0;
}

int dev_hotplug_slot_put(struct opt_items *l, int slot)
{
	return slot ? opt_items_addf(l, DEV_HOTPLUG_SLOT_ITEM, "%d", slot) : 0;
}
