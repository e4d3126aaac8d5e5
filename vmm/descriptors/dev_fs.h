/* --fs: a host directory shared with the guest over virtio-fs, served by a vhost-user back-end
 * (virtiofsd). Its configuration block (vmm/descriptors/dev_fs.c keeps it with device_cfg()). */
#ifndef VMM_DEV_FS_H
#define VMM_DEV_FS_H

#include "virtio/fs/fs.h"
#include "vmm/descriptors/device_table.h"

#define DEV_FS_MAX    8
#define DEV_FS_ID_MAX 64

struct vm;
struct opt_items;

struct dev_fs_cfg {
	struct {
		struct virtio_fs_opts opts;
		enum virtio_transport transport;
		char id[DEV_FS_ID_MAX]; /* id=NAME ("" : the tag names it in the API) */
		int hotplug_slot;	/* hotplug-slot=N (dev_hotplug_slot.h), or 0 */
	} fs[DEV_FS_MAX];
	int n;
};

extern const struct device_desc device_fs;

/* The share whose id is `id` (its id=, else its tag) in `cfg`, or -1; and the one with tag
 * `tag`, or -1. */
int dev_fs_find(const struct vm_config *cfg, const char *id);
int dev_fs_find_tag(const struct vm_config *cfg, const char *tag);
/* How many shares `cfg` has. */
int dev_fs_count(const struct vm_config *cfg);
/* Takes share `id` out of the configuration (a hot-added one was removed). */
void dev_fs_forget(struct vm_config *cfg, const char *id);
/* Share i, a boot share (on PCI, at device number `slot`), recorded as a hotplug-slot= share from
 * now on (its id= set: its tag when it had none), as dev_disk_pin() does for a disk. 0, or
 * -EINVAL (no share i). */
int dev_fs_pin(struct vm_config *cfg, int i, int slot);

/* A share added while the VM runs (PUT /vmm/vm.add-fs), on the hotplug thread: `record` is its
 * --fs record's items (its id= item ignored). Refused (-errno, the reason in err, nothing kept)
 * when guest RAM is not one shared memfd the back-end can map, the VM has memory hotplug, the tag
 * is taken, the socket is missing or not a socket, or no vhost-user back-end answers on it. *dev is
 * the initialised device, connected to its back-end, not started. */
int dev_fs_hot_create(struct vm *vm, const struct opt_items *record, struct virtio_dev **dev,
		      char *err, size_t errlen);

#endif
