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

/* Takes the device `id` of kind `d` out of the configuration (a hot-added one was removed). */
bool dev_vu_forget(struct vm_config *cfg, const struct device_desc *d, const char *id);

struct vm;
struct opt_items;
struct virtio_dev;

/* Whether a vhost-user back-end can be added to this running VM: its vCPU threads' filters allow
 * a vhost-user device's calls (the VM started with --mem-shared or a vhost-user device) and
 * guest RAM is one memfd the back-end can map (no memory hotplug). 0, or -EINVAL with the
 * reason (naming `what`, the device) in err. Shared by every vhost-user hot-add (--fs too). */
int dev_vu_hot_check_ram(const struct vm *vm, const char *what, char *err, size_t errlen);

/* A vhost-user disk or NIC added while the VM runs (PUT /vmm/vm.add-disk or vm.add-net with
 * "vhost_user": true), on the hotplug thread: `record` is its --disk or --net vhost-user=
 * record's items, `blk` says which. Refused (-errno, the reason in err, nothing kept) as
 * dev_vu_hot_check_ram() says, when the socket is missing, not a socket or another device's,
 * or no back-end answers on it. *dev is the initialised device, connected to its back-end
 * (the handshake done here), not started. */
int dev_vu_hot_create(struct vm *vm, const struct opt_items *record, bool blk,
		      struct virtio_dev **dev, char *err, size_t errlen);

extern const struct device_desc device_vu_blk, device_vu_net;

#endif
