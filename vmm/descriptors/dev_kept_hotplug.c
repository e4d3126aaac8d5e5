/* The boot devices PCI hotplug never removes but keeps in their slots when an earlier device goes
 * (struct device_hotplug.kept_slot, docs/hotplug.md): the rng, the balloon and the console's
 * hvc0, one of each at most. */
#include <stddef.h>

#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_rng.h"
#include "vmm/vm/hotplug.h"

static int *rng_slot(struct vm_config *cfg)
{
	if (!device_cfg_find(cfg, &device_rng))
		return NULL;
	return &((struct dev_rng_cfg *)device_cfg(cfg, &device_rng))->hotplug_slot;
}

static int *balloon_slot(struct vm_config *cfg)
{
	if (!device_cfg_find(cfg, &device_balloon))
		return NULL;
	return &((struct dev_balloon_cfg *)device_cfg(cfg, &device_balloon))->hotplug_slot;
}

static int *console_slot(struct vm_config *cfg)
{
	if (!device_cfg_find(cfg, &device_console))
		return NULL;
	return &((struct dev_console_cfg *)device_cfg(cfg, &device_console))->hotplug_slot;
}

/* Their entries in the VM's slot table, named by the kind (one instance each). */
static const struct vm_hotplug_kind rng_kind = {.name = "rng", .kept = true};
static const struct vm_hotplug_kind balloon_kind = {.name = "balloon", .kept = true};
static const struct vm_hotplug_kind console_kind = {.name = "console", .kept = true};

const struct device_hotplug dev_rng_hotplug = {.kind = &rng_kind, .kept_slot = rng_slot};
const struct device_hotplug dev_balloon_hotplug = {.kind = &balloon_kind,
						   .kept_slot = balloon_slot};
const struct device_hotplug dev_console_hotplug = {.kind = &console_kind,
						   .kept_slot = console_slot};
