/* --disk vhost-user=PATH[,...] and --net vhost-user=PATH[,...]: a disk or a NIC whose queues a
 * vhost-user back-end serves (virtio/vhost_user/vu_blk.h, vu_net.h; options: vu_opts.h). The
 * two descriptors share the --disk and --net options (device_desc.takes), keep their own
 * configuration blocks (device_cfg()), create the devices after the in-process disks and NICs,
 * and claim their sockets, their ids and shared guest RAM (device_table.h, "Claims"). */
#ifndef VMM_DEV_VHOST_USER_H
#define VMM_DEV_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "virtio/vhost_user/vu_opts.h"
#include "vmm/descriptors/device_table.h"

#define DEV_VU_MAX 8 /* vhost-user disks, and vhost-user NICs, per VM */

struct dev_vu_cfg {
	struct {
		struct vu_opts opts;
		enum virtio_transport transport;
	} dev[DEV_VU_MAX];
	int n;
};

/* How many vhost-user devices of kind `d` (&device_vu_blk or &device_vu_net) `cfg` has. */
int dev_vu_count(const struct vm_config *cfg, const struct device_desc *d);

/* Takes back the devices of kind `d` parsed after the first `n` (a failed InstanceStart puts
 * the configuration back as it was). With none left the block itself goes, as before the
 * first was parsed. */
void dev_vu_truncate(struct vm_config *cfg, const struct device_desc *d, int n);

extern const struct device_desc device_vu_blk, device_vu_net;

#endif
