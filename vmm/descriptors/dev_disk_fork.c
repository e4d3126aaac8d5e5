/* What a live fork's disk snapshots ask of a drive (struct device_fork_disk, device_api_ext.h):
 * its running file, a qcow2 overlay over it, its backing files rule, its new file recorded. */
#include <errno.h>
#include <stdio.h>

#include "virtio/blk/blk.h"
#include "virtio/blk/qcow2.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_live.h"

_Static_assert(DEVICE_BACKING_DIRS_MAX == VIRTIO_BLK_BACKING_DIRS_MAX, "one backing_dirs= limit");

static int file(struct vm *vm, int i, const char **path, uint64_t *bytes, bool *qcow2, bool *raw)
{
	struct virtio_dev *dev = dev_disk_device(vm, i);
	return dev ? virtio_blk_file(dev, path, bytes, qcow2, raw) : -ENODEV;
}

static int backing(const struct vm_config *cfg, int i, bool *on, char *dirs)
{
	const struct virtio_blk_opts *o = dev_disk_opts(cfg, i);
	if (!o)
		return -ENODEV;
	*on = o->backing_files;
	snprintf(dirs, DEVICE_BACKING_DIRS_MAX, "%s", o->backing_dirs);
	return 0;
}

static int set_backing(struct vm_config *cfg, struct vm *vm, int i, bool on, const char *dirs)
{
	int r = dev_disk_live_record_backing(cfg, i, on, dirs);
	return r ? r : virtio_blk_set_backing(dev_disk_device(vm, i), on, dirs);
}

static void record_path(struct vm_config *cfg, int i, const char *path)
{
	live_record_warn(dev_disk_live_record_path(cfg, i, path), "the drive's file");
}

const struct device_fork_disk dev_disk_fork = {
    .file = file,
    .make_overlay = qcow2_create_overlay,
    .backing = backing,
    .set_backing = set_backing,
    .record_path = record_path,
};
