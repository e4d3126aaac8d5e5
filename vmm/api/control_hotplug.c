/* The router's hotplug backend (api_router.h's hotplug_add, hotplug_remove): the body's record
 * items read by the device's own parser, the device built (its disk file or tap opened) and
 * plugged by vmm/vm/hotplug.h's own thread, then added to the VM's configuration as that record
 * with its id and hotplug-slot=N (vmm/descriptors/dev_hotplug_slot.h: what a snapshot saves and
 * its restore builds again) and to the API's model (GET /vm/config); a remove takes it out of
 * both. And the refusal of a snapshot or a migration while the guest has a hotplug event to
 * answer. See control_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "virtio/blk/blk.h"
#include "virtio/net/net.h"
#include "virtio/vsock/vsock.h"
#include "vmm/api/control_internal.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_rng.h"
#include "vmm/descriptors/dev_vfio.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/vm/hotplug.h"

/* What a boot device's id is, and whether it is the root disk. */
static const char *boot_device(const struct control *c, const char *id, bool *root)
{
	char name[32];
	int i = dev_disk_find_id(c->cfg, id);
	*root = i >= 0 && dev_disk_opts(c->cfg, i)->root;
	if (i >= 0)
		return "a disk";
	for (i = 0; i < dev_disk_count(c->cfg); i++) {
		snprintf(name, sizeof(name), "drive%d", i); /* a disk without id= */
		if (!dev_disk_opts(c->cfg, i)->id[0] && !strcmp(name, id)) {
			*root = dev_disk_opts(c->cfg, i)->root;
			return "a disk";
		}
	}
	for (i = 0; i < dev_net_count(c->cfg); i++) {
		snprintf(name, sizeof(name), "net%d", i);
		const char *own = dev_net_opts(c->cfg, i)->id;
		if (!strcmp(own, id) || (!own[0] && !strcmp(name, id)))
			return "a NIC";
	}
	const char *vsock = dev_vsock_id(c->cfg);
	if (vsock && !strcmp(vsock, id))
		return "the vsock device";
	if ((i = dev_pmem_find(c->cfg, id)) >= 0) {
		*root = ((const struct dev_pmem_cfg *)device_cfg_find(c->cfg, &device_pmem))
			    ->dev[i]
			    .opts.root;
		return "a pmem device";
	}
	if (dev_fs_find(c->cfg, id) >= 0)
		return "a shared folder";
	if (dev_vfio_has_id(c->cfg, id))
		return "a passed-through device";
	struct device_claim other;
	if (device_table_id_claimed(c->cfg, "drive", id, &other) ||
	    device_table_id_claimed(c->cfg, "iface", id, &other))
		return other.what;
	return NULL;
}

static bool id_taken(const struct control *c, const char *id)
{
	bool root;
	return boot_device(c, id, &root) || vm_hotplug_has_id(&c->vm, id);
}

/* The --option a kind's record is, and Cloud Hypervisor's name stem for it. */
static const char *option_name(enum api_hotplug_kind kind)
{
	static const char *const names[] = {
	    [API_HOTPLUG_DISK] = "disk", [API_HOTPLUG_NET] = "net", [API_HOTPLUG_VSOCK] = "vsock",
	    [API_HOTPLUG_PMEM] = "pmem", [API_HOTPLUG_FS] = "fs",   [API_HOTPLUG_VFIO] = "vfio"};
	return names[kind];
}

/* Cloud Hypervisor's names for a device added without an id: _disk<N>, _net<N>, _vsock<N>,
 * _pmem<N>, _fs<N>, _vfio<N>. */
static void choose_id(const struct control *c, enum api_hotplug_kind kind, char *id, size_t len)
{
	for (unsigned n = 0;; n++) {
		snprintf(id, len, "_%s%u", option_name(kind), n);
		if (!id_taken(c, id))
			return;
	}
}

static int make_disk(struct control *c, const struct opt_items *rec, struct virtio_dev **dev,
		     char *err, size_t errlen)
{
	struct virtio_blk_opts o;
	int r = virtio_blk_opts_from_items(rec, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	unsigned access = LANDLOCK_READ | (o.ro ? 0 : LANDLOCK_WRITE);
	if (!sandbox_landlock_allows(o.path, access)) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may open (Landlock: start it with "
			 "--landlock-rules DIR:%s for the disk's directory)",
			 o.path, o.ro ? "ro" : "rw");
		virtio_blk_opts_free(&o);
		return -EACCES;
	}
	r = virtio_blk_create(dev, &o, &c->vm.mem);
	if (r)
		snprintf(err, errlen, "%s",
			 r == -EWOULDBLOCK ? "the disk's file is in use (locked): by this VM "
					     "or another VMM"
					   : log_last_error());
	virtio_blk_opts_free(&o);
	return r == -EWOULDBLOCK ? -EBUSY : r;
}

/* After a device's create returned r: 0 and *dev initialised over guest memory, or the error
 * (the device freed again, err filled from the log when the step left it empty). */
static int init_created(struct control *c, int r, struct virtio_dev **dev, char *err, size_t errlen)
{
	if (!r) {
		r = virtio_dev_init(*dev, &c->vm.mem);
		if (r) {
			virtio_dev_destroy(*dev);
			free(*dev);
		}
	}
	if (r && !err[0])
		snprintf(err, errlen, "%s", log_last_error());
	return r;
}

static int make_nic(struct control *c, const struct opt_items *rec, struct virtio_dev **dev,
		    char *err, size_t errlen)
{
	struct virtio_net_opts o;
	int r = virtio_net_opts_from_items(rec, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	return init_created(c, virtio_net_create(dev, &o), dev, err, errlen);
}

/* A vsock: its socket bound here, on the hotplug thread, under the VM's Landlock set. */
static int make_vsock(struct control *c, const struct opt_items *rec, struct virtio_dev **dev,
		      char *err, size_t errlen)
{
	struct virtio_vsock_opts o;
	int r = virtio_vsock_opts_from_items(rec, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	r = virtio_vsock_check_opts(&o, err, errlen);
	if (r)
		return r;
	if (!sandbox_landlock_allows(o.uds, LANDLOCK_CHANGE)) {
		snprintf(err, errlen,
			 "socket %s is outside what this VMM may create (Landlock: start it with "
			 "--landlock-rules DIR:rw for the socket's directory)",
			 o.uds);
		return -EACCES;
	}
	return init_created(c, virtio_vsock_create(dev, &o), dev, err, errlen);
}

/* A pmem device: its window opened here (a KVM memory slot, the file mapped) at the lowest free
 * guest address, *gpa. */
static int make_pmem(struct control *c, const struct opt_items *rec, uint64_t size,
		     struct virtio_dev **dev, uint64_t *gpa, char *err, size_t errlen)
{
	int r = dev_pmem_hot_create(&c->vm, rec, size, dev, gpa, err, errlen);
	if (r && !err[0])
		snprintf(err, errlen, "%s", log_last_error());
	return r;
}

/* A vhost-user disk or NIC add-disk / add-net's "vhost_user": true made (its items are
 * vhost-user=SOCKET,...). */
static bool is_vu(const struct api_hotplug_add *req)
{
	return (req->kind == API_HOTPLUG_DISK || req->kind == API_HOTPLUG_NET) && req->vhost_user;
}

/* The vhost-user descriptor a vhost-user request's device is of. */
static const struct device_desc *vu_desc(const struct api_hotplug_add *req)
{
	return req->kind == API_HOTPLUG_DISK ? &device_vu_blk : &device_vu_net;
}

/* A vhost-user disk or NIC, or a shared folder: its back-end connected here, on the hotplug thread
 * (its filter allows a vhost-user device's calls, vu_sandbox). */
static int make_fs(struct control *c, const struct opt_items *rec, struct virtio_dev **dev,
		   char *err, size_t errlen)
{
	return dev_fs_hot_create(&c->vm, rec, dev, err, errlen);
}

static int make_vu(struct control *c, const struct api_hotplug_add *req,
		   const struct opt_items *rec, struct virtio_dev **dev, char *err, size_t errlen)
{
	return dev_vu_hot_create(&c->vm, rec, req->kind == API_HOTPLUG_DISK, dev, err, errlen);
}

struct add_call {
	struct control *c;
	const struct api_hotplug_add *req;
	char *id;
	int *slot;
	uint64_t gpa; /* a pmem device's window */
	char *err;
	size_t errlen;
};

/* The device's record as the configuration keeps it (and a restore reads it) into *out: the
 * body's items with the id, and with its slot and a pmem device's window (gpa: 0 for none), which
 * a restore must give it again (slot 0: none). 0 or -ENOMEM. */
static int record_of(const struct api_hotplug_add *req, const char *id, int slot, uint64_t gpa,
		     struct opt_items *out)
{
	int r = opt_items_copy(out, &req->items);
	if (!r)
		r = opt_items_add(out, "id", id);
	if (!r && slot > 0)
		r = dev_hotplug_slot_put(out, slot);
	if (!r && slot > 0 && gpa)
		r = opt_items_addf(out, DEV_PMEM_GPA_ITEM, "%llu", (unsigned long long)gpa);
	if (r)
		opt_items_free(out);
	return r;
}

/* The descriptor whose record a request's device is. */
static const struct device_desc *desc_of(const struct api_hotplug_add *req)
{
	static const struct device_desc *const descs[] = {
	    [API_HOTPLUG_DISK] = &device_disk,	 [API_HOTPLUG_NET] = &device_net,
	    [API_HOTPLUG_VSOCK] = &device_vsock, [API_HOTPLUG_PMEM] = &device_pmem,
	    [API_HOTPLUG_FS] = &device_fs,	 [API_HOTPLUG_VFIO] = &device_vfio};
	return is_vu(req) ? vu_desc(req) : descs[req->kind];
}

static const struct device_api *api_of(enum api_hotplug_kind kind)
{
	return kind == API_HOTPLUG_NET	   ? &dev_net_api
	       : kind == API_HOTPLUG_VFIO  ? device_vfio.api
	       : kind == API_HOTPLUG_VSOCK ? device_vsock.api
	       : kind == API_HOTPLUG_PMEM  ? device_pmem.api
	       : kind == API_HOTPLUG_FS	   ? device_fs.api
					   : &dev_disk_api;
}

/* A section of one object (the vsock's): the configuration's, or none (add false). */
static void model_update_one(struct api_model *m, const struct device_api *api,
			     const struct vm_config *cfg, bool add)
{
	json_t *doc = add ? api->describe(cfg) : NULL;
	if (!m->devices && doc)
		m->devices = json_object();
	if (doc && (!m->devices || json_object_set_new(m->devices, api->section, doc)))
		log_warn("PCI hotplug: GET /vm/config cannot show the %s (out of memory)",
			 api->section);
	if (!add && m->devices)
		json_object_del(m->devices, api->section);
}

/* The model's section (GET /vm/config's "drives", "network-interfaces" or "vsock") gets the
 * document the configuration gives device `id` of `kind`, or loses it (add false). */
static void model_update(struct control *c, enum api_hotplug_kind kind, const char *id, bool add)
{
	const struct device_api *api = api_of(kind);
	struct api_model *m = &c->api.model;
	if (kind == API_HOTPLUG_VFIO) { /* without ids: the configuration's devices, all again */
		model_update_one(m, api, c->cfg, false);
		model_update_one(m, api, c->cfg, device_cfg_find(c->cfg, &device_vfio) != NULL);
		return;
	}
	if (!api->id_field) {
		model_update_one(m, api, c->cfg, add);
		return;
	}
	json_t *docs = json_object_get(m->devices, api->section), *doc = NULL;
	size_t i;
	json_t *v;

	json_array_foreach(docs, i, v)
	{
		if (!strcmp(api_json_str(v, api->id_field, ""), id)) {
			json_array_remove(docs, i);
			break;
		}
	}
	if (!add)
		return;
	json_t *all = api->describe(c->cfg);
	json_array_foreach(all, i, v)
	{
		if (!strcmp(api_json_str(v, api->id_field, ""), id))
			doc = json_incref(v);
	}
	json_decref(all);
	if (!doc)
		return;
	if (!m->devices)
		m->devices = json_object();
	if (!docs && m->devices && !json_object_set_new(m->devices, api->section, json_array()))
		docs = json_object_get(m->devices, api->section);
	if (json_array_append_new(docs, doc))
		log_warn("PCI hotplug: %s: GET /vm/config cannot show it (out of memory)", id);
}

/* Whether the configuration has room for one more device of this kind (its block: a device's
 * record is not among the recorded options). */
static bool room_to_record(const struct control *c, const struct api_hotplug_add *req, char *err,
			   size_t errlen)
{
	enum api_hotplug_kind kind = req->kind;
	bool nic = kind == API_HOTPLUG_NET;
	if (is_vu(req)) {
		bool room = dev_vu_count(c->cfg, vu_desc(req)) < DEV_VU_MAX;
		if (!room)
			snprintf(err, errlen,
				 "the VM has as many vhost-user %s as it may have (%d)",
				 nic ? "NICs" : "disks", DEV_VU_MAX);
		return room;
	}
	if (kind == API_HOTPLUG_VFIO) {
		const struct dev_vfio_cfg *v = device_cfg_find(c->cfg, &device_vfio);
		bool room = !v || v->n < VM_VFIO_MAX_DEVICES;
		if (!room)
			snprintf(err, errlen,
				 "the VM has as many passed-through devices as it may have "
				 "(%d)",
				 VM_VFIO_MAX_DEVICES);
		return room;
	}
	if (kind == API_HOTPLUG_VSOCK) {
		const char *has = dev_vsock_id(c->cfg);
		if (has)
			snprintf(err, errlen,
				 "the VM has a vsock device already (%s): a VM has at most one",
				 has);
		return !has;
	}
	if (kind == API_HOTPLUG_PMEM) {
		const struct dev_pmem_cfg *p = device_cfg_find(c->cfg, &device_pmem);
		bool room = !p || p->n < DEV_PMEM_MAX;
		if (!room)
			snprintf(err, errlen, "the VM has as many pmem devices as it may have (%d)",
				 DEV_PMEM_MAX);
		return room;
	}
	if (kind == API_HOTPLUG_FS) {
		bool room = dev_fs_count(c->cfg) < DEV_FS_MAX;
		if (!room)
			snprintf(err, errlen,
				 "the VM has as many shared folders as it may have (%d)",
				 DEV_FS_MAX);
		return room;
	}
	bool room =
	    nic ? dev_net_count(c->cfg) < VM_MAX_NICS : dev_disk_count(c->cfg) < VM_MAX_DISKS;
	if (!room)
		snprintf(err, errlen, "the VM has as many %s as it may have (%d)",
			 nic ? "NICs" : "disks", nic ? VM_MAX_NICS : VM_MAX_DISKS);
	return room;
}

/* The added device into the configuration and the model. */
static void record_add(struct control *c, const struct api_hotplug_add *req, const char *id,
		       int slot, uint64_t gpa)
{
	char err[512] = "";
	struct opt_items rec;
	/* --device vfio=PATH,id=ID, --disk / --net vhost-user=S,id=ID: never restored (such a VM
	 * is not saved: the device has no state of its own here), so no slot */
	bool slotless = req->kind == API_HOTPLUG_VFIO || is_vu(req);
	int r = record_of(req, id, slotless ? 0 : slot, gpa, &rec);
	if (r)
		snprintf(err, sizeof(err), "out of memory");
	else
		r = desc_of(req)->record_add(c->cfg, &rec, err, sizeof(err));
	opt_items_free(&rec);
	if (r) { /* room was checked: only memory can lack; the device runs, unrecorded */
		log_error("PCI hotplug: %s is not in the VM's configuration (a snapshot would "
			  "lack it): %s",
			  id, err);
		return;
	}
	model_update(c, req->kind, id, true);
}

/* The removed device (a hot-added one, or a boot device pinned to its slot first) out of the
 * configuration, its block, which its record is (vmm/descriptors/device_record.h), and out of the
 * model: found by its id among the kinds that can be removed. */
static void record_remove(struct control *c, const char *id)
{
	struct vm_config *cfg = c->cfg;
	const char *vsock = dev_vsock_id(cfg);
	int disk = dev_disk_find_id(cfg, id);
	enum api_hotplug_kind kind;

	if (dev_vfio_has_id(cfg, id)) {
		dev_vfio_forget(cfg, id);
		kind = API_HOTPLUG_VFIO;
	} else if (dev_vu_forget(cfg, &device_vu_blk, id) || disk >= 0) {
		if (disk >= 0)
			dev_disk_forget(cfg, disk);
		kind = API_HOTPLUG_DISK;
	} else if (dev_vu_forget(cfg, &device_vu_net, id) || dev_net_find_id(cfg, id) >= 0) {
		dev_net_forget(cfg, id);
		kind = API_HOTPLUG_NET;
	} else if (vsock && !strcmp(vsock, id)) {
		dev_vsock_forget(cfg);
		kind = API_HOTPLUG_VSOCK;
	} else if (dev_pmem_find(cfg, id) >= 0) {
		dev_pmem_forget(cfg, id);
		kind = API_HOTPLUG_PMEM;
	} else if (dev_fs_find(cfg, id) >= 0) {
		dev_fs_forget(cfg, id);
		kind = API_HOTPLUG_FS;
	} else {
		return;
	}
	model_update(c, kind, id, false);
}

/* The device of record `rec` made on the hotplug thread: opened, connected, initialised (a
 * passed-through device also plugged, into *k->slot). 0 or -errno with the reason in k->err. */
static int make_device(struct add_call *k, const struct opt_items *rec, struct virtio_dev **dev)
{
	struct control *c = k->c;
	static int (*const make[])(struct control *, const struct opt_items *, struct virtio_dev **,
				   char *, size_t) = {[API_HOTPLUG_DISK] = make_disk,
						      [API_HOTPLUG_NET] = make_nic,
						      [API_HOTPLUG_VSOCK] = make_vsock,
						      [API_HOTPLUG_FS] = make_fs};
	if (k->req->kind == API_HOTPLUG_VFIO) /* opened and plugged here (dev_vfio.h) */
		return dev_vfio_hot_add(&c->vm, rec, k->id, k->slot, k->err, k->errlen);
	if (k->req->kind == API_HOTPLUG_PMEM)
		return make_pmem(c, rec, k->req->size, dev, &k->gpa, k->err, k->errlen);
	return is_vu(k->req) ? make_vu(c, k->req, rec, dev, k->err, k->errlen)
			     : make[k->req->kind](c, rec, dev, k->err, k->errlen);
}

/* On the hotplug thread: it opens the disk's file or the tap and starts the I/O thread. */
static int add_here(void *arg)
{
	struct add_call *k = arg;
	struct control *c = k->c;
	struct opt_items rec;
	struct virtio_dev *dev = NULL;

	if (record_of(k->req, k->id, 0, 0, &rec)) {
		snprintf(k->err, k->errlen, "out of memory");
		return -ENOMEM;
	}
	int r = make_device(k, &rec, &dev);
	opt_items_free(&rec);
	if (r)
		return r;
	bool vu = is_vu(k->req);
	static const enum vm_hotplug_kind vm_kind[] = {[API_HOTPLUG_DISK] = VM_HOTPLUG_DISK,
						       [API_HOTPLUG_NET] = VM_HOTPLUG_NET,
						       [API_HOTPLUG_VSOCK] = VM_HOTPLUG_VSOCK,
						       [API_HOTPLUG_PMEM] = VM_HOTPLUG_PMEM,
						       [API_HOTPLUG_FS] = VM_HOTPLUG_FS};
	if (k->req->kind == API_HOTPLUG_VFIO) /* plugged by dev_vfio_hot_add() */
		return 0;
	r = vm_hotplug_add(&c->vm, k->id, vu ? VM_HOTPLUG_VU : vm_kind[k->req->kind], dev, k->slot,
			   k->err, k->errlen);
	if (r && k->req->kind == API_HOTPLUG_PMEM) /* the device went: its window too */
		dev_pmem_hot_release(&c->vm, k->id);
	return r;
}

/* Firecracker's words when its PCI transport is off (it hot-adds only with --enable-pci), then
 * ours: a PCI bus at boot and ACPI, which --enable-pci gives. */
static bool no_hotplug(const struct control *c, char *err, size_t errlen)
{
	if (vm_hotplug_enabled(&c->vm))
		return false;
	snprintf(err, errlen,
		 "PCI is not enabled: this VM has no PCI hotplug, which needs ACPI (no --acpi "
		 "off) and a PCI bus at boot (--enable-pci, or a device with --transport pci)");
	return true;
}

int ctl_hotplug_add(void *ctx, const struct api_hotplug_add *req, char *id, int *slot, char *err,
		    size_t errlen)
{
	struct control *c = ctx;
	if (!c->vm_created)
		return -ENODEV;
	if (ctl_refuse_for_migration(c,
				     "a live migration of this VM is running: add the device "
				     "after it (or cancel it)",
				     err, errlen))
		return -EBUSY;
	if (no_hotplug(c, err, errlen))
		return -ENODEV;
	if (!room_to_record(c, req, err, errlen))
		return -ENOSPC;
	if (!vm_hotplug_free_slots(&c->vm)) {
		snprintf(err, errlen,
			 "no free PCI hotplug slot: bus 0's 31 device numbers are "
			 "all taken");
		return -ENOSPC;
	}
	if (req->id[0] && id_taken(c, req->id)) {
		snprintf(err, errlen, "id %s: another device has it already", req->id);
		return -EEXIST;
	}
	if (req->id[0])
		snprintf(id, API_HOTPLUG_ID_MAX, "%s", req->id);
	else
		choose_id(c, req->kind, id, API_HOTPLUG_ID_MAX);
	struct add_call k = {c, req, id, slot, 0, err, errlen};
	int r = vm_hotplug_call(&c->vm, add_here, &k); /* vmm/vm/hotplug_worker.c says why */
	if (!r)
		record_add(c, req, id, *slot, k.gpa);
	return r;
}

struct remove_call {
	struct control *c;
	const char *id;
	unsigned timeout_ms;
	char *err;
	size_t errlen;
};

/* On the hotplug thread: the device's threads are joined and its KVM wiring undone there. */
static int remove_here(void *arg)
{
	struct remove_call *k = arg;
	enum vm_hotplug_kind kind;
	bool pmem = vm_hotplug_device(&k->c->vm, k->id, VM_HOTPLUG_PMEM) != NULL ||
		    (vm_hotplug_boot_slot(&k->c->vm, k->id, &kind) > 0 && kind == VM_HOTPLUG_PMEM);
	int r = vm_hotplug_remove(&k->c->vm, k->id, k->timeout_ms, k->err, k->errlen);
	if (!r && pmem) /* the guest released it and the device stopped: its window goes */
		dev_pmem_hot_release(&k->c->vm, k->id);
	return r;
}

/* ---- A boot device removed (docs/hotplug.md, "Removing a boot device") ---- */

/* The hotplug_slot of the configuration's rng or balloon (a kept kind's block), or NULL. */
static int *kept_slot(const struct control *c, enum vm_hotplug_kind kind)
{
	const struct device_desc *d = kind == VM_HOTPLUG_RNG	   ? &device_rng
				      : kind == VM_HOTPLUG_BALLOON ? &device_balloon
								   : &device_console;
	if (!device_cfg_find(c->cfg, d))
		return NULL;
	return kind == VM_HOTPLUG_RNG ? &((struct dev_rng_cfg *)device_cfg(c->cfg, d))->hotplug_slot
	       : kind == VM_HOTPLUG_BALLOON
		   ? &((struct dev_balloon_cfg *)device_cfg(c->cfg, d))->hotplug_slot
		   : &((struct dev_console_cfg *)device_cfg(c->cfg, d))->hotplug_slot;
}

/* The configuration block's index of the boot disk, NIC, pmem device or vsock (0) whose API id
 * is `id`, or -1. */
static int boot_index(const struct control *c, enum vm_hotplug_kind kind, const char *id)
{
	char name[VM_HOTPLUG_ID_MAX];
	bool nic = kind == VM_HOTPLUG_NET;
	if (kind == VM_HOTPLUG_VSOCK) {
		const char *own = dev_vsock_id(c->cfg);
		return own && !strcmp(own, id) ? 0 : -1;
	}
	if (kind == VM_HOTPLUG_PMEM)
		return dev_pmem_find(c->cfg, id);
	if (kind == VM_HOTPLUG_FS)
		return dev_fs_find(c->cfg, id);
	if (vm_hotplug_kind_kept(kind)) /* the VM's one rng or balloon */
		return kept_slot(c, kind) ? 0 : -1;
	int n = nic ? dev_net_count(c->cfg) : kind == VM_HOTPLUG_DISK ? dev_disk_count(c->cfg) : 0;
	for (int i = 0; i < n; i++) {
		if (nic)
			dev_net_api_id(c->cfg, i, name, sizeof(name));
		else
			dev_disk_api_id(c->cfg, i, name, sizeof(name));
		if (!strcmp(name, id))
			return i;
	}
	return -1;
}

/* Whether boot disk, NIC, pmem device or vsock `id` is on virtio-mmio. */
static bool on_mmio(const struct control *c, const char *id)
{
	const struct dev_net_cfg *nc = device_cfg_find(c->cfg, &device_net);
	const struct dev_disk_cfg *dc = device_cfg_find(c->cfg, &device_disk);
	const struct dev_vsock_cfg *vc = device_cfg_find(c->cfg, &device_vsock);
	const struct dev_pmem_cfg *pc = device_cfg_find(c->cfg, &device_pmem);
	const struct dev_fs_cfg *fc = device_cfg_find(c->cfg, &device_fs);
	int d = boot_index(c, VM_HOTPLUG_DISK, id), n = boot_index(c, VM_HOTPLUG_NET, id),
	    v = boot_index(c, VM_HOTPLUG_VSOCK, id), p = boot_index(c, VM_HOTPLUG_PMEM, id),
	    f = boot_index(c, VM_HOTPLUG_FS, id);
	return (d >= 0 && dc->disk[d].transport == TRANSPORT_MMIO) ||
	       (n >= 0 && nc->nic[n].transport == TRANSPORT_MMIO) ||
	       (v >= 0 && vc->transport == TRANSPORT_MMIO) ||
	       (p >= 0 && pc->dev[p].transport == TRANSPORT_MMIO) ||
	       (f >= 0 && fc->fs[f].transport == TRANSPORT_MMIO);
}

/* Why boot device `b` cannot keep its slot as a hotplug-slot= device (a later one of a removed
 * device must), into err; false: it can. */
static bool cannot_pin(const struct control *c, const struct vm_hotplug_boot *b, char *err,
		       size_t errlen)
{
	int i = boot_index(c, b->kind, b->id);
	const char *why =
	    i < 0 ? "it is not found in the configuration"
	    : b->kind == VM_HOTPLUG_NET && dev_net_opts(c->cfg, i)->kind != VIRTIO_NET_TAP
		? "a NIC kept at its slot needs a tap= (not a tapfd= or user networking)"
		: NULL;
	if (why)
		snprintf(err, errlen, "%s, at 00:%02x.0 after it, cannot keep its slot: %s", b->id,
			 b->slot, why);
	return why != NULL;
}

/* Whether a boot disk or NIC after entry `i` of the same kind is on virtio-mmio (it would be
 * renamed: drive<N> / net<N> count the entries), with its id into `id`. */
static bool mmio_after(const struct control *c, enum vm_hotplug_kind kind, int i, char *id,
		       size_t len)
{
	bool nic = kind == VM_HOTPLUG_NET;
	int n = kind != VM_HOTPLUG_NET && kind != VM_HOTPLUG_DISK ? 0
		: nic						  ? dev_net_count(c->cfg)
								  : dev_disk_count(c->cfg);
	for (int j = i + 1; j < n; j++) {
		const struct dev_net_cfg *nc = device_cfg_find(c->cfg, &device_net);
		const struct dev_disk_cfg *dc = device_cfg_find(c->cfg, &device_disk);
		bool pinned = nic ? nc->nic[j].hotplug_slot : dc->disk[j].hotplug_slot;
		enum virtio_transport t = nic ? nc->nic[j].transport : dc->disk[j].transport;
		if (!pinned && t == TRANSPORT_MMIO) {
			if (nic)
				dev_net_api_id(c->cfg, j, id, len);
			else
				dev_disk_api_id(c->cfg, j, id, len);
			return true;
		}
	}
	return false;
}

/* Boot device `id` (in `slot`) is a hotplug-slot= device from now on: its block entry (its
 * record) gets its slot and id, its slot's entry is adopted. */
static int pin(struct control *c, const char *id, enum vm_hotplug_kind kind, int slot)
{
	int i = boot_index(c, kind, id);
	if (i < 0)
		return -ENOENT;
	bool kept = vm_hotplug_kind_kept(kind);
	if (kept && *kept_slot(c, kind) == slot)
		return 0; /* recorded with its slot already (a restored VM's, an earlier removal) */
	if (kept) {	  /* never removed: its slot's entry stays a kept one */
		*kept_slot(c, kind) = slot;
		return 0;
	}
	uint64_t gpa = kind == VM_HOTPLUG_PMEM ? dev_pmem_gpa(id) : 0;
	int r = kind == VM_HOTPLUG_NET	   ? dev_net_pin(c->cfg, &c->vm, i, slot)
		: kind == VM_HOTPLUG_VSOCK ? dev_vsock_pin(c->cfg, slot)
		: kind == VM_HOTPLUG_PMEM  ? dev_pmem_pin(c->cfg, i, slot, gpa)
		: kind == VM_HOTPLUG_FS	   ? dev_fs_pin(c->cfg, i, slot)
					   : dev_disk_pin(c->cfg, &c->vm, i, slot);
	if (!r)
		vm_hotplug_boot_adopt(&c->vm, slot);
	return r;
}

/* Whether boot device `id` in `slot` may go: every device after it on the bus keeps its slot in
 * a restore (each a removable boot device, then recorded with its slot, or a hot-added one),
 * and no disk or NIC after it on virtio-mmio would be renamed. */
static bool boot_may_go(const struct control *c, const char *id, enum vm_hotplug_kind kind,
			int slot, char *err, size_t errlen)
{
	struct vm_hotplug_boot later[32];
	int fixed, n = vm_hotplug_boot_after(&c->vm, slot, later, 32, &fixed);
	char other[VM_HOTPLUG_ID_MAX], why[384];
	if (fixed) {
		snprintf(err, errlen,
			 "%s cannot be removed: the device at 00:%02x.0 after it on the bus (the "
			 "root disk, or a kind only the VM's start places: a display, "
			 "virtio-mem, vhost-user or passed-through device) would move to another "
			 "slot in a snapshot's restore or a migration",
			 id, fixed);
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (cannot_pin(c, &later[i], why, sizeof(why))) {
			snprintf(err, errlen, "%s cannot be removed: %s", id, why);
			return false;
		}
	}
	if (mmio_after(c, kind, boot_index(c, kind, id), other, sizeof(other))) {
		snprintf(err, errlen,
			 "%s cannot be removed: %s after it is on virtio-mmio and would be "
			 "renamed (give it an id=)",
			 id, other);
		return false;
	}
	return true;
}

/* Removes boot device `id` in `slot` as a hot-added one (remove_here()); once the guest released
 * it, the later boot devices are recorded with their slots and ids, and its own record goes. */
static int remove_boot(struct control *c, const struct api_hotplug_remove *req,
		       enum vm_hotplug_kind kind, int slot, char *err, size_t errlen)
{
	struct vm_hotplug_boot later[32], self = {.slot = slot, .kind = kind};
	int fixed, n = vm_hotplug_boot_after(&c->vm, slot, later, 32, &fixed);
	if (!boot_may_go(c, req->id, kind, slot, err, errlen))
		return -EINVAL;
	snprintf(self.id, sizeof(self.id), "%s", req->id);
	struct remove_call k = {c, req->id,
				req->timeout_ms ? req->timeout_ms : VM_HOTPLUG_REMOVE_TIMEOUT_MS,
				err, errlen};
	int r = vm_hotplug_call(&c->vm, remove_here, &k);
	if (r)
		return r; /* it stays, the configuration as it was */
	for (int i = 0; i < n; i++)
		if (pin(c, later[i].id, later[i].kind, later[i].slot))
			log_error("PCI hotplug: %s is not recorded with its slot: a restore would "
				  "place it elsewhere",
				  later[i].id);
	if (pin(c, self.id, self.kind, self.slot) == 0)
		record_remove(c, req->id); /* as a hot-added device's */
	else
		log_error("PCI hotplug: %s is still in the VM's configuration", req->id);
	log_info("PCI hotplug: boot device %s removed from slot %d", req->id, slot);
	return 0;
}

int ctl_hotplug_remove(void *ctx, const struct api_hotplug_remove *req, char *err, size_t errlen)
{
	struct control *c = ctx;
	bool root = false;
	if (!c->vm_created)
		return -ENODEV;
	if (ctl_refuse_for_migration(c,
				     "a live migration of this VM is running: remove the "
				     "device after it (or cancel it)",
				     err, errlen))
		return -EBUSY;
	if (no_hotplug(c, err, errlen))
		return -ENODEV;
	enum vm_hotplug_kind kind;
	int boot =
	    vm_hotplug_has_id(&c->vm, req->id) ? -1 : vm_hotplug_boot_slot(&c->vm, req->id, &kind);
	if (boot > 0)
		return remove_boot(c, req, kind, boot, err, errlen);
	if (!vm_hotplug_has_id(&c->vm, req->id)) {
		const char *what = boot_device(c, req->id, &root);
		if (root)
			snprintf(err, errlen, "%s is the root %s: it cannot be removed", req->id,
				 strcmp(what, "a disk") ? "device" : "disk");
		else if (what && on_mmio(c, req->id))
			snprintf(err, errlen,
				 "%s is %s on virtio-mmio: only a virtio-pci device can be removed",
				 req->id, what);
		else if (what)
			snprintf(err, errlen,
				 "%s is %s the VM started with: of those, only a virtio-pci disk, "
				 "NIC, pmem device, vsock or shared folder can be removed (and any "
				 "device added with "
				 "/vmm/vm.add-disk, "
				 "-net, -vsock, -pmem, -fs or -device)",
				 req->id, what);
		else
			snprintf(err, errlen, "no device has the id %s", req->id);
		return -ENOENT;
	}
	struct remove_call k = {c, req->id,
				req->timeout_ms ? req->timeout_ms : VM_HOTPLUG_REMOVE_TIMEOUT_MS,
				err, errlen};
	int r = vm_hotplug_call(&c->vm, remove_here, &k);
	if (!r)
		record_remove(c, req->id);
	return r;
}

int ctl_hotplug_live_set(void *ctx, const char *id, bool nic, struct device_live_set *s, char *err,
			 size_t errlen)
{
	struct control *c = ctx;
	if (!c->vm_created ||
	    !vm_hotplug_device(&c->vm, id, nic ? VM_HOTPLUG_NET : VM_HOTPLUG_DISK))
		return -ENOENT;
	if (!nic && !strcmp(s->member, "path_on_host")) {
		snprintf(err, errlen,
			 "%s: a hot-added disk's file cannot be changed (remove the disk "
			 "and add the other file)",
			 id);
		return -EINVAL;
	}
	/* the descriptor's own change, as a boot device's PATCH makes it (dev_*_live.c): the
	 * device model's limits, and its block, whose record a snapshot saves */
	int index = nic ? dev_net_find_id(c->cfg, id) : dev_disk_find_id(c->cfg, id);
	const struct device_api *api = api_of(nic ? API_HOTPLUG_NET : API_HOTPLUG_DISK);
	return api->live->set(&c->vm, c->cfg, index, s, err, errlen);
}

int ctl_refuse_for_hotplug(struct control *c, char *err, size_t errlen)
{
	/* an event the guest has not answered yet is not in the state: a restored or migrated
	 * guest would never see it */
	int r = c->vm_created ? vm_hotplug_check_quiet(&c->vm, err, errlen) : 0;
	return r ? r : ctl_refuse_for_cpu_hotplug(c, err, errlen); /* control_resize.c */
}
