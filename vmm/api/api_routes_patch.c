/* PATCH and DELETE on a device's {id} route (Firecracker's PATCH /drives/{id},
 * /network-interfaces/{id}, /pmem/{id}, and its hot-unplug): one handler for every device
 * whose descriptor has PATCH hooks (device_api_ext.patch) or Firecracker's hot-add
 * (device_api_ext.fc_add_check). The descriptor checks the body against the model's document;
 * each change it asks for goes through the backend to the device's live hook (struct
 * device_live) and is written into the document. This file names no device (issue 65). */
#include <errno.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"

static const struct device_patch_hooks *hooks(const struct device_desc *d)
{
	return d && d->api && d->api->ext ? d->api->ext->patch : NULL;
}

/* The model's document of `d` whose id_field is `id` (borrowed) and its place in the section,
 * or NULL and -1. */
static json_t *find_doc(const struct api_model *m, const struct device_desc *d, const char *id,
			int *index)
{
	const json_t *list = api_devices_doc(m, d->api->section);
	size_t i;
	json_t *doc;

	json_array_foreach(list, i, doc)
	{
		if (!strcmp(api_json_str(doc, d->api->id_field, ""), id)) {
			*index = (int)i;
			return doc;
		}
	}
	*index = -1;
	return NULL;
}

/* Step `st` made on the running device (instance `index`) and written into `doc`: false when
 * it failed (r says why). */
static bool make_step(struct api *a, const struct device_desc *d, int index, json_t *doc,
		      struct device_patch_step *st, struct reply *r)
{
	if (!a->ops->live_set && st->unavailable) {
		fault(r, 400, "%s", st->unavailable);
		return false;
	}
	if (api_live_set(a, d, index, &st->set, st->failed, r))
		return false;
	hooks(d)->record(doc, &st->set);
	return true;
}

static void patch(struct api *a, const struct device_desc *d, const char *id, const json_t *body,
		  struct reply *r)
{
	const struct device_patch_hooks *h = hooks(d);
	struct device_patch p = {0};
	int index;
	json_t *doc = find_doc(&a->model, d, id, &index);
	int err = h->check(doc, id, body, &p, r->err, sizeof(r->err));
	bool late = err == -ENOENT && h->id_after_state; /* an unknown id, told after the state */

	if (err && api_hotplug_patch(a, d, id, body, r))
		return; /* a hot-added device's (api_routes_hotplug.c) */
	if (err && !late) {
		r->status = 400; /* an unknown id too: Firecracker has no 404 */
		return;
	}
	if (!after_start(a, r))
		return;
	if (late || h->changes(id, body, &p, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	int at = d->api->ext->live_by_doc ? index : 0;
	for (int i = 0; i < p.n; i++)
		if (!make_step(a, d, at, doc, &p.step[i], r))
			return;
	r->status = 204;
}

/* The handlers of the route below, given the request's path as their id. */
static void patch_device(struct api *a, const char *path, const json_t *body, struct reply *r)
{
	const char *id = NULL;
	const struct device_desc *d = device_table_route(path, &id);
	patch(a, d, id, body, r);
}

static void delete_device(struct api *a, const char *path, const json_t *body, struct reply *r)
{
	const char *id = NULL;
	(void)device_table_route(path, &id);
	api_hotplug_delete(a, id, body, r);
}

static const struct route patch_and_delete = {
    "", true, {NULL, NULL, patch_device, delete_device}, false};
static const struct route patch_only = {"", true, {NULL, NULL, patch_device, NULL}, false};
static const struct route delete_only = {"", true, {NULL, NULL, NULL, delete_device}, false};

const struct route *api_device_route(const struct device_desc *d, const char *id)
{
	const struct device_api_ext *x = d && d->api ? d->api->ext : NULL;
	if (!x || !id) /* a route without an {id} */
		return NULL;
	if (x->patch && x->fc_add_check)
		return &patch_and_delete;
	if (x->patch)
		return &patch_only;
	return x->fc_add_check ? &delete_only : NULL;
}
