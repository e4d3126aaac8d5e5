/* The running devices: PATCH /drives/{id} and /network-interfaces/{id} (their PUTs are their
 * descriptors', through api_router.c), GET|PATCH /balloon and /balloon/statistics, GET|PATCH
 * /hotplug/memory. The bodies are checked here and the model's documents kept; the change itself
 * goes through the backend to the device's descriptor (struct device_live). See api_router.h. */
#include <errno.h>

#include "vmm/api/api_balloon.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/api_memhp.h"
#include "vmm/api/api_router_internal.h"

/* The rate_limiter of a checked PATCH /drives body, applied before any new path: the buckets
 * it names change, the others stay (Firecracker's PATCH). False when it failed (r says why). */
static bool patch_drive_rate_limiter(struct api *a, int index, const json_t *body, struct reply *r)
{
	struct rate_limiter_patch p;
	struct rate_limiter_cfg now;
	if (!api_model_patch_drive_rate_limiter(body, &p))
		return true; /* no bucket named: nothing to change */
	if (!a->ops->patch_drive_rate_limiter) {
		fault(r, 400, "rate limiters cannot be changed here", NULL);
		return false;
	}
	int err = a->ops->patch_drive_rate_limiter(a->ctx, index, &p, &now, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot update the rate limiter");
		return false;
	}
	api_model_set_drive_limits(&a->model, index, &now);
	return true;
}

static void patch_drive(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	int index;
	const char *path;
	int err =
	    api_model_check_patch_drive(&a->model, id, body, &index, &path, r->err, sizeof(r->err));
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
	err = a->ops->patch_drive(a->ctx, index, path, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot update the drive");
		return;
	}
	api_model_set_drive_path(&a->model, index, path);
	r->status = 204;
}

/* PATCH /network-interfaces/{id}: new rx / tx rate limits for a running NIC; the directions
 * and buckets the body does not name stay as they are. */
static void patch_nic(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct rate_limiter_patch rx, tx;
	int index;
	int err = api_model_check_patch_nic(&a->model, id, body, &index, &rx, &tx, r->err,
					    sizeof(r->err));
	if (err) {
		r->status = 400; /* an unknown id too: Firecracker has no 404 */
		return;
	}
	if (!after_start(a, r))
		return;
	r->status = 204;
	if (!rate_limiter_patch_any(&rx) && !rate_limiter_patch_any(&tx))
		return; /* nothing to change */
	if (!a->ops->patch_nic_rate_limiters) {
		fault(r, 400, "rate limiters cannot be changed here", NULL);
		return;
	}
	struct rate_limiter_cfg rx_now, tx_now;
	err = a->ops->patch_nic_rate_limiters(a->ctx, index, &rx, &tx, &rx_now, &tx_now, r->err,
					      sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot update the rate limiters");
		return;
	}
	api_model_set_nic_limits(&a->model, index, &rx_now, &tx_now);
}

/* ---- the balloon (Firecracker's bodies; api_balloon.h) ---- */

#define NO_BALLOON "No balloon device configured."

/* The running VM's balloon into *info; false (reply filled) when there is none. */
static bool live_balloon(struct api *a, struct virtio_balloon_info *info, struct reply *r)
{
	int err = a->ops->balloon_info ? a->ops->balloon_info(a->ctx, info) : -ENODEV;

	if (err == -ENODEV)
		fault(r, 400, NO_BALLOON, NULL);
	else if (err)
		backend_fault(r, err, "cannot read the balloon");
	return err == 0;
}

static void get_balloon(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct virtio_balloon_info info;

	(void)id, (void)body;
	if (a->state == API_NOT_STARTED) {
		const json_t *put = api_devices_doc(&a->model, "balloon");
		if (put)
			r->doc = json_deep_copy(put);
		else
			fault(r, 400, NO_BALLOON, NULL);
	} else if (live_balloon(a, &info, r)) {
		r->doc = api_balloon_json(&info);
	}
}

static void patch_balloon(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct virtio_balloon_info info;
	uint64_t mib;
	int err;

	(void)id;
	if (api_balloon_check_patch(body, &mib, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r) || !live_balloon(a, &info, r))
		return;
	err = a->ops->balloon_set_target(a->ctx, mib, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot change the balloon's target");
		return;
	}
	api_devices_doc_set(&a->model, "balloon", "amount_mib", json_integer((json_int_t)mib));
	r->status = 204;
}

static void get_balloon_stats(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct virtio_balloon_info info;

	(void)id, (void)body;
	if (!after_start(a, r) || !live_balloon(a, &info, r))
		return;
	if (!info.stats_interval_s)
		fault(r, 400, "Statistics are not enabled: stats_polling_interval_s is 0.", NULL);
	else
		r->doc = api_balloon_stats_json(&info);
}

static void patch_balloon_stats(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct virtio_balloon_info info;
	uint32_t s;
	int err;

	(void)id;
	if (api_balloon_check_patch_stats(body, &s, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r) || !live_balloon(a, &info, r))
		return;
	err = a->ops->balloon_set_stats(a->ctx, s, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot change the statistics interval");
		return;
	}
	api_devices_doc_set(&a->model, "balloon", "stats_polling_interval_s", json_integer(s));
	r->status = 204;
}

/* ---- memory hotplug (Firecracker's bodies; api_memhp.h) ---- */

#define NO_MEMHP "No memory hotplug device configured."

/* The running VM's virtio-mem into *info; false (reply filled) when there is none. */
static bool live_memhp(struct api *a, struct virtio_mem_info *info, struct reply *r)
{
	int err = a->ops->memhp_info ? a->ops->memhp_info(a->ctx, info) : -ENODEV;

	if (err == -ENODEV)
		fault(r, 400, NO_MEMHP, NULL);
	else if (err)
		backend_fault(r, err, "cannot read the memory hotplug device");
	return err == 0;
}

static void get_memhp(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct virtio_mem_info info;

	(void)id, (void)body;
	if (a->state == API_NOT_STARTED) {
		const json_t *put = api_devices_doc(&a->model, "memory-hotplug");
		if (put)
			r->doc = json_deep_copy(put);
		else
			fault(r, 400, NO_MEMHP, NULL);
	} else if (live_memhp(a, &info, r)) {
		r->doc = api_memhp_json(&info);
	}
}

/* A new requested size: the guest is asked to plug or unplug; the answer does not wait for it
 * (GET shows plugged_size_mib catching up, or not, when the guest does not answer). */
static void patch_memhp(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct virtio_mem_info info;
	uint64_t mib;
	int err;

	(void)id;
	if (api_memhp_check_patch(body, &mib, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r) || !live_memhp(a, &info, r))
		return;
	if (mib > info.region_size >> 20 || (mib << 20) % info.block_size) {
		snprintf(r->err, sizeof(r->err),
			 "requested_size_mib must be a multiple of block_size_mib (%llu) and at "
			 "most total_size_mib (%llu)",
			 (unsigned long long)(info.block_size >> 20),
			 (unsigned long long)(info.region_size >> 20));
		r->status = 400;
		return;
	}
	err = a->ops->memhp_set_requested(a->ctx, mib, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot change the requested size");
	else
		r->status = 204;
}

const struct route api_routes_devices[] = {
    {"/drives/", true, {NULL, NULL, patch_drive}, false},	    /* its PUT: the device's */
    {"/network-interfaces/", true, {NULL, NULL, patch_nic}, false}, /* its PUT: the device's */
    {"/balloon", false, {get_balloon, NULL, patch_balloon}, false},
    {"/balloon/statistics", false, {get_balloon_stats, NULL, patch_balloon_stats}, false},
    {"/hotplug/memory", false, {get_memhp, NULL, patch_memhp}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
