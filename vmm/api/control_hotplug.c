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
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/hotplug.h"

/* The device hotplug hooks of `d` (NULL: none). */
static const struct device_hotplug *hp(const struct device_desc *d)
{
	return d ? d->hotplug : NULL;
}

/* Calls fn(d) for every device a hotplug may add, remove or keep, in table order, until it
 * returns true; that device, or NULL. */
static const struct device_desc *
each_hotplug(bool (*fn)(const struct device_desc *d, const void *arg), const void *arg)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i]->hotplug && fn(device_table[i], arg))
			return device_table[i];
	return NULL;
}

struct lookup {
	const struct vm_config *cfg;
	const char *id;
};

static bool has_instance(const struct device_desc *d, const void *arg)
{
	const struct lookup *l = arg;
	return d->hotplug->find && d->hotplug->find(l->cfg, l->id) >= 0;
}

/* The device that has an instance whose API id is `id` in `cfg`, or NULL. */
static const struct device_desc *device_of(const struct vm_config *cfg, const char *id)
{
	const struct lookup l = {cfg, id};
	return each_hotplug(has_instance, &l);
}

/* What a boot device's id is (NULL: none), and whether it is the guest's root. */
static const char *boot_device(const struct control *c, const char *id, bool *root)
{
	const struct device_desc *d = device_of(c->cfg, id);
	struct device_claim other;
	*root =
	    d && d->hotplug->is_root && d->hotplug->is_root(c->cfg, d->hotplug->find(c->cfg, id));
	if (d)
		return d->hotplug->what;
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

/* Cloud Hypervisor's names for a device added without an id: _disk<N>, _net<N>, _vsock<N>,
 * _pmem<N>, _fs<N>, _vfio<N> (the stem its descriptor gives). */
static void choose_id(const struct control *c, const struct device_desc *d, char *id, size_t len)
{
	for (unsigned n = 0;; n++) {
		snprintf(id, len, "_%s%u", d->hotplug->stem, n);
		if (!id_taken(c, id))
			return;
	}
}

/* The API section that lists device d's instances (GET /vm/config). */
static const struct device_api *model_api(const struct device_desc *d)
{
	return d->hotplug->model ? d->hotplug->model : d->api;
}

/* The descriptor whose record a request's device is (api_hotplug.h: its route's or section's,
 * or the vhost-user one the section's documents also list), when it is hot-added. */
static const struct device_desc *desc_of(const struct api_hotplug_add *req)
{
	return req->dev && req->dev->hotplug ? req->dev : NULL;
}

struct add_call {
	struct control *c;
	const struct api_hotplug_add *req;
	const struct device_desc *d;
	char *id;
	int *slot;
	uint64_t gpa; /* a pmem device's window */
	char *err;
	size_t errlen;
};

/* The device's record as the configuration keeps it (and a restore reads it) into *out: the
 * body's items with the id, and with its slot and its window's address (gpa: 0 for none, into
 * the device's window_item), which a restore must give it again (slot 0: none). 0 or -ENOMEM. */
static int record_of(const struct api_hotplug_add *req, const struct device_hotplug *h,
		     const char *id, int slot, uint64_t gpa, struct opt_items *out)
{
	int r = opt_items_copy(out, &req->items);
	if (!r)
		r = opt_items_add(out, "id", id);
	if (!r && slot > 0)
		r = dev_hotplug_slot_put(out, slot);
	if (!r && slot > 0 && gpa && h->window_item)
		r = opt_items_addf(out, h->window_item, "%llu", (unsigned long long)gpa);
	if (r)
		opt_items_free(out);
	return r;
}

/* A section of one object (the vsock's) or of documents without ids (the passed-through
 * devices'): what the configuration gives it now, or nothing. */
static void model_update_whole(struct api_model *m, const struct device_api *api,
			       const struct vm_config *cfg)
{
	json_t *doc = api->describe(cfg);
	if (!m->devices && doc)
		m->devices = json_object();
	if (doc && (!m->devices || json_object_set_new(m->devices, api->section, doc)))
		log_warn("PCI hotplug: GET /vm/config cannot show the %s (out of memory)",
			 api->section);
	if (!doc && m->devices)
		json_object_del(m->devices, api->section);
}

/* The model's section (GET /vm/config's "drives", "network-interfaces", "vsock", ...) gets the
 * document the configuration gives device `id` of `d`, or loses it (add false). */
static void model_update(struct control *c, const struct device_desc *d, const char *id, bool add)
{
	const struct device_api *api = model_api(d);
	struct api_model *m = &c->api.model;
	if (!api->id_field) {
		model_update_whole(m, api, c->cfg);
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

/* The added device into the configuration (its block, which its record is) and the model. */
static void record_add(struct control *c, const struct device_desc *d,
		       const struct api_hotplug_add *req, const char *id, int slot, uint64_t gpa)
{
	char err[512] = "";
	struct opt_items rec;
	int r = record_of(req, d->hotplug, id, d->hotplug->slotless ? 0 : slot, gpa, &rec);
	if (r)
		snprintf(err, sizeof(err), "out of memory");
	else
		r = d->record_add(c->cfg, &rec, err, sizeof(err));
	opt_items_free(&rec);
	if (r) { /* room was checked: only memory can lack; the device runs, unrecorded */
		log_error("PCI hotplug: %s is not in the VM's configuration (a snapshot would "
			  "lack it): %s",
			  id, err);
		return;
	}
	model_update(c, d, id, true);
}

/* The removed device (a hot-added one, or a boot device pinned to its slot first) out of the
 * configuration, its block, which its record is, and out of the model. */
static void record_remove(struct control *c, const char *id)
{
	const struct device_desc *d = device_of(c->cfg, id);
	if (!d || !d->hotplug->forget)
		return;
	d->hotplug->forget(c->cfg, id);
	model_update(c, d, id, false);
}

/* On the hotplug thread: the device built (its file or tap opened, its back-end connected) and
 * plugged (a passed-through function plugs itself in create()). */
static int add_here(void *arg)
{
	struct add_call *k = arg;
	struct vm *vm = &k->c->vm;
	const struct device_hotplug *h = k->d->hotplug;
	struct device_hot_add x = {.id = k->id, .size = k->req->size, .slot = k->slot};
	struct virtio_dev *dev = NULL;
	struct opt_items rec;

	if (record_of(k->req, h, k->id, 0, 0, &rec)) {
		snprintf(k->err, k->errlen, "out of memory");
		return -ENOMEM;
	}
	int r = h->create(vm, &rec, &x, &dev, k->err, k->errlen);
	opt_items_free(&rec);
	k->gpa = x.gpa;
	if (r || !dev)
		return r;
	r = vm_hotplug_add(vm, k->id, h->kind, dev, k->slot, k->err, k->errlen);
	if (r && h->released) /* the device went: what it took besides (a window) too */
		h->released(vm, k->id);
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
	const struct device_desc *d = desc_of(req);
	if (!d || !d->hotplug->create) {
		snprintf(err, errlen, "this kind of device cannot be added to a running VM");
		return -EINVAL;
	}
	int r = d->hotplug->room(c->cfg, err, errlen);
	if (r)
		return r;
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
		choose_id(c, d, id, API_HOTPLUG_ID_MAX);
	struct add_call k = {c, req, d, id, slot, 0, err, errlen};
	r = vm_hotplug_call(&c->vm, add_here, &k); /* vmm/vm/hotplug_worker.c says why */
	if (!r)
		record_add(c, d, req, id, *slot, k.gpa);
	return r;
}

struct remove_call {
	struct control *c;
	const char *id;
	unsigned timeout_ms;
	char *err;
	size_t errlen;
};

/* The device whose hotplug entry `id` is (hot-added, or a boot one in the slot table), or NULL. */
static const struct device_desc *entry_device(const struct vm *vm, const char *id)
{
	const struct vm_hotplug_kind *kind;
	for (int i = 0; device_table[i]; i++) {
		const struct device_hotplug *h = device_table[i]->hotplug;
		if (h && vm_hotplug_device(vm, id, h->kind))
			return device_table[i];
	}
	return vm_hotplug_boot_slot(vm, id, &kind) > 0 ? device_table_hotplug_kind(kind) : NULL;
}

/* On the hotplug thread: the device's threads are joined and its KVM wiring undone there. */
static int remove_here(void *arg)
{
	struct remove_call *k = arg;
	const struct device_hotplug *h = hp(entry_device(&k->c->vm, k->id));
	int r = vm_hotplug_remove(&k->c->vm, k->id, k->timeout_ms, k->err, k->errlen);
	if (!r && h && h->released) /* the guest released it, the device stopped: its window */
		h->released(&k->c->vm, k->id);
	return r;
}

/* ---- A boot device removed (docs/hotplug.md, "Removing a boot device") ---- */

/* The configuration block's index of the boot device of `kind` whose API id is `id` (0 for a
 * kept kind's one instance), or -1. */
static int boot_index(const struct control *c, const struct vm_hotplug_kind *kind, const char *id)
{
	const struct device_hotplug *h = hp(device_table_hotplug_kind(kind));
	if (h && h->kept_slot)
		return h->kept_slot(c->cfg) ? 0 : -1;
	return h && h->find ? h->find(c->cfg, id) : -1;
}

static bool has_mmio_instance(const struct device_desc *d, const void *arg)
{
	const struct lookup *l = arg;
	const struct device_hotplug *h = d->hotplug;
	int i = h->find && !h->slotless ? h->find(l->cfg, l->id) : -1;
	return i >= 0 && h->transport(l->cfg, i) == TRANSPORT_MMIO;
}

/* Whether boot device `id` is on virtio-mmio. */
static bool on_mmio(const struct control *c, const char *id)
{
	const struct lookup l = {c->cfg, id};
	return each_hotplug(has_mmio_instance, &l) != NULL;
}

/* Why boot device `b` cannot keep its slot as a hotplug-slot= device (a later one of a removed
 * device must), into err; false: it can. */
static bool cannot_pin(const struct control *c, const struct vm_hotplug_boot *b, char *err,
		       size_t errlen)
{
	const struct device_hotplug *h = hp(device_table_hotplug_kind(b->kind));
	int i = boot_index(c, b->kind, b->id);
	const char *why = i < 0		  ? "it is not found in the configuration"
			  : h->cannot_pin ? h->cannot_pin(c->cfg, i)
					  : NULL;
	if (why)
		snprintf(err, errlen, "%s, at 00:%02x.0 after it, cannot keep its slot: %s", b->id,
			 b->slot, why);
	return why != NULL;
}

/* Whether a boot device after entry `i` of the same kind is on virtio-mmio and would be renamed
 * (drive<N> / net<N> count the entries), with its id into `id`. */
static bool mmio_after(const struct control *c, const struct vm_hotplug_kind *kind, int i, char *id,
		       size_t len)
{
	const struct device_hotplug *h = hp(device_table_hotplug_kind(kind));
	return h && h->renamed_after && h->renamed_after(c->cfg, i, id, len);
}

/* Boot device `id` (in `slot`) is a hotplug-slot= device from now on: its block entry (its
 * record) gets its slot and id, its slot's entry is adopted. */
static int pin(struct control *c, const char *id, const struct vm_hotplug_kind *kind, int slot)
{
	const struct device_hotplug *h = hp(device_table_hotplug_kind(kind));
	int i = boot_index(c, kind, id);
	if (i < 0 || !h)
		return -ENOENT;
	if (h->kept_slot) { /* never removed: its slot's entry stays a kept one */
		*h->kept_slot(c->cfg) = slot;
		return 0;
	}
	int r = h->pin ? h->pin(c->cfg, &c->vm, i, slot) : -EINVAL;
	if (!r)
		vm_hotplug_boot_adopt(&c->vm, slot);
	return r;
}

/* Whether boot device `id` in `slot` may go: every device after it on the bus keeps its slot in
 * a restore (each a removable boot device, then recorded with its slot, or a hot-added one),
 * and no disk or NIC after it on virtio-mmio would be renamed. */
static bool boot_may_go(const struct control *c, const char *id, const struct vm_hotplug_kind *kind,
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
		       const struct vm_hotplug_kind *kind, int slot, char *err, size_t errlen)
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
	const struct vm_hotplug_kind *kind;
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

int ctl_hotplug_live_set_of(struct control *c, const struct device_desc *d, const char *id,
			    struct device_live_set *s, char *err, size_t errlen)
{
	const char *opens = d && d->api->live ? d->api->live->opens_file : NULL;
	if (!c->vm_created || !hp(d) || !vm_hotplug_device(&c->vm, id, d->hotplug->kind))
		return -ENOENT;
	if (opens && !strcmp(s->member, opens)) { /* its file stays the one it was added with */
		snprintf(err, errlen,
			 "%s: a hot-added disk's file cannot be changed (remove the disk "
			 "and add the other file)",
			 id);
		return -EINVAL;
	}
	/* the descriptor's own change, as a boot device's PATCH makes it (dev_*_live.c): the
	 * device model's limits, and its block, whose record a snapshot saves */
	return d->api->live->set(&c->vm, c->cfg, d->hotplug->find(c->cfg, id), s, err, errlen);
}

int ctl_hotplug_live_set(void *ctx, const struct device_desc *d, const char *id,
			 struct device_live_set *s, char *err, size_t errlen)
{
	/* the router's PATCH of a hot-added device's (api_hotplug_patch()) */
	return ctl_hotplug_live_set_of(ctx, d, id, s, err, errlen);
}

int ctl_refuse_for_hotplug(struct control *c, char *err, size_t errlen)
{
	/* an event the guest has not answered yet is not in the state: a restored or migrated
	 * guest would never see it */
	int r = c->vm_created ? vm_hotplug_check_quiet(&c->vm, err, errlen) : 0;
	return r ? r : ctl_refuse_for_cpu_hotplug(c, err, errlen); /* control_resize.c */
}
