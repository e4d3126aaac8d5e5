/* The running devices: PATCH /drives/{id} and /network-interfaces/{id} (their PUTs are their
 * descriptors', through api_router.c), GET|PATCH /balloon and /balloon/statistics, GET|PATCH
 * /hotplug/memory. The bodies are checked here and the model's documents kept; the change itself
 * goes through the backend to the device's descriptor (struct device_live). See api_router.h. */
#include <errno.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"

/* The device whose config file section is `section`, with live hooks (the table's). */
static const struct device_desc *live_device(const char *section)
{
	const struct device_desc *d = device_table_section(section);
	return d && d->api->live ? d : NULL;
}

/* A live change through the backend (api_backend_ops.live_set): 0 or -errno, r filled with
 * `what` failed. */
static int live_set(struct api *a, const char *section, int index, struct device_live_set *s,
		    const char *what, struct reply *r)
{
	const struct device_desc *d = live_device(section);
	int err = d && a->ops->live_set
		      ? a->ops->live_set(a->ctx, d, index, s, r->err, sizeof(r->err))
		      : -ENODEV;
	if (err)
		backend_fault(r, err, what);
	return err;
}

/* The rate_limiter of a checked PATCH /drives body, applied before any new path: the buckets
 * it names change, the others stay (Firecracker's PATCH). False when it failed (r says why). */
static bool patch_drive_rate_limiter(struct api *a, int index, const json_t *body, struct reply *r)
{
	struct rate_limiter_patch p;
	struct rate_limiter_cfg now;
	if (!api_model_patch_drive_rate_limiter(body, &p))
		return true; /* no bucket named: nothing to change */
	struct device_live_set s = {.member = "rate_limiter", .rl = {&p}, .rl_now = {&now}};
	if (!a->ops->live_set) {
		fault(r, 400, "rate limiters cannot be changed here", NULL);
		return false;
	}
	if (live_set(a, "drives", index, &s, "cannot update the rate limiter", r))
		return false;
	api_model_set_drive_limits(&a->model, index, &now);
	return true;
}

static void patch_drive(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	int index;
	const char *path;
	int err =
	    api_model_check_patch_drive(&a->model, id, body, &index, &path, r->err, sizeof(r->err));
	if (err && api_hotplug_patch(a, id, body, false, r))
		return; /* a hot-added disk (vmm/api/api_routes_hotplug.c) */
	if (err) {
		r->status = 400; /* an unknown id too: Firecracker has no 404 */
		return;
	}
	if (!after_start(a, r))
		return;
	if (!patch_drive_rate_limiter(a, index, body, r) || !path) {
		if (!r->status)
			r->status = 204; /* nothing (else) to change */
		return;
	}
	struct device_live_set s = {.member = "path_on_host", .str = path};
	if (live_set(a, "drives", index, &s, "cannot update the drive", r))
		return;
	api_model_set_drive_path(&a->model, index, path);
	r->status = 204;
}

/* The egress policy of a checked PATCH /network-interfaces body, applied before the limits: the
 * rules replace the NIC's whole policy (the body's syntax is PUT's). False when it failed (r
 * says why: a rule that does not parse is a 400, the old rules stay). */
static bool patch_nic_egress(struct api *a, int index, const json_t *body, struct reply *r)
{
	const struct egress_rules *rules; /* the descriptor's (device_api_ext.patch_egress) */
	bool given;

	if (api_model_patch_nic_egress(body, &rules, &given, r->err, sizeof(r->err))) {
		r->status = 400;
		return false;
	}
	if (!given)
		return true;
	struct device_live_set s = {.member = "egress", .egress = rules};
	if (!a->ops->live_set) {
		fault(r, 400, "the egress policy cannot be changed here", NULL);
		return false;
	}
	if (live_set(a, "network-interfaces", index, &s, "cannot replace the egress policy", r))
		return false;
	api_model_set_nic_egress(&a->model, index, rules);
	return true;
}

/* PATCH /network-interfaces/{id}: a new egress policy, new rx / tx rate limits for a running
 * NIC; the directions and buckets the body does not name stay as they are. */
static void patch_nic(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct rate_limiter_patch rx, tx;
	int index;
	int err = api_model_check_patch_nic(&a->model, id, body, &index, &rx, &tx, r->err,
					    sizeof(r->err));
	if (err && api_hotplug_patch(a, id, body, true, r))
		return; /* a hot-added NIC (vmm/api/api_routes_hotplug.c) */
	if (err) {
		r->status = 400; /* an unknown id too: Firecracker has no 404 */
		return;
	}
	if (!after_start(a, r) || !patch_nic_egress(a, index, body, r))
		return;
	r->status = 204;
	if (!rate_limiter_patch_any(&rx) && !rate_limiter_patch_any(&tx))
		return; /* nothing (else) to change */
	if (!a->ops->live_set) {
		fault(r, 400, "rate limiters cannot be changed here", NULL);
		return;
	}
	struct rate_limiter_cfg rx_now, tx_now;
	struct device_live_set s = {
	    .member = "rate_limiters", .rl = {&rx, &tx}, .rl_now = {&rx_now, &tx_now}};
	if (live_set(a, "network-interfaces", index, &s, "cannot update the rate limiters", r))
		return;
	api_model_set_nic_limits(&a->model, index, &rx_now, &tx_now);
}

/* The model's pmem document with this id (borrowed), or NULL. */
static json_t *pmem_doc(const struct api_model *m, const char *id)
{
	const json_t *list = api_devices_doc(m, "pmem");
	size_t i;
	json_t *doc;

	json_array_foreach(list, i, doc)
	{
		if (!strcmp(api_json_str(doc, "id", ""), id))
			return doc;
	}
	return NULL;
}

/* PATCH /pmem/{id} (Firecracker's PmemDeviceUpdateConfig {"id", "rate_limiter"?}): new limits
 * for a running device's FLUSH requests; the buckets the body does not name stay. */
static void patch_pmem(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"id", API_JSON_STRING, true},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	struct rate_limiter_patch p = {0};
	struct rate_limiter_cfg now;
	json_t *doc;

	if (api_body_check_named(body, id, "id", f, r->err, sizeof(r->err)) ||
	    api_rate_limiter_parse_patch(json_object_get(body, "rate_limiter"), "rate_limiter", &p,
					 r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r))
		return;
	doc = pmem_doc(&a->model, id);
	if (!doc) {
		fault(r, 400, "no pmem device with id `%s`", id);
		return;
	}
	r->status = 204;
	if (!rate_limiter_patch_any(&p))
		return; /* nothing to change */
	struct device_live_set s = {
	    .member = "rate_limiter", .str = id, .rl = {&p}, .rl_now = {&now}};
	r->status = 0;
	if (live_set(a, "pmem", 0, &s, "cannot update the rate limiter", r))
		return;
	json_t *v = api_rate_limiter_json(&now);
	json_object_del(doc, "rate_limiter");
	if (v)
		json_object_set_new(doc, "rate_limiter", v);
	r->status = 204;
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
	if (!ok || live_set(a, lr->section, 0, &s, lr->changing, r))
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
    /* their PUT: the device's (after InstanceStart, Firecracker's hot-add); DELETE: its
     * hot-unplug (api_routes_hotplug.c) */
    {"/drives/", true, {NULL, NULL, patch_drive, api_hotplug_delete}, false},
    {"/network-interfaces/", true, {NULL, NULL, patch_nic, api_hotplug_delete}, false},
    {"/pmem/", true, {NULL, NULL, patch_pmem, api_hotplug_delete}, false},
    {"/balloon", false, {get_balloon, NULL, patch_balloon}, false},
    {"/balloon/statistics", false, {get_balloon_stats, NULL, patch_balloon_stats}, false},
    {"/hotplug/memory", false, {get_memhp, NULL, patch_memhp}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
