/* The API's routes and its lifecycle state machine. See api_router.h. */
#include "vmm/api/api_router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/api_nulls.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_json.h"

/* Every route, by group. */
static const struct route *const route_tables[] = {
    api_routes_vm,	api_routes_devices, api_routes_snapshot, api_routes_mmds,
    api_routes_hotplug, api_routes_fork,    api_routes_resize};

const char *api_state_name(enum api_state s)
{
	switch (s) {
	case API_NOT_STARTED:
		return "Not started";
	case API_RUNNING:
		return "Running";
	case API_PAUSED:
		return "Paused";
	case API_STOPPING:
		return "Stopping";
	}
	return "?";
}

/* Firecracker's endpoints this VMM does not have (yet): a 400 that says so, for any method. */
static const struct {
	const char *path; /* exact, or a prefix ending in '/' */
	const char *why;
} missing[] = {
    {"/balloon/hinting/", "Free page hinting is not supported (free_page_reporting is)."},
};

static const char *missing_reason(const char *path)
{
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		size_t n = strlen(missing[i].path);
		bool prefix = missing[i].path[n - 1] == '/';
		if (prefix ? !strncmp(path, missing[i].path, n) : !strcmp(path, missing[i].path))
			return missing[i].why;
	}
	return NULL;
}

/* Any JSON value, nulls kept (struct route's keeps_nulls). */
static json_t *parse_data_body(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!v)
		snprintf(err, errlen, "malformed JSON body: %s (line %d, column %d)", je.text,
			 je.line, je.column);
	return v;
}

/* A PUT or PATCH body as the route takes it: any JSON value with its nulls (keeps_nulls), else
 * with null meaning absent (but for a member whose null is a value), once no field that is not
 * optional is null (api_nulls.h). NULL with the reason in err. */
static json_t *parse_body(const char *method, const char *path, bool keeps_nulls, const char *body,
			  size_t len, char *err, size_t errlen)
{
	if (keeps_nulls)
		return parse_data_body(body, len, err, errlen);
	json_t *doc = api_json_parse_raw(body, len, err, errlen);
	if (!doc)
		return NULL;
	if (api_nulls_check_request(method, path, doc, err, errlen)) {
		json_decref(doc);
		return NULL;
	}
	const char *kept = api_nulls_kept(method, path);
	bool keep = kept && json_is_null(json_object_get(doc, kept));
	api_json_drop_nulls(doc);
	if (keep)
		json_object_set_new(doc, kept, json_null());
	return doc;
}

static enum method parse_method(const char *m)
{
	if (!strcmp(m, "GET"))
		return M_GET;
	if (!strcmp(m, "PUT"))
		return M_PUT;
	if (!strcmp(m, "PATCH"))
		return M_PATCH;
	if (!strcmp(m, "DELETE"))
		return M_DELETE;
	return M_OTHER;
}

/* The route for `path`, and its id (pointing into `path`) for routes that take one. */
static const struct route *find_route(const char *path, const char **id)
{
	for (size_t t = 0; t < sizeof(route_tables) / sizeof(route_tables[0]); t++) {
		for (const struct route *rt = route_tables[t]; rt->path; rt++) {
			size_t n = strlen(rt->path);
			if (!rt->has_id && !strcmp(path, rt->path))
				return rt;
			if (rt->has_id && !strncmp(path, rt->path, n) && path[n] &&
			    !strchr(path + n, '/')) {
				*id = path + n;
				return rt;
			}
		}
	}
	return NULL;
}
/* Firecracker's answer to a path it does not serve, or a method the path does not take: 400
 * (never 404 or 405) naming both. */
static void invalid_path_method(struct reply *r, const char *method, const char *path)
{
	r->status = 400;
	snprintf(r->err, sizeof(r->err), "Invalid request method and/or path: %.16s %s.", method,
		 path[0] == '/' ? path + 1 : path);
}

/* Firecracker's checks of a body against the method: GET and DELETE take none (its words for
 * a DELETE with one are these), PUT and PATCH need one. */
static bool body_fits_method(enum method m, size_t len, struct reply *r)
{
	if ((m == M_GET || m == M_DELETE) && len) {
		fault(r, 400,
		      m == M_GET ? "GET request cannot have a body." : "Empty Delete request.",
		      NULL);
		return false;
	}
	if (m == M_DELETE)
		return true;
	if (m != M_GET && !len) {
		fault(r, 400, m == M_PUT ? "Empty PUT request." : "Empty PATCH request.", NULL);
		return false;
	}
	return true;
}

/* What a device's body names on the host, checked once the body passes every other check,
 * before the model takes it (Firecracker opens a drive's file, a tap, a vsock's socket at PUT):
 * the host file (device_api.host_file) in its mode, then the rest by the backend. False when
 * the body or what it names is refused (r says why). */
static bool host_file_ok(struct api *a, const struct device_desc *d, const char *id,
			 const json_t *body, struct reply *r)
{
	json_t *doc;
	const char *path;
	bool ro, ok = true;

	if (!d->api->host_file && !a->ops->check_device)
		return true;
	if (api_devices_try(&a->model, d, id, body, &doc, r->err, sizeof(r->err))) {
		r->status = 400;
		return false;
	}
	path = d->api->host_file ? d->api->host_file(doc, &ro) : NULL;
	if (path && a->ops->check_drive)
		ok = files_ok(r, a->ops->check_drive(a->ctx, path, ro, r->err, sizeof(r->err)));
	if (ok && a->ops->check_device)
		ok = files_ok(r, a->ops->check_device(a->ctx, d, doc, r->err, sizeof(r->err)));
	json_decref(doc);
	return ok;
}

/* A body over the limit (a caller that cut it: the HTTP layer refuses it before): Firecracker's
 * status and words (http_request.c). */
static bool body_fits_limit(const struct api *a, size_t len, struct reply *r)
{
	if (len <= a->max_body)
		return true;
	r->status = 400;
	snprintf(r->err, sizeof(r->err),
		 "Request payload with size %zu is larger than the limit of %zu allowed by server.",
		 len, a->max_body);
	return false;
}

/* PUT on a device's route (vmm/descriptors/device_table.h): before start, the body through the
 * device's hooks into the model (api_devices.h). */
static void put_device(struct api *a, const struct device_desc *d, const char *path, const char *id,
		       const char *body, size_t len, struct reply *r)
{
	if (!body_fits_limit(a, len, r))
		return;
	if (!body_fits_method(M_PUT, len, r))
		return;
	json_t *doc = parse_body("PUT", path, false, body, len, r->err, sizeof(r->err));
	if (!doc) {
		r->status = 400;
		return;
	}
	if (a->state != API_NOT_STARTED && api_hotplug_put_device(a, d, id, doc, r))
		; /* Firecracker's hot-add (api_routes_hotplug.c) */
	else if (before_start(a, r) && host_file_ok(a, d, id, doc, r))
		model_result(r, api_devices_put(&a->model, d, id, doc, r->err, sizeof(r->err)));
	json_decref(doc);
}

/* Routes the request and runs its handler; a body is parsed only for PUT and PATCH. */
static void route(struct api *a, const char *method, const char *path, const char *body, size_t len,
		  struct reply *r)
{
	const char *id = "";
	const struct route *rt = find_route(path, &id);
	if (!rt && (rt = api_hotplug_add_route(path))) /* a device's add route: its path */
		id = path;
	enum method m = parse_method(method);
	const char *dev_id = NULL;
	const struct device_desc *dev = device_table_route(path, &dev_id);

	if (dev && m == M_PUT) { /* a device's PUT route; its other methods may be the router's */
		put_device(a, dev, path, dev_id, body, len, r);
		return;
	}
	if (!rt && (rt = api_device_route(dev, dev_id))) /* its PATCH, DELETE: given the path */
		id = path;
	if (!rt && missing_reason(path)) {
		fault(r, 400, "%s", missing_reason(path));
		return;
	}
	if (!rt || m == M_OTHER || !rt->fn[m]) {
		invalid_path_method(r, method, path);
		return;
	}
	if (!body_fits_limit(a, len, r))
		return;
	if (!body_fits_method(m, len, r))
		return;
	json_t *doc = NULL;
	if (m != M_GET && m != M_DELETE) {
		doc = parse_body(method, path, rt->keeps_nulls, body, len, r->err, sizeof(r->err));
		if (!doc) {
			r->status = 400;
			return;
		}
	}
	rt->fn[m](a, id, doc, r);
	json_decref(doc);
}

/* The message may quote the client's path, which need not be UTF-8 (JSON strings must be):
 * anything but printable ASCII becomes '?'. Found by fuzz_api. */
static char *fault_body(const char *msg)
{
	size_t n = strlen(msg);
	char *safe = malloc(n + 1);
	if (!safe)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		safe[i] = !msg[i] || (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : '?';
	json_t *j = json_pack("{s:s}", "fault_message", safe);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(safe);
	return s;
}

void api_fault_response(unsigned status, const char *msg, struct api_response *out)
{
	out->status = status;
	out->body = fault_body(msg);
}

/* Firecracker's router reads a path as the tokens between its slashes once every leading '/'
 * is trimmed, and a last token may end with a '/': "//machine-config" and "/machine-config/"
 * are "/machine-config". A copy with one leading '/' and no trailing one (malloc'd; NULL: out
 * of memory). */
static char *normalize_path(const char *path)
{
	while (*path == '/')
		path++;
	size_t n = strlen(path);
	char *norm = malloc(n + 2);
	if (!norm)
		return NULL;
	norm[0] = '/';
	memcpy(norm + 1, path, n + 1);
	if (n && norm[n] == '/')
		norm[n] = '\0';
	return norm;
}

void api_handle(struct api *a, const char *method, const char *path, const char *body,
		size_t body_len, struct api_response *out)
{
	struct reply r = {0};
	char *norm = normalize_path(path);

	pthread_mutex_lock(&a->lock);
	if (norm)
		route(a, method, norm, body, body_len, &r);
	else
		fault(&r, 500, "out of memory", NULL);
	free(norm);
	if (!r.status)
		r.status = r.doc ? 200 : 500;
	if (r.status == 200 && !r.doc) {
		r.status = 500;
		snprintf(r.err, sizeof(r.err), "out of memory");
	}
	if (a->ops->count_request)
		a->ops->count_request(a->ctx, r.status);
	pthread_mutex_unlock(&a->lock);

	out->status = r.status;
	out->body = NULL;
	if (r.status == 200)
		out->body = json_dumps(r.doc, JSON_COMPACT | JSON_ENCODE_ANY); /* /mmds: any */
	else if (r.status >= 400)
		out->body = fault_body(r.err[0] ? r.err : "internal error");
	json_decref(r.doc);
}

int api_init(struct api *a, const struct api_backend_ops *ops, void *ctx)
{
	*a = (struct api){
	    .ops = ops, .ctx = ctx, .state = API_NOT_STARTED, .max_body = API_DEFAULT_BODY};
	api_model_init(&a->model);
	int err = mmds_init(&a->mmds, MMDS_DEFAULT_SIZE_LIMIT);
	if (err)
		return err;
	a->created_ns = mono_ns();
	/* Firecracker's id when none is given (its DEFAULT_INSTANCE_ID); --id replaces it */
	snprintf(a->id, sizeof(a->id), "anonymous-instance");
	return -pthread_mutex_init(&a->lock, NULL);
}

void api_set_running(struct api *a, struct api_model *model_taken)
{
	pthread_mutex_lock(&a->lock);
	if (model_taken) {
		api_model_free(&a->model);
		a->model = *model_taken;
		api_model_init(model_taken);
	}
	a->state = API_RUNNING;
	pthread_mutex_unlock(&a->lock);
}

void api_set_stopping(struct api *a)
{
	pthread_mutex_lock(&a->lock);
	a->state = API_STOPPING;
	pthread_mutex_unlock(&a->lock);
}

void api_destroy(struct api *a)
{
	api_model_free(&a->model);
	mmds_destroy(&a->mmds);
	pthread_mutex_destroy(&a->lock);
}
