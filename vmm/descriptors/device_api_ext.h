/* The API's hooks of a device beyond struct device_api (device_api.ext), and the generic
 * functions vmm/api calls instead of naming a device (issue 65: no file in vmm/api includes a
 * device's header; a new device needs no edit there):
 *  - Cloud Hypervisor's add route on a running VM (PUT /vmm/vm.add-disk, ...): the route and
 *    its body turned into the device's record items (device_table_add_route());
 *  - Firecracker's hot-add (PUT /drives/{id} after InstanceStart): the record's checks;
 *  - what a PUT checks on the host besides the device's own check (a NIC's tap exists);
 *  - a drive's host file, opened as the device opens it (device_table_host_file_check()). */
#ifndef VMM_DESCRIPTORS_DEVICE_API_EXT_H
#define VMM_DESCRIPTORS_DEVICE_API_EXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/options.h"
#include "virtio/core/rate_limiter.h"
#include "vmm/descriptors/device_table.h"

struct mmds;
struct vm;
struct egress_rules;

#define DEVICE_HOT_ID_MAX 64 /* an added device's id, NUL included (the API's id limit) */

/* What a Cloud Hypervisor add body stands for. */
struct device_hot_body {
	/* in: the route's descriptor; out: the descriptor whose record the items are (a
	 * "vhost_user" disk's is vhost-user-blk's) */
	const struct device_desc *owner;
	struct opt_items *items;    /* out: the record's items without id= (empty on entry) */
	char id[DEVICE_HOT_ID_MAX]; /* out: the body's "id", "" when it has none */
	uint64_t size;		    /* out: a pmem body's "size" (the file must have it), or 0 */
};

/* What an instance given on the command line with --restore replaces in the snapshot's VM. */
struct device_restore_given {
	const char *path; /* a file the snapshot's instance opens instead of its own, or NULL */
	const char *id;	  /* that instance's id; NULL: the one in the same place */
	const char *tap;  /* a tap the snapshot's NIC in the same place takes instead, or NULL */
	char mac[18];	  /* and its MAC, "": the snapshot's */
};

#define DEVICE_BACKING_DIRS_MAX 1024 /* a drive's backing_dirs=, NUL included */

/* What a live fork's disk snapshots (PUT /vmm/fork's "disk_snapshots": vmm/api/control_fork.c)
 * ask of a drive, instance i of its descriptor. */
struct device_fork_disk {
	/* The running instance's file: its path (valid until its file changes), its size in bytes
	 * as the guest sees it, whether it is a qcow2 image and whether format=raw was asked. 0 or
	 * -ENODEV: no in-process disk. */
	int (*file)(struct vm *vm, int i, const char **path, uint64_t *bytes, bool *qcow2,
		    bool *raw);
	/* A new overlay image in `fd` over the file `backing` (`size` bytes, of `format`: "raw"
	 * or "qcow2"). 0 or -errno. */
	int (*make_overlay)(int fd, uint64_t size, const char *backing, const char *format);
	/* Its backing_files= into *on and backing_dirs= into dirs[DEVICE_BACKING_DIRS_MAX]. 0 or
	 * -ENODEV. */
	int (*backing)(const struct vm_config *cfg, int i, bool *on, char *dirs);
	/* Sets them: in its configuration (a snapshot says so), then on the running device. 0 or
	 * -errno. */
	int (*set_backing)(struct vm_config *cfg, struct vm *vm, int i, bool on, const char *dirs);
	/* Its file is `path` from now on, in its configuration (a snapshot opens it); a failure
	 * is logged (the VM goes on: a snapshot would bring back the old file). */
	void (*record_path)(struct vm_config *cfg, int i, const char *path);
};

struct device_api_ext {
	/* Cloud Hypervisor's PUT route that adds the device to a running VM
	 * ("/vmm/vm.add-disk"), or NULL: none. */
	const char *add_route;
	/* That route's body into *out (checked as the option would be, a bad value refused here):
	 * 0, or -EINVAL / -ENOMEM with the reason in err. */
	int (*add_body)(const json_t *body, struct device_hot_body *out, char *err, size_t errlen);
	/* Firecracker's hot-add (a PUT on the device's route after InstanceStart): the checks of
	 * the record `items` (without id=) the device's to_items made of the body with id `id`;
	 * `vhost_user`: the record is another descriptor's (a drive's "socket"). 0, or -EINVAL
	 * with the reason in err. NULL: Firecracker hot-adds no such device. */
	int (*fc_add_check)(const char *id, const struct opt_items *items, bool vhost_user,
			    char *err, size_t errlen);
	/* Whether a PUT checks what the document names on the host (Firecracker opens a tap, a
	 * vsock's socket folder, a pmem file at PUT) with the device's check(). NULL: never. */
	bool (*checked_at_put)(const json_t *doc);
	/* What such a check looks at besides check(), over a configuration holding the document
	 * alone (a NIC's tap exists): 0 or -errno with the reason in err. NULL: nothing. */
	int (*put_check)(const struct vm_config *cfg, char *err, size_t errlen);
	/* The host file device_api.host_file names, opened and checked as the device opens it
	 * (`ro`: read-only): 0 or -errno with one log line (log_last_error()). */
	int (*host_file_check)(const char *path, bool ro);
	/* A live change (device_api.live) names the device by its document's place among the
	 * section's documents in the API's model: the backend changes the instance that document
	 * stands for (device_api_instance()), or the hot-added device of its id. False: the
	 * change names its instance itself (pmem's id) or the device has one (the balloon). */
	bool live_by_doc;
	/* A PATCH body's "egress" (a NIC's policy: an array of --net egress= rules; absent: off)
	 * into *rules, which the descriptor holds until its next call on this thread (the API
	 * never sees the rules' type): 0 or -EINVAL with the reason in err. NULL: no such member.
	 */
	int (*patch_egress)(const json_t *list, const struct egress_rules **rules, char *err,
			    size_t errlen);
	/* The rules as the model document's "egress" (their canonical text), replacing any; off:
	 * none. */
	void (*egress_json)(json_t *doc, const struct egress_rules *rules);
	/* Instance i of `cfg` answers the VM's MMDS (PUT /mmds/config named it) at `ipv4`. NULL:
	 * the device never answers MMDS. */
	void (*mmds_attach)(struct vm_config *cfg, int i, struct mmds *mmds, uint32_t ipv4);
	/* Instance i of the command line given with --restore: what it replaces in the snapshot's
	 * VM, into *out (zeroed on entry). 0, or -EINVAL logged ("--restore: ..."). NULL: the
	 * device cannot be given with --restore (it would change the snapshot's VM). */
	int (*restore_given)(const struct vm_config *cfg, int i, struct device_restore_given *out);
	/* Loads what the device needs mapped before any thread confines itself (libslirp: the
	 * broker's filter allows no executable mapping later). NULL: nothing. */
	void (*preload)(void);
	/* A PUT on the device's own route while the VM runs adds one (Cloud Hypervisor's
	 * vm.add-device: a passed-through device), its body checked by device_api.check and made
	 * its record by to_items, answered as Cloud Hypervisor's adds are (200, PciDeviceInfo). */
	bool running_put_adds;
	/* What a live fork's disk snapshots ask of the device; NULL: it is no drive to snapshot. */
	const struct device_fork_disk *fork_disk;
	/* Its PATCH on its {id} route (the block below); NULL: the route takes no PATCH. */
	const struct device_patch_hooks *patch;
};

/* ---- A PATCH on a device's {id} route (Firecracker's PATCH /drives/{id},
 * /network-interfaces/{id}, /pmem/{id}; issue 65: "a live change edits one record and calls the
 * device's live hook"). The API's one handler (vmm/api/api_routes_patch.c) finds the
 * descriptor by the route, the model's document by the id (device_api.id_field), and asks the
 * descriptor's hooks what the body changes; it makes each change on the running device
 * (device_api.live's set, through the backend) and writes it into the document. ---- */

#define DEVICE_PATCH_STEPS_MAX 2

/* One change a PATCH makes on the running device. */
struct device_patch_step {
	struct device_live_set set; /* what device_live.set is given */
	const char *failed;	    /* a failed change's message ("cannot update the drive") */
	/* The answer (400) when the backend makes no live change, or NULL: the change fails
	 * (-ENODEV, `failed`) */
	const char *unavailable;
};

/* What a checked PATCH body asks for, made in order (n 0: nothing to change). */
struct device_patch {
	int n;
	struct device_patch_step step[DEVICE_PATCH_STEPS_MAX];
	/* What the steps' sets point at: the body's rate limiter patches ([0] a drive's, a
	 * pmem device's or a NIC's rx, [1] a NIC's tx) and the limits in force after them. */
	struct rate_limiter_patch rl[2];
	struct rate_limiter_cfg now[2];
};

struct device_patch_hooks {
	/* Checks a PATCH body on the route's {id} `id` against `doc`, the model's document with
	 * that id (borrowed; NULL: none), keeping in *p (zeroed on entry) what changes() needs.
	 * Returns 0, -ENOENT (no document: err says so) or -EINVAL, with the client's message in
	 * err. */
	int (*check)(const json_t *doc, const char *id, const json_t *body, struct device_patch *p,
		     char *err, size_t errlen);
	/* The changes of a checked body on a running VM into p->step (after the VM's state is
	 * checked): 0, or -EINVAL with the client's message in err (an egress rule that does not
	 * parse). */
	int (*changes)(const char *id, const json_t *body, struct device_patch *p, char *err,
		       size_t errlen);
	/* Writes into the model's document what step `s` changed on the running device. */
	void (*record)(json_t *doc, const struct device_live_set *s);
	/* An unknown id is answered after the VM's state (pmem's order); false: before it. */
	bool id_after_state;
	/* The body's top-level member whose null is a value, not "absent" (a NIC's "egress":
	 * null removes its policy), or NULL: none (vmm/api/api_nulls.h). */
	const char *kept_null;
	/* A hot-added instance's PATCH (its id not in the model): the body checked, its changes
	 * into p->step (each made through api_backend_ops.hotplug_live_set, which answers -ENOENT
	 * when no hot-added instance has the id). 0 or -EINVAL with the client's message in err.
	 * NULL: a hot-added instance takes no PATCH. */
	int (*hot_check)(const char *id, const json_t *body, struct device_patch *p, char *err,
			 size_t errlen);
};

/* The hooks of the drives', the NICs' and pmem's (dev_disk_patch.c, dev_net_patch.c,
 * dev_pmem_patch.c). */
extern const struct device_patch_hooks dev_disk_patch, dev_net_patch, dev_pmem_patch;

/* Every device's preload hook, in table order (before the sandbox confines a thread). */
void device_table_preload(void);

/* The drives' hooks for a live fork's disk snapshots (device_api_ext.fork_disk), or NULL. */
const struct device_fork_disk *device_table_fork_disk(void);

/* The device whose Cloud Hypervisor add route is `path`, or NULL. */
const struct device_desc *device_table_add_route(const char *path);

/* The descriptor whose hot-added instances the API lists in `own`'s section besides `own`'s
 * (device_hotplug.model: a vhost-user disk among the drives), or NULL. */
const struct device_desc *device_table_hotplug_alt(const struct device_desc *own);

/* The host file check of the device whose API names one (device_api.host_file: a drive's
 * file): 0 or -errno with one log line; 0 when no device has such a check. */
int device_table_host_file_check(const char *path, bool ro);

/* The instance of `d` that its API document `doc` stands for in `cfg` (by its id_field's id,
 * device_hotplug.find), or -1: a record of another descriptor (a vhost-user drive, served by
 * its back-end) or none; 0 for a device without ids. */
int device_api_instance(const struct device_desc *d, const struct vm_config *cfg,
			const json_t *doc);

#endif
