/* What saving, forking and moving a VM ask of its devices, whichever they are (issue 65): each
 * call walks the table's struct device_save hooks (device_table.h), so vmm/snapshot and
 * vmm/migration name no device. The MMDS store and the NICs' MACs, which only a snapshot
 * carries, are the NICs' (dev_net_save.c). */
#ifndef VMM_DEVICE_SAVE_H
#define VMM_DEVICE_SAVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/descriptors/device_table.h"

struct vm;

/* ---- the hooks (device_desc.save) ----
 * What vmm/snapshot and vmm/migration ask of a device without naming it: they call the generic
 * functions of vmm/descriptors/device_save.h, which walk the table (the devices' hooks:
 * vmm/descriptors/dev_save.h). Hooks a device has no use for are NULL. */
struct device_save {
	/* -- a snapshot, a fork, a migration: the state -- */
	/* State the device holds that `what` ("a Diff snapshot", "a migration") does not carry
	 * yet (plugged virtio-mem blocks): -EBUSY with the reason in err, else 0. */
	int (*uncarried)(struct vm *vm, const char *what, char *err, size_t errlen);
	/* The bytes of guest memory past the RAM that a memory file carries after it (the
	 * virtio-mem region), 0: none. */
	uint64_t (*mem_beyond)(const struct vm_config *cfg);
	/* Whether `dev` is this device's and its state is set back before any other device's
	 * goes live (virtio-mem: the others' rings and buffers may be in its plugged blocks). */
	bool (*restored_first)(const struct virtio_dev *dev);
	/* A version-1 snapshot's option string of the device (--OPTION ARG's ARG, as recorded
	 * then): the id= it names into id[0..len) ("" for none). 0, or -EINVAL: the option refuses
	 * ARG (the replay then says why). */
	int (*option_id)(const char *arg, char *id, size_t len);
	/* The VM is a new generation of one that may run too (vm_snapshot_new_generation()): what
	 * the device's guest side must learn (a vsock's connections reset). 0 or -errno. */
	int (*new_generation)(struct vm *vm);
	/* Instance i's id in the API: its id=, or the name the API gives one without (drive<i>,
	 * net<i>). */
	void (*api_id)(const struct vm_config *cfg, int i, char *id, size_t len);
	/* -- a live fork (vmm/snapshot/fork.c), the VM paused -- */
	/* Instance i leaves its file for `path` (a qcow2 overlay made over it): the requests in
	 * flight end on the old file first, and what the overlay reads of it is written out. 0, or
	 * -errno with the reason in why[0..len), the instance still on its file (its lock taken
	 * again). */
	int (*fork_move)(struct vm *vm, int i, const char *path, char *why, size_t len);
	/* Instance i, moved by fork_move(), goes back to its file `path`. 0 or -errno. */
	int (*fork_return)(struct vm *vm, int i, const char *path);
	/* -- a live migration's source (vmm/migration/vm_migrate.c) -- */
	/* Paused for the last round: what the destination opens by path is handed over (a disk's
	 * data flushed, its lock dropped), all taken back again on a failure. 0, or -errno with the
	 * reason in err. */
	int (*hand_over)(struct vm *vm, char *err, size_t errlen);
	/* Takes back what hand_over() handed over (the migration failed): every instance tried.
	 * 0, or the first -errno (logged). */
	int (*take_back)(struct vm *vm);
	/* The host fds of its instances that a destination on this host cannot open by name while
	 * this VMM holds them (a single-queue tap): fds[i] for instance i (-1: none), i < max; the
	 * instances filled. Of the table, one device at most has it (a TAPFD frame names an
	 * instance of it by its index). */
	int (*host_fds)(struct vm *vm, int *fds, int max);
	/* What another host could not open: -ENOTSUP with the reason in err (a tapfd= NIC), or 0.
	 */
	int (*remote_check)(const struct vm_config *cfg, char *err, size_t errlen);
	/* -- a live migration's destination (vmm/migration/vm_migrate_recv.c) -- */
	/* The instances of `cfg` open without their locks (built beside the running source). */
	void (*open_unlocked)(struct vm_config *cfg);
	/* Takes the locks once the source handed them over: 0, or the first -errno (logged). */
	int (*take_locks)(struct vm *vm);
	/* Drops them again (the migration failed after all). */
	void (*release_locks)(struct vm *vm);
	/* Instance i of `cfg` is built on fd `fd`, which the source handed over (host_fds()).
	 * 0, or -EINVAL with the reason in err: instance i cannot take it. */
	int (*use_fd)(struct vm_config *cfg, int i, int fd, char *err, size_t errlen);
	/* Whether instance i's device took the fd use_fd() gave it (closed with the device). */
	bool (*took_fd)(struct vm *vm, int i);
};

#define DEVICE_SAVE_ID_MAX 64 /* an instance's id= (the API's id limit), NUL included */

/* ---- a snapshot's state ---- */

/* The first device's state that `what` ("a Diff snapshot", "a migration") does not carry
 * (device_save.uncarried): -EBUSY with the reason in err; 0: none. */
int device_save_uncarried(struct vm *vm, const char *what, char *err, size_t errlen);
/* The bytes of guest memory past the RAM that `cfg`'s memory file carries (the devices'
 * mem_beyond). */
uint64_t device_save_mem_beyond(const struct vm_config *cfg);
/* Whether `dev`'s state is set back before any other device's goes live (a device's
 * restored_first()). */
bool device_save_restored_first(const struct virtio_dev *dev);
/* The id= a version-1 snapshot's --`option` `arg` names ("" for none) into id[0..len) (len
 * DEVICE_SAVE_ID_MAX is enough): 0;
 * -EINVAL: the option refuses `arg`; -ENOENT: the device that takes it has no such ids (a
 * vhost-user disk among the --disk options). */
int device_save_option_id(const char *option, const char *arg, char *id, size_t len);
/* Every device's new_generation(): the first -errno, else 0. */
int device_save_new_generation(struct vm *vm);

/* The MMDS state of `cfg` (cfg->mmds, which must be set) as a snapshot keeps it (a new
 * reference), or NULL when out of memory. */
json_t *device_save_mmds(const struct vm_config *cfg);
/* A saved MMDS state checked against cfg->mmds (which must be set), and the NICs of `cfg` its
 * configuration names (by id, or net<i>) made to answer MMDS. 0, or -EINVAL with the reason in
 * err. */
int device_save_mmds_check(struct vm_config *cfg, const json_t *state, char *err, size_t errlen);
/* The checked state into cfg->mmds. 0, or -errno with the reason in err. */
int device_save_mmds_load(const struct vm_config *cfg, const json_t *state, char *err,
			  size_t errlen);
/* The virtio-net NICs of `vm`, in the order the guest sees them, the i-th (i < n) given MAC
 * mac[i] where set[i] (its config space changed, the driver told). */
void device_save_set_macs(struct vm *vm, const bool *set, const uint8_t (*mac)[6], int n);

/* ---- the API's ids ---- */

/* The API ids (device_save.api_id) of the instances of the device whose API section is
 * `section` ("drives", "network-interfaces") into ids[0..max): their count, or -E2BIG (more
 * than max); 0 when no device has the section. */
int device_save_api_ids(const struct vm_config *cfg, const char *section, char (*ids)[64], int max);

/* ---- a live fork, the VM paused: instance i of the device whose API section is `section`
 * ("drives") ---- */

/* fork_move(): 0, or -errno with the reason in why[0..len) (-ENODEV: no such device). */
int device_save_fork_move(struct vm *vm, const char *section, int i, const char *path, char *why,
			  size_t len);
/* fork_return(): 0 or -errno. */
int device_save_fork_return(struct vm *vm, const char *section, int i, const char *path);

/* ---- a live migration's source ---- */

/* Every device's hand_over(), in table order; on a failure the devices before it take theirs
 * back. 0, or -errno with the reason in err. */
int device_save_hand_over(struct vm *vm, char *err, size_t errlen);
/* Every device's take_back(): 0, or the first -errno (logged). */
int device_save_take_back(struct vm *vm);
/* The host fds the destination on this host takes over (device_save.host_fds) into
 * fds[0..max), by instance: the instances filled (0: none). */
int device_save_host_fds(struct vm *vm, int *fds, int max);
/* The first device's remote_check() refusal (-ENOTSUP, the reason in err), else 0. */
int device_save_remote_check(const struct vm_config *cfg, char *err, size_t errlen);

/* ---- a live migration's destination ---- */

/* Every device's open_unlocked(). */
void device_save_open_unlocked(struct vm_config *cfg);
/* Every device's take_locks(), up to the first failure: its -errno (logged), else 0. */
int device_save_take_locks(struct vm *vm);
/* Every device's release_locks(). */
void device_save_release_locks(struct vm *vm);
/* Instance i of the device with host_fds() is built on the fd `fd` the source handed over:
 * 0, or -EINVAL with the reason in err. */
int device_save_use_fd(struct vm_config *cfg, int i, int fd, char *err, size_t errlen);
/* Whether instance i of that device took its fd (closed with it from now on). */
bool device_save_took_fd(struct vm *vm, int i);

#endif
