/* The "hotplug-slot=N" item of a --disk or --net argument: how the VM's configuration records a
 * device added while it ran (PUT /vmm/vm.add-disk, /vmm/vm.add-net; docs/hotplug.md). Such a
 * device is not built with the boot devices, which keep their PCI device numbers: it is put in
 * PCI hotplug slot N once the slots are known (vmm/vm/hotplug.h), so a snapshot's restore
 * builds it where the guest saw it, and it can be removed as a hot-added device. */
#ifndef VMM_DEV_HOTPLUG_SLOT_H
#define VMM_DEV_HOTPLUG_SLOT_H

#include <stdbool.h>
#include <stddef.h>

#define DEV_HOTPLUG_SLOT_KEY "hotplug-slot="

/* Copies the option string `arg` (base/options.h: its items as written, a ",," kept) into
 * rest[0..len) without its hotplug-slot=N item (N a PCI device number, 1..31) and puts N in
 * *slot (0 when there is none). Returns 0, or -EINVAL (a bad or repeated N) / -ENAMETOOLONG with
 * the reason in err. */
int dev_hotplug_slot_split(const char *arg, char *rest, size_t len, int *slot, char *err,
			   size_t errlen);

/* dev_hotplug_slot_split() for a device that is never removed but keeps its PCI device number
 * (an rng, a balloon: docs/hotplug.md) on `transport` (an enum virtio_transport): a slot on
 * another transport than PCI is refused (-EINVAL, the reason in err). */
int dev_hotplug_slot_keep_split(const char *arg, int transport, char *rest, size_t len, int *slot,
				char *err, size_t errlen);

/* ---- the same on items (base/options.h): a device's record ---- */

#define DEV_HOTPLUG_SLOT_ITEM "hotplug-slot"

struct opt_items;
/* Removes the hotplug-slot item from `l` and puts its N in *slot (0: none). With `keep` (a
 * device that keeps its slot: dev_hotplug_slot_keep_split()), a slot off PCI (`transport`) is
 * refused. Returns 0 or -EINVAL with the reason in err (a bad N, the item given twice). */
int dev_hotplug_slot_take(struct opt_items *l, int transport, bool keep, int *slot, char *err,
			  size_t errlen);
/* Adds hotplug-slot=N to `l` when `slot` is not 0. 0 or -ENOMEM. */
int dev_hotplug_slot_put(struct opt_items *l, int slot);

#endif
