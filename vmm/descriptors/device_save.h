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
