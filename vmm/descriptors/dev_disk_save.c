/* The disks' part in saving, forking and moving a VM (struct device_save): a fork moves a disk
 * to its overlay, a migration hands the disks' files and locks over to its destination. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "virtio/blk/blk.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_save.h"

/* A version-1 snapshot's --disk ARG: its id=. */
static int option_id(const char *arg, char *id, size_t len)
{
	struct virtio_blk_opts opts = {0};
	char why[160];
	if (virtio_blk_opts_parse(arg, &opts, why, sizeof(why)))
		return -EINVAL;
	snprintf(id, len, "%s", opts.id);
	virtio_blk_opts_free(&opts);
	return 0;
}

/* A qcow2 image's metadata written out before the overlay reads it as its backing file (the
 * image keeps new allocations in memory until a FLUSH, qcow2.h); a raw file has none. */
static int flush_qcow2(struct virtio_dev *dev)
{
	const char *path;
	uint64_t bytes;
	bool qcow2, raw;
	int r = virtio_blk_file(dev, &path, &bytes, &qcow2, &raw);
	if (r || !qcow2)
		return r;
	return virtio_blk_hand_over(dev); /* flushed, synced, unlocked: it is closed next */
}

/* Paused: disk i moved to its overlay (virtio_blk_replace_disk(): the requests in flight end on
 * the old file first). */
static int fork_move(struct vm *vm, int i, const char *path, char *why, size_t len)
{
	struct virtio_dev *dev = dev_disk_device(vm, i);
	log_clear_last_error();
	int r = dev ? flush_qcow2(dev) : -ENODEV;
	if (!r)
		r = virtio_blk_replace_disk(dev, path);
	if (!r)
		return 0;
	snprintf(why, len, "%s", log_last_error()[0] ? log_last_error() : strerror(-r));
	if (dev && virtio_blk_take_back(dev)) /* still on its file: its lock again */
		log_error("fork: disk %d could not be locked again", i);
	return r;
}

static int fork_return(struct vm *vm, int i, const char *path)
{
	return virtio_blk_replace_disk(dev_disk_device(vm, i), path);
}

/* Disks 0..n take their locks back. Returns 0 or the first failure (logged). */
static int take_back_disks(struct vm *vm, int n)
{
	int ret = 0;
	for (int i = 0; i < n; i++) {
		struct virtio_dev *disk = dev_disk_device(vm, i);
		int r = disk ? virtio_blk_take_back(disk) : 0;
		ret = ret ? ret : r;
	}
	return ret;
}

static int take_back(struct vm *vm)
{
	return take_back_disks(vm, VM_MAX_DISKS);
}

/* The destination opens the disks by path once the state has arrived (vm_migrate_recv.c), and
 * takes their flocks as any VMM does: this paused VMM flushes and unlocks them meanwhile. */
static int hand_over(struct vm *vm, char *err, size_t errlen)
{
	for (int i = 0; i < VM_MAX_DISKS; i++) {
		struct virtio_dev *disk = dev_disk_device(vm, i);
		if (!disk)
			continue;
		int r = virtio_blk_hand_over(disk);
		if (r) {
			take_back_disks(vm, i);
			snprintf(err, errlen, "cannot hand disk %d over to the destination: %s", i,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

const struct device_save dev_disk_save = {.option_id = option_id,
					  .api_id = dev_disk_api_id,
					  .fork_move = fork_move,
					  .fork_return = fork_return,
					  .hand_over = hand_over,
					  .take_back = take_back,
					  .open_unlocked = dev_disk_open_unlocked,
					  .take_locks = dev_disk_take_locks,
					  .release_locks = dev_disk_release_locks};
