/* --disk: the descriptor, its configuration block and its run-time devices, its Firecracker API
 * bodies (dev_disk_api.c), and the check of one disk's file, which the API also runs when a
 * drive is configured. Disk i is the i-th --disk PATH (vhost-user disks are dev_vhost_user.h's),
 * the guest's /dev/vd('a' + i). */
#ifndef VMM_DEV_DISK_H
#define VMM_DEV_DISK_H

#include "virtio/blk/options.h"
#include "vmm/descriptors/device_table.h"

/* The configuration block (device_cfg()); each opts.path is the block's own heap copy. */
struct dev_disk_cfg {
	int n;
	struct {
		struct virtio_blk_opts opts;
		enum virtio_transport transport;
		int hotplug_slot; /* a hot-added disk's PCI slot (dev_hotplug_slot.h); 0: boot */
	} disk[VM_MAX_DISKS];
};

extern const struct device_desc device_disk;

/* How many disks `cfg` has. */
int dev_disk_count(const struct vm_config *cfg);
/* Disk i's options, or NULL when `cfg` has no disk i. */
const struct virtio_blk_opts *dev_disk_opts(const struct vm_config *cfg, int i);
/* The same, to change in place as the running disk changes (vmm/descriptors/dev_disk_live.c): a new
 * opts.path is a heap copy, the old one freed. */
struct virtio_blk_opts *dev_disk_opts_edit(struct vm_config *cfg, int i);
/* Takes disk i out of `cfg`, the later ones moving down (a hot-added disk removed: only those
 * come after the boot disks, whose indexes stay). */
void dev_disk_forget(struct vm_config *cfg, int i);
/* The disk named `id` (its id=), or -1: none ("" names none). */
int dev_disk_find_id(const struct vm_config *cfg, const char *id);

/* Disk i's id in the API: its id=, or drive<i> (Firecracker's name for a disk without one). */
void dev_disk_api_id(const struct vm_config *cfg, int i, char *id, size_t len);

struct vm;
struct virtio_dev;
/* Boot disk i of `cfg` (vm's configuration; on PCI, at device number `slot`) recorded as a
 * hotplug-slot= disk from now on: its id= set (drive<i> when it had none), its slot kept; its
 * device is then the hotplug slot's (vm_hotplug_boot_adopt()). What a removal of an earlier boot
 * device does to the later ones (docs/hotplug.md). 0, or -EINVAL (no disk i). */
int dev_disk_pin(struct vm_config *cfg, struct vm *vm, int i, int slot);
/* Disk i's virtio-blk device in `vm` (owned by its transport; a hot-added one's too), or NULL:
 * none created. */
struct virtio_dev *dev_disk_device(struct vm *vm, int i);
/* A live migration's destination built beside its source (vm_migrate_recv.c): every disk of
 * `cfg` opens without its flock (virtio_blk_opts.unlocked), and once the source has handed the
 * locks over, dev_disk_take_locks() takes them (virtio_blk_take_back()). Returns 0 or the first
 * disk's -errno (logged: another process holds it). */
void dev_disk_open_unlocked(struct vm_config *cfg);
int dev_disk_take_locks(struct vm *vm);
/* Drops the locks dev_disk_take_locks() took (the migration failed after all: the source takes
 * them back; a lock this process does not hold is no matter). */
void dev_disk_release_locks(struct vm *vm);
/* PUT /drives/{id} and the config file's "drives" (dev_disk_api.c). */
extern const struct device_api dev_disk_api;

/* Opens o->path in the mode virtio-blk will (read-write unless o->ro), checks it is a regular
 * file or a block device that mode may use, and takes and drops the lock virtio-blk takes
 * (shared when read-only, else exclusive), before any VM exists (Firecracker opens a drive's
 * file at PUT /drives). Returns 0 or -errno, with one log_error() line naming the path and the
 * problem (base/log.h: log_last_error() has it). Never waits: a FIFO is refused. A qcow2 image
 * that names a backing file is refused when o->backing_files is false (its header only). */
int dev_disk_check_file(const struct virtio_blk_opts *o);

/* Disk `disk` follows backing files (`on`) beneath `dirs` too ("" for none): its options (its
 * record), so that a snapshot of it says so (dev_disk_live.c; a live fork's overlays,
 * vmm/api/control_fork.c). 0, -ENOENT, -EINVAL (dirs not what backing_dirs= takes) or -ENOMEM. */
int dev_disk_live_record_backing(struct vm_config *cfg, int disk, bool on, const char *dirs);

#endif
