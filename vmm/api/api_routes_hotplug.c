/* Device hotplug (api_hotplug.h): PUT /vmm/vm.add-disk, /vmm/vm.add-net, /vmm/vm.add-vsock,
 * /vmm/vm.add-pmem, /vmm/vm.add-fs, /vmm/vm.add-device (a passed-through device, the route its
 * descriptor owns), /vmm/vm.remove-device, Cloud Hypervisor's routes under our
 * /vmm/ prefix; and Firecracker's (its device hotplug preview, 1.16): PUT /drives/{id},
 * /network-interfaces/{id}, /pmem/{id} after InstanceStart add the device, DELETE on them
 * removes it, both answering 204 (api_hotplug_put_device(), api_hotplug_delete()). A
 * running VM only: a paused one could not answer (its guest releases nothing, a new device's thread
 * would run while its peers are parked), and a snapshot is taken of a paused VM, so none is under
 * way. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_hotplug.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_record.h"

#define NO_HOTPLUG "device hotplug is not available in this VMM"

/* Running, not paused, and a backend that plugs. */
static bool may_plug(struct api *a, struct reply *r)
{
	if (!after_start(a, r))
		return false;
	if (a->state == API_PAUSED) {
		fault(r, 400,
		      "The VM is paused: resume it before adding or removing a device (the guest "
		      "must see the change).",
		      NULL);
		return false;
	}
	if (!a->ops->hotplug_add || !a->ops->hotplug_remove) {
		fault(r, 400, NO_HOTPLUG, NULL);
		return false;
	}
	return true;
}

static void add(struct api *a, const struct api_hotplug_add *req, struct reply *r)
{
	char id[API_HOTPLUG_ID_MAX];
	int slot = -1;
	if (!may_plug(a, r))
		return;
	int err = a->ops->hotplug_add(a->ctx, req, id, &slot, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot add the device");
		return;
	}
	r->doc = api_hotplug_info_json(id, slot);
	r->status = 200;
}

/* PUT on Cloud Hypervisor's add route `path` of a device (device_api_ext.add_route): the body
 * parsed by the device's hook into the request (400 when it does not parse), then added. */
static void put_add(struct api *a, const char *path, const json_t *body, struct reply *r)
{
	struct api_hotplug_add req;
	int err = api_hotplug_route_parse(path, body, &req, r->err, sizeof(r->err));
	if (err)
		r->status = err == -ENOMEM ? 500 : 400;
	else
		add(a, &req, r);
	api_hotplug_add_free(&req);
}

static void put_remove(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_hotplug_remove req;
	(void)id;
	if (api_hotplug_remove_parse(body, &req, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!may_plug(a, r))
		return;
	int err = a->ops->hotplug_remove(a->ctx, &req, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot remove the device");
	else
		r->status = 204;
}

const struct route api_routes_hotplug[] = {
    {"/vmm/vm.remove-device", false, {NULL, put_remove, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};

/* Cloud Hypervisor's add routes are the devices' (device_table_add_route()): one route whose
 * handler is given the path as its id. */
static const struct route add_route = {"/vmm/vm.add-", false, {NULL, put_add, NULL}, false};

const struct route *api_hotplug_add_route(const char *path)
{
	return device_table_add_route(path) ? &add_route : NULL;
}

/* ---- PUT /vmm/vm.add-device on a running VM: a passed-through device hot-added (before
 * InstanceStart the same route configures one, vmm/descriptors/dev_vfio.c). Cloud Hypervisor's
 * answer: 200 with PciDeviceInfo. ---- */

static bool put_add_device(struct api *a, const struct device_desc *d, const json_t *body,
			   struct reply *r)
{
	struct api_hotplug_add req = {0};
	const struct device_desc *owner;
	struct opt_items items;
	json_t *doc = NULL;
	/* the body checked by the device's own hook, as before InstanceStart */
	if (api_devices_try(&a->model, d, NULL, body, &doc, r->err, sizeof(r->err))) {
		r->status = 400;
		return true;
	}
	int err = device_record_of_doc(d, doc, &items, &owner);
	json_decref(doc);
	if (!err) {
		err = api_hotplug_from_record(d, &items, &req, r->err, sizeof(r->err));
		opt_items_free(&items);
	}
	if (err)
		fault(r, 500, "out of memory", NULL);
	else
		add(a, &req, r);
	api_hotplug_add_free(&req);
	return true;
}

/* ---- Firecracker's routes: PUT /drives/{id}, /network-interfaces/{id}, /pmem/{id} after
 * InstanceStart, and DELETE on them ---- */

bool api_hotplug_put_device(struct api *a, const struct device_desc *d, const char *id,
			    const json_t *body, struct reply *r)
{
	struct api_hotplug_add req = {0};
	const struct device_desc *owner;
	struct opt_items items;
	json_t *doc = NULL;

	if (a->state != API_NOT_STARTED && a->state != API_STOPPING && d->api->ext &&
	    d->api->ext->running_put_adds)
		return put_add_device(a, d, body, r);
	if (a->state == API_NOT_STARTED || a->state == API_STOPPING || !d->api->to_items ||
	    !d->api->ext || !d->api->ext->fc_add_check)
		return false; /* not a device Firecracker hot-adds: the caller's answer stands */
	/* the body checked by the device's own hook, as before InstanceStart, and made into its
	 * record (one description of the device for the command line, the config file and the
	 * API) */
	if (!id || api_devices_try(&a->model, d, id, body, &doc, r->err, sizeof(r->err))) {
		if (!r->err[0])
			snprintf(r->err, sizeof(r->err), "the device's id is missing");
		r->status = 400;
		return true;
	}
	int err = device_record_of_doc(d, doc, &items, &owner);
	json_decref(doc);
	if (!err)
		/* a record of another descriptor than the section's: a drive's vhost-user one */
		err = api_hotplug_from_items(d->api->section, id, &items, owner != d, &req, r->err,
					     sizeof(r->err));
	opt_items_free(&items);
	if (err) {
		if (err == -ENOMEM)
			snprintf(r->err, sizeof(r->err), "out of memory");
		r->status = err == -ENOMEM ? 500 : 400;
		api_hotplug_add_free(&req);
		return true;
	}
	add(a, &req, r);
	api_hotplug_add_free(&req);
	if (r->status == 200) { /* Firecracker answers 204, without a document */
		json_decref(r->doc);
		r->doc = NULL;
		r->status = 204;
	}
	return true;
}

void api_hotplug_delete(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_hotplug_remove req = {0};
	(void)body; /* none: the router refuses a DELETE with one */
	if (!after_start(a, r))
		return;
	if (api_json_check_id(id, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	snprintf(req.id, sizeof(req.id), "%s", id);
	if (!may_plug(a, r))
		return;
	int err = a->ops->hotplug_remove(a->ctx, &req, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot remove the device");
	else
		r->status = 204;
}

/* ---- PATCH on the {id} route of a hot-added device (PATCH /drives/{id},
 * /network-interfaces/{id}): the descriptor's hot_check says what changes ---- */

bool api_hotplug_patch(struct api *a, const struct device_desc *d, const char *id,
		       const json_t *body, struct reply *r)
{
	const struct device_patch_hooks *h = d->api->ext ? d->api->ext->patch : NULL;
	struct device_patch p = {0};
	struct reply mine = {0};
	const char *failed = "";
	int err = 0;

	if (!h || !h->hot_check || !a->ops->hotplug_live_set ||
	    (a->state != API_RUNNING && a->state != API_PAUSED))
		return false;
	if (h->hot_check(id, body, &p, mine.err, sizeof(mine.err)))
		err = -EINVAL;
	for (int i = 0; !err && i < p.n; i++) {
		failed = p.step[i].failed;
		err = a->ops->hotplug_live_set(a->ctx, d, id, &p.step[i].set, mine.err,
					       sizeof(mine.err));
	}
	if (err == -ENOENT)
		return false; /* not a hot-added device's id: the router's own answer stands */
	*r = mine;
	if (err)
		backend_fault(r, err, failed);
	else
		r->status = 204;
	return true;
}
