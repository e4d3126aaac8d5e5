/* What the API's route files share (api_router.c dispatches; api_routes_vm.c, api_routes_devices.c,
 * api_routes_snapshot.c and api_routes_mmds.c each serve one group of resources, with a table
 * of their routes). Private to vmm/api/api_router*.c and api_routes_*.c. */
#ifndef VMM_API_ROUTER_INTERNAL_H
#define VMM_API_ROUTER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/api/api_router.h"

#define NOT_AFTER_START	 "The requested operation is not supported after starting the microVM."
#define NOT_BEFORE_START "The requested operation is not supported before starting the microVM."
#define STOPPING	 "The microVM is stopping."

enum method { M_GET, M_PUT, M_PATCH, M_DELETE, M_COUNT, M_OTHER = M_COUNT };

/* What a handler hands back: a status, and a JSON document (200) or a fault message. */
struct reply {
	unsigned status;
	json_t *doc;
	char err[API_FAULT_MAX];
};

typedef void (*handler_fn)(struct api *a, const char *id, const json_t *body, struct reply *r);

struct route {
	const char *path; /* exact, or a prefix ending in '/' followed by an id */
	bool has_id;
	handler_fn fn[M_COUNT];
	/* The body's nulls are data, not absent fields (the MMDS document and its merge patches,
	 * RFC 7396: null removes a member): any JSON value is taken, nulls kept. */
	bool keeps_nulls;
};

/* PATCH on device d's {id} route whose id the model does not know: a hot-added device's
 * changes (device_patch_hooks.hot_check; api_routes_hotplug.c). True when r holds the answer;
 * false when no hot-added device of d's has that id (the caller answers). */
struct device_desc;
bool api_hotplug_patch(struct api *a, const struct device_desc *d, const char *id,
		       const json_t *body, struct reply *r);

/* The route of PATCH and DELETE on device d's {id} route (`id` the request's, NULL: the route
 * takes none), whose handlers take the path as their id (api_routes_patch.c), or NULL: the
 * device has neither (device_api_ext.patch, fc_add_check). */
const struct route *api_device_route(const struct device_desc *d, const char *id);

struct device_live_set;
/* A live change of device d's instance `index` through the backend (api_backend_ops.live_set):
 * 0 or -errno, r filled with `what` failed (api_routes_devices.c). */
int api_live_set(struct api *a, const struct device_desc *d, int index, struct device_live_set *s,
		 const char *what, struct reply *r);

/* PUT on device d's route after InstanceStart: Firecracker's hot-add of a drive, a NIC or a pmem
 * device (api_routes_hotplug.c). True when r holds the answer; false for a device that is not
 * hot-added this way (the caller answers). */
struct device_desc;
bool api_hotplug_put_device(struct api *a, const struct device_desc *d, const char *id,
			    const json_t *body, struct reply *r);
/* DELETE /drives/{id}, /network-interfaces/{id}, /pmem/{id}: Firecracker's hot-unplug. */
void api_hotplug_delete(struct api *a, const char *id, const json_t *body, struct reply *r);

/* Each route file's table, ending with a {NULL} entry. */
/* The route of Cloud Hypervisor's PUT /vmm/vm.add-<device> when `path` is a device's
 * (device_api_ext.add_route; its handler takes the path as its id), or NULL. */
const struct route *api_hotplug_add_route(const char *path);

extern const struct route api_routes_vm[], api_routes_devices[], api_routes_snapshot[],
    api_routes_mmds[], api_routes_hotplug[], api_routes_fork[], api_routes_resize[];

static inline void fault(struct reply *r, unsigned status, const char *fmt, const char *arg)
{
	r->status = status;
	snprintf(r->err, sizeof(r->err), fmt, arg ? arg : "");
}

/* A backend failure: the message it gave, else the errno text. Firecracker answers every
 * failed action (a start that cannot open its kernel, a VMM that ran out of memory) with 400,
 * and so do we: a client tells the cases apart by the fault_message. */
static inline void backend_fault(struct reply *r, int err, const char *what)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s: %s", what, strerror(-err));
	r->status = 400;
}

/* Pre-boot configuration only. */
static inline bool before_start(struct api *a, struct reply *r)
{
	if (a->state == API_NOT_STARTED)
		return true;
	fault(r, 400, NOT_AFTER_START, NULL);
	return false;
}

/* A running (or paused) VM only. */
static inline bool after_start(struct api *a, struct reply *r)
{
	if (a->state == API_RUNNING || a->state == API_PAUSED)
		return true;
	fault(r, 400, a->state == API_STOPPING ? STOPPING : NOT_BEFORE_START, NULL);
	return false;
}

static inline void model_result(struct reply *r, int err)
{
	r->status = err ? 400 : 204;
}

/* A host file check of the backend's (check_boot_source, check_drive) failed: 400 with its
 * message, which names the path. */
static inline bool files_ok(struct reply *r, int err)
{
	if (err)
		backend_fault(r, err, "cannot use the file");
	return !err;
}

#endif
