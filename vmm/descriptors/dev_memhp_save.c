/* virtio-mem's part in saving a VM (struct device_save): its region's bytes, which a Full
 * snapshot's memory file carries after the RAM and nothing else carries yet, and its state,
 * restored before the other devices'. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/dev_memhp.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_save.h"

/* What cannot carry plugged virtio-mem blocks yet (`what`: a Diff snapshot, whose dirty tracking
 * does not cover the hotplug region; a migration, whose pre-copy sends RAM only) is refused while
 * blocks are plugged: they would come back as zeros under a guest that uses them. A Full
 * snapshot carries them (vmm/snapshot/format/snap_mem.h). */
static int uncarried(struct vm *vm, const char *what, char *err, size_t errlen)
{
	struct virtio_dev *dev = dev_memhp_find(vm);
	struct virtio_mem_info info;

	if (!dev)
		return 0;
	virtio_mem_get_info(dev, &info);
	if (!info.plugged_size)
		return 0;
	snprintf(err, errlen,
		 "%llu MiB of hotplugged memory are plugged, and %s does not carry their contents "
		 "yet: unplug them first (PATCH /hotplug/memory requested_size_mib 0)%s",
		 (unsigned long long)(info.plugged_size >> 20), what,
		 strcmp(what, "a migration") ? " or take a Full snapshot" : "");
	return -EBUSY;
}

/* The region, which a memory file carries after the RAM. */
static uint64_t mem_beyond(const struct vm_config *cfg)
{
	const struct dev_memhp_cfg *hp = device_cfg_find(cfg, &device_memhp);
	return hp ? hp->opts.total : 0;
}

const struct device_save dev_memhp_save = {
    .uncarried = uncarried, .mem_beyond = mem_beyond, .restored_first = virtio_mem_is};
