/* PATCH /drives/{id} on a running disk (struct device_live): a new file behind it, new rate
 * limits; each written into its configuration block, which its record is (dev_live.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "virtio/blk/blk.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_live.h"

int dev_disk_live_record_path(struct vm_config *cfg, int disk, const char *path)
{
	struct virtio_blk_opts *o = dev_disk_opts_edit(cfg, disk);
	char *copy = o ? strdup(path) : NULL;

	if (!o)
		return -ENOENT;
	if (!copy)
		return -ENOMEM;
	free(o->path);
	o->path = copy;
	return 0;
}

int dev_disk_live_record_limits(struct vm_config *cfg, int disk, const struct rate_limiter_cfg *rl)
{
	struct virtio_blk_opts *o = dev_disk_opts_edit(cfg, disk);

	if (!o)
		return -ENOENT;
	o->rl = *rl;
	return 0;
}

int dev_disk_live_record_backing(struct vm_config *cfg, int disk, bool on, const char *dirs)
{
	struct virtio_blk_opts *o = dev_disk_opts_edit(cfg, disk);
	char why[160];

	return o ? virtio_blk_opts_set_backing(o, on, dirs, why, sizeof(why)) : -ENOENT;
}

/* The drive's file is now `path`, opened in the drive's mode within what Landlock allows. */
static int set_path(struct virtio_dev *dev, struct vm_config *cfg, int disk, const char *path,
		    char *err, size_t errlen)
{
	unsigned need =
	    dev_disk_opts(cfg, disk)->ro ? LANDLOCK_READ : LANDLOCK_READ | LANDLOCK_WRITE;
	if (!sandbox_landlock_allows(path, need)) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may open (Landlock: its drives' directories "
			 "and --landlock-rules; -v -v lists them)",
			 path);
		return -EACCES;
	}
	log_clear_last_error();
	int r = virtio_blk_replace_disk(dev, path);
	if (r)
		snprintf(err, errlen, "cannot use %s: %s", path,
			 log_last_error()[0] ? log_last_error() : strerror(-r));
	else
		live_record_warn(dev_disk_live_record_path(cfg, disk, path), "the drive's file");
	return r;
}

static int disk_live_set(struct vm *vm, struct vm_config *cfg, int disk, struct device_live_set *s,
			 char *err, size_t errlen)
{
	struct virtio_dev *dev = dev_disk_device(vm, disk);

	if (!dev) {
		snprintf(err, errlen, "the drive has no device");
		return -ENODEV;
	}
	if (!strcmp(s->member, "path_on_host"))
		return set_path(dev, cfg, disk, s->str, err, errlen);
	int r = virtio_blk_patch_rate_limiter(dev, s->rl[0], s->rl_now[0]);
	if (!r)
		live_record_warn(dev_disk_live_record_limits(cfg, disk, s->rl_now[0]),
				 "the drive's rate limits");
	return r;
}

const struct device_live dev_disk_live = {
    .set = disk_live_set,
    .recorded = true,
    .opens_file = "path_on_host",
};
