/* The running devices: GET|PATCH /balloon and /balloon/statistics, GET|PATCH /hotplug/memory
 * (a PATCH on a device's {id} route, /drives/{id} and the others, is api_routes_patch.c's).
 * The bodies are checked by the device's hook and the model's documents kept; the change itself
 * goes through the backend to the device's descriptor (struct device_live). See api_router.h. */
#include <errno.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_json.h"

/* The device whose config file section is `section`, with live hooks (the table's). */
static const struct device_desc *live_device(const char *section)
{
	const struct device_desc *d = device_table_section(section);
	return d && d->api->live ? d : NULL;
}

int api_live_set(struct api *a, const struct device_desc *d, int index, struct device_live_set *s,
		 const char *what, struct reply *r)
{
	int err = d && d->api->live && a->ops->live_set
		      ? a->ops->live_set(a->ctx, d, index, s, r->err, sizeof(r->err))
		      : -ENODEV;
	if (err)
		backend_fault(r, err, what);
	return err;
}

/* ---- the balloon and memory hotplug (Firecracker's bodies): each a device's live route ---- */

/* How the router speaks of one live route: its device's section and the route's view
 * (struct device_live), and its messages. */
struct live_route {
	const char *section, *view;
	const char *none;     /* the VM has no such device */
	const char *reading;  /* a failed read */
	const char *changing; /* a failed change */
	const char *off;      /* the view is off (-ENODATA) */
	/* The change shows in the model's document (GET /vm/config): the balloon's members
	 * are its PUT's; virtio-mem's requested size is not */
	bool in_model;
	/* Whether the change fits the device as its document shows it (NULL: the device
	 * decides); false with the reply filled. */
	bool (*fits)(const json_t *doc, uint64_t num, struct reply *r);
};

static bool memhp_fits(const json_t *doc, uint64_t mib, struct reply *r);

#define NO_BALLOON "No balloon device configured."

static const struct live_route balloon = {.section = "balloon",
					  .view = "",
					  .none = NO_BALLOON,
					  .reading = "cannot read the balloon",
					  .changing = "cannot change the balloon's target",
					  .in_model = true};
static const struct live_route balloon_stats = {
    .section = "balloon",
    .view = "statistics",
    .none = NO_BALLOON,
    .reading = "cannot read the balloon",
    .changing = "cannot change the statistics interval",
    .off = "Statistics are not enabled: stats_polling_interval_s is 0.",
    .in_model = true};
static const struct live_route memhp = {.section = "memory-hotplug",
					.view = "",
					.none = "No memory hotplug device configured.",
					.reading = "cannot read the memory hotplug device",
					.changing = "cannot change the requested size",
					.fits = memhp_fits};

/* The running device's document for `view` into *doc (NULL: only whether there is one); false
 * (reply filled) when there is none. Out of memory leaves *doc NULL (the router answers 500). */
static bool live_doc(struct api *a, const struct live_route *lr, const char *view, json_t **doc,
		     struct reply *r)
{
	const struct device_desc *d = live_device(lr->section);
	json_t *j = NULL;
	int err = a->ops->live_get && d ? a->ops->live_get(a->ctx, d, view, &j) : -ENODEV;

	if (err == -ENODEV)
		fault(r, 400, lr->none, NULL);
	else if (err == -ENODATA && lr->off)
		fault(r, 400, lr->off, NULL);
	else if (err && err != -ENOMEM)
		backend_fault(r, err, lr->reading);
	if (doc && !err)
		*doc = j;
	else
		json_decref(j);
	return !err || err == -ENOMEM;
}

/* GET: before start the document PUT left (none: 400), after it the running device's. */
static void get_live(struct api *a, const struct live_route *lr, struct reply *r)
{
	if (a->state != API_NOT_STARTED) {
		live_doc(a, lr, lr->view, &r->doc, r);
		return;
	}
	const json_t *put = api_devices_doc(&a->model, lr->section);
	if (put)
		r->doc = json_deep_copy(put);
	else
		fault(r, 400, lr->none, NULL);
}

/* A new requested size must be whole blocks of the region, as GET shows it. */
static bool memhp_fits(const json_t *doc, uint64_t mib, struct reply *r)
{
	if (!doc) {
		fault(r, 500, "out of memory", NULL);
		return false;
	}
	uint64_t total = api_json_uint(doc, "total_size_mib", 0);
	uint64_t block = api_json_uint(doc, "block_size_mib", 0);

	if (mib <= total && block && mib % block == 0)
		return true;
	snprintf(r->err, sizeof(r->err),
		 "requested_size_mib must be a multiple of block_size_mib (%llu) and at most "
		 "total_size_mib (%llu)",
		 (unsigned long long)block, (unsigned long long)total);
	r->status = 400;
	return false;
}

/* PATCH: the body through the device's check, then the running device changes. */
static void patch_live(struct api *a, const struct live_route *lr, const json_t *body,
		       struct reply *r)
{
	const struct device_desc *d = live_device(lr->section);
	struct device_live_set s;
	json_t *doc = NULL;

	if (!d) {
		fault(r, 400, lr->none, NULL);
		return;
	}
	if (d->api->live->check(lr->view, body, &s, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r) || !live_doc(a, lr, "", &doc, r))
		return;
	bool ok = !lr->fits || lr->fits(doc, s.num, r);
	json_decref(doc);
	if (!ok || api_live_set(a, d, 0, &s, lr->changing, r))
		return;
	if (lr->in_model)
		api_devices_doc_set(&a->model, lr->section, s.member,
				    json_integer((json_int_t)s.num));
	r->status = 204;
}

static void get_balloon(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	get_live(a, &balloon, r);
}

static void patch_balloon(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	patch_live(a, &balloon, body, r);
}

static void get_balloon_stats(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	if (after_start(a, r))
		get_live(a, &balloon_stats, r);
}

static void patch_balloon_stats(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	patch_live(a, &balloon_stats, body, r);
}

static void get_memhp(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	if (after_start(a, r)) /* a status: Firecracker has none before start */
		get_live(a, &memhp, r);
}

/* A new requested size: the guest is asked to plug or unplug; the answer does not wait for it
 * (GET shows plugged_size_mib catching up, or not, when the guest does not answer). */
static void patch_memhp(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	patch_live(a, &memhp, body, r);
}

const struct route api_routes_devices[] = {
    {"/balloon", false, {get_balloon, NULL, patch_balloon}, false},
    {"/balloon/statistics", false, {get_balloon_stats, NULL, patch_balloon_stats}, false},
    {"/hotplug/memory", false, {get_memhp, NULL, patch_memhp}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
