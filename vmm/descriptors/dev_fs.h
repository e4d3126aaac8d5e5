/* --fs: a host directory shared with the guest over virtio-fs, served by a vhost-user back-end
 * (virtiofsd). Its configuration block (vmm/descriptors/dev_fs.c keeps it with device_cfg()). */
#ifndef VMM_DEV_FS_H
#define VMM_DEV_FS_H

#include "virtio/fs/fs.h"
#include "vmm/descriptors/device_table.h"

#define DEV_FS_MAX 8

struct dev_fs_cfg {
	struct {
		struct virtio_fs_opts opts;
		enum virtio_transport transport;
	} fs[DEV_FS_MAX];
	int n;
};

extern const struct device_desc device_fs;

#endif
