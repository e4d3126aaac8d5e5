/* --disk: the descriptor, its Firecracker API bodies (dev_disk_api.c), and the check of one
 * disk's file, which the API also runs when a drive is configured. */
#ifndef VMM_DEV_DISK_H
#define VMM_DEV_DISK_H

#include "virtio/blk/options.h"
#include "vmm/machine/device_table.h"

extern const struct device_desc device_disk;
/* PUT /drives/{id} and the config file's "drives" (dev_disk_api.c). */
extern const struct device_api dev_disk_api;

/* Opens o->path in the mode virtio-blk will (read-write unless o->ro), checks it is a regular
 * file or a block device that mode may use, and takes and drops the lock virtio-blk takes
 * (shared when read-only, else exclusive), before any VM exists (Firecracker opens a drive's
 * file at PUT /drives). Returns 0 or -errno, with one log_error() line naming the path and the
 * problem (vmm/base/log.h: log_last_error() has it). Never waits: a FIFO is refused. */
int dev_disk_check_file(const struct virtio_blk_opts *o);

#endif
