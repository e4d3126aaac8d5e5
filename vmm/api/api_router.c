/* The API's routes and its lifecycle state machine. See api_router.h. */
#include "vmm/api/api_router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/vm_control.h"
#include "vmm/api/api_balloon.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/api_logger.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/snapshot/format/snap_uffd.h"

#define VMM_VERSION "0.1.0"

#define NOT_AFTER_START	 "The requested operation is not supported after starting the microVM."
#define NOT_BEFORE_START "The requested operation is not supported before starting the microVM."
#define STOPPING	 "The microVM is stopping."

enum method { M_GET, M_PUT, M_PATCH, M_COUNT, M_OTHER = M_COUNT };

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
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

static void fault(struct reply *r, unsigned status, const char *fmt, const char *arg)
{
	r->status = status;
	snprintf(r->err, sizeof(r->err), fmt, arg ? arg : "");
}

/* A backend failure: the message it gave, else the errno text. Firecracker answers every
 * failed action (a start that cannot open its kernel, a VMM that ran out of memory) with 400,
 * and so do we: a client tells the cases apart by the fault_message. */
static void backend_fault(struct reply *r, int err, const char *what)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s: %s", what, strerror(-err));
	r->status = 400;
}

/* Pre-boot configuration only. */
static bool before_start(struct api *a, struct reply *r)
{
	if (a->state == API_NOT_STARTED)
		return true;
	fault(r, 400, NOT_AFTER_START, NULL);
	return false;
}

/* A running (or paused) VM only. */
static bool after_start(struct api *a, struct reply *r)
{
	if (a->state == API_RUNNING || a->state == API_PAUSED)
		return true;
	fault(r, 400, a->state == API_STOPPING ? STOPPING : NOT_BEFORE_START, NULL);
	return false;
}

static void model_result(struct reply *r, int err)
{
	r->status = err ? 400 : 204;
}

/* ---- Firecracker's endpoints ---- */

static void get_root(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	r->doc = json_pack("{s:s, s:s, s:s, s:s}", "id", a->id, "state", api_state_name(a->state),
			   "vmm_version", VMM_VERSION, "app_name", "vmm");
}

static void get_machine_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	r->doc = api_model_machine_config_json(&a->model);
}

static void put_machine_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (before_start(a, r))
		model_result(r,
			     api_model_put_machine_config(&a->model, body, r->err, sizeof(r->err)));
}

static void patch_machine_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (before_start(a, r))
		model_result(
		    r, api_model_patch_machine_config(&a->model, body, r->err, sizeof(r->err)));
}

/* GET /version: Firecracker's FirecrackerVersion model, with our version in it. */
static void get_version(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)a, (void)id, (void)body;
	r->doc = json_pack("{s:s}", "firecracker_version", VMM_VERSION);
}

/* PUT /logger: any time, once (api_logger.h). */
static void put_logger(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (!a->ops->set_logger) {
		fault(r, 400, "the logger cannot be configured here", NULL);
		return;
	}
	int err = a->ops->set_logger(a->ctx, body, r->err, sizeof(r->err));
	r->status = err ? 400 : 204;
}

/* Firecracker's endpoints this VMM does not have (yet): a 400 that says so, for any method. */
static const struct {
	const char *path; /* exact, or a prefix ending in '/' */
	const char *why;
} missing[] = {
    {"/cpu-config", "Custom CPU templates are not supported: the guest sees KVM's CPUID."},
    {"/balloon/hinting/", "Free page hinting is not supported (free_page_reporting is)."},
    {"/serial", "The serial console's output cannot be redirected through the API here."},
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

/* A host file check of the backend's (check_boot_source, check_drive) failed: 400 with its
 * message, which names the path. */
static bool files_ok(struct reply *r, int err)
{
	if (err)
		backend_fault(r, err, "cannot use the file");
	return !err;
}

/* The body is checked, then the files it names (Firecracker opens them here, not at
 * InstanceStart), and only then does the model take it. */
static void put_boot_source(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	const char *kernel, *initrd;
	(void)id;
	if (!before_start(a, r))
		return;
	if (api_model_check_boot_source(body, &kernel, &initrd, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!a->ops->check_boot_source ||
	    files_ok(r, a->ops->check_boot_source(a->ctx, kernel, initrd, r->err, sizeof(r->err))))
		model_result(r, api_model_put_boot_source(&a->model, body, r->err, sizeof(r->err)));
}

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

static void action_start(struct api *a, struct reply *r)
{
	if (!before_start(a, r))
		return;
	if (!a->model.kernel) {
		fault(r, 400, "Cannot start microvm without kernel configuration.", NULL);
		return;
	}
	int err = a->ops->start(a->ctx, &a->model, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot start the microVM");
		return;
	}
	a->state = API_RUNNING;
	r->status = 204;
}

static void action_backend(struct api *a, struct reply *r, int (*op)(void *), const char *what)
{
	int err = op(a->ctx);
	if (err)
		backend_fault(r, err, what);
	else
		r->status = 204;
}

static void send_ctrl_alt_del(struct api *a, struct reply *r)
{
	if (!after_start(a, r))
		return;
	if (a->state == API_PAUSED)
		fault(r, 400, "The microVM is paused: resume it first.", NULL);
	else
		action_backend(a, r, a->ops->ctrl_alt_del, "cannot send Ctrl-Alt-Del");
}

static void put_actions(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"action_type", API_JSON_STRING, true},
						  {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	const char *type = api_json_str(body, "action_type", "");
	if (!strcmp(type, "InstanceStart")) {
		action_start(a, r);
	} else if (!strcmp(type, "SendCtrlAltDel")) {
		send_ctrl_alt_del(a, r);
	} else if (!strcmp(type, "FlushMetrics")) {
		if (!a->metrics_set)
			fault(r, 400, "The metrics system is not initialized (PUT /metrics first).",
			      NULL);
		else
			action_backend(a, r, a->ops->flush_metrics, "cannot flush the metrics");
	} else {
		fault(r, 400,
		      "unknown action_type `%s` (InstanceStart, SendCtrlAltDel, FlushMetrics)",
		      type);
	}
}

static void patch_vm(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"state", API_JSON_STRING, true},
						  {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	const char *want = api_json_str(body, "state", "");
	bool pause = !strcmp(want, "Paused");
	if (!pause && strcmp(want, "Resumed")) {
		fault(r, 400, "state must be Paused or Resumed, not `%s`", want);
		return;
	}
	if (!after_start(a, r))
		return;
	int err = pause ? a->ops->pause(a->ctx) : a->ops->resume(a->ctx);
	if (err) {
		backend_fault(r, err, pause ? "cannot pause the microVM" : "cannot resume");
		return;
	}
	a->state = pause ? API_PAUSED : API_RUNNING;
	r->status = 204;
}

static void get_vm_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	r->doc = api_model_json(&a->model);
}

/* PUT /metrics, once: emit_id puts GET /'s instance id on every line. */
static void put_metrics(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	const char *path;
	const json_t *props;
	bool emit_id;
	(void)id;
	if (api_model_check_metrics(body, &path, &emit_id, &props, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (a->metrics_set) {
		fault(r, 400, "Reinitialization of metrics not allowed.", NULL);
		return;
	}
	int err = a->ops->set_metrics(a->ctx, path, emit_id ? a->id : NULL, props, r->err,
				      sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot open the metrics file");
		return;
	}
	/* the sink is set: out of memory here only leaves GET /vm/config without it */
	(void)api_model_set_metrics(&a->model, path, emit_id, props);
	a->metrics_set = true;
	r->status = 204;
}

/* ---- ours, under /vmm/ ---- */

static void get_vmm_state(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	r->doc = json_pack("{s:s, s:I, s:b}", "state", api_state_name(a->state), "uptime_ms",
			   (json_int_t)((now_ns() - a->created_ns) / 1000000u), "paused",
			   a->state == API_PAUSED);
}

/* The metrics document, or just one of its arrays. */
static void serve_metrics(struct api *a, struct reply *r, const char *part)
{
	json_t *doc = a->state == API_NOT_STARTED ? NULL : a->ops->metrics(a->ctx);
	if (!doc && a->state != API_NOT_STARTED) {
		fault(r, 500, "metrics are not available", NULL);
		return;
	}
	if (!part) {
		r->doc = doc ? doc : json_pack("{s:[], s:[]}", "vcpus", "devices");
		return;
	}
	json_t *arr = doc ? json_object_get(doc, part) : NULL;
	r->doc = arr ? json_incref(arr) : json_array();
	json_decref(doc);
}

static void get_vmm_metrics(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	serve_metrics(a, r, NULL);
}

static void get_vmm_devices(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	serve_metrics(a, r, "devices");
}

static void get_vmm_vcpus(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	serve_metrics(a, r, "vcpus");
}

static void put_vmm_stop(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"timeout_ms", API_JSON_UINT, false},
						  {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	uint64_t timeout = api_json_uint(body, "timeout_ms", 10000);
	if (timeout > VM_STOP_TIMEOUT_MAX_MS) {
		r->status = 400;
		snprintf(r->err, sizeof(r->err), "timeout_ms is at most %u (one hour)",
			 VM_STOP_TIMEOUT_MAX_MS);
		return;
	}
	if (!after_start(a, r))
		return;
	int err = a->ops->stop(a->ctx, (unsigned)timeout);
	if (err) {
		backend_fault(r, err, "cannot stop the microVM");
		return;
	}
	a->state = API_STOPPING;
	r->status = 204;
}

/* ---- live migration (api_migration.h) ---- */

#define NO_MIGRATION "live migration is not available in this VMM"

static void put_send_migration(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_send_migration p;
	(void)id;
	if (api_migration_send_parse(body, &p, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r))
		return;
	if (!a->ops->migrate_send) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_send(a->ctx, &p, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot start the migration");
	else
		r->status = 204;
}

static void get_migration(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct mig_progress p;
	char why[API_FAULT_MAX] = "";
	(void)id, (void)body;
	if (!a->ops->migrate_progress) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_progress(a->ctx, &p, why, sizeof(why));
	if (err == -ENOENT)
		fault(r, 400, "no migration was started", NULL);
	else if (err)
		backend_fault(r, err, "cannot read the migration's progress");
	else
		r->doc = api_migration_progress_json(&p, why);
}

static void put_migration_cancel(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!a->ops->migrate_cancel) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_cancel(a->ctx);
	if (err == -ENOENT)
		fault(r, 400, "no migration is running", NULL);
	else if (err)
		backend_fault(r, err, "cannot cancel the migration");
	else
		r->status = 204;
}

static void put_receive_migration(struct api *a, const char *id, const json_t *body,
				  struct reply *r)
{
	const char *url;
	(void)id;
	if (api_migration_receive_parse(body, &url, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!before_start(a, r))
		return;
	if (!a->ops->migrate_receive) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_receive(a->ctx, url, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "the migration did not arrive");
		return;
	}
	a->state = API_RUNNING;
	r->status = 204;
}

/* ---- snapshots (Firecracker's bodies) ---- */

static void put_snapshot_create(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"snapshot_type", API_JSON_STRING, false},
						  {"snapshot_path", API_JSON_STRING, true},
						  {"mem_file_path", API_JSON_STRING, true},
						  {"version", API_JSON_STRING, false},
						  {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	const char *type = api_json_str(body, "snapshot_type", "Full");
	bool diff = !strcmp(type, "Diff");
	if (!diff && strcmp(type, "Full")) {
		fault(r, 400, "snapshot_type must be Full or Diff, not `%s`", type);
		return;
	}
	if (!after_start(a, r))
		return;
	if (a->state != API_PAUSED) {
		fault(r, 400, "Cannot create a snapshot of a running microVM: pause it first.",
		      NULL);
		return;
	}
	int err = a->ops->snapshot_create(a->ctx, api_json_str(body, "snapshot_path", ""),
					  api_json_str(body, "mem_file_path", ""), diff, r->err,
					  sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot create the snapshot");
	else
		r->status = 204;
}

/* "mem_file_path", or Firecracker's newer {"mem_backend": {"backend_type": "File" or "Uffd",
 * "backend_path": ...}}; a Uffd path must name a Unix socket now (*uffd set). */
static const char *load_mem_path(const json_t *body, bool *uffd, struct reply *r)
{
	static const struct api_json_field f[] = {{"backend_type", API_JSON_STRING, true},
						  {"backend_path", API_JSON_STRING, true},
						  {NULL, 0, false}};
	const json_t *be = json_object_get(body, "mem_backend");
	const char *path = api_json_str(body, "mem_file_path", NULL);

	if (!!be == !!path) {
		fault(r, 400, "give either mem_file_path or mem_backend", NULL);
		return NULL;
	}
	if (!be)
		return path;
	if (api_json_check(be, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return NULL;
	}
	const char *type = api_json_str(be, "backend_type", "");
	path = api_json_str(be, "backend_path", NULL);
	*uffd = !strcmp(type, "Uffd");
	if (!*uffd && strcmp(type, "File")) {
		fault(r, 400, "mem_backend: backend_type must be File or Uffd, not `%.32s`", type);
		return NULL;
	}
	if (*uffd && snap_uffd_check_path(path, r->err, sizeof(r->err))) {
		r->status = 400;
		return NULL;
	}
	return path;
}

#define API_NIC_OVERRIDE_LEN 96 /* "tap=" IFNAMSIZ ",mac=" 17, with room to spare */

/* One network_overrides entry as a NIC override: "tap=NAME", "mac=MAC" or both (the MAC is
 * checked when the snapshot is opened). Returns false (400) when it has neither or is too long. */
static bool nic_override(const json_t *o, char *out, size_t len, struct reply *r)
{
	const char *tap = api_json_str(o, "host_dev_name", NULL);
	const char *mac = api_json_str(o, "guest_mac", NULL);
	int n = snprintf(out, len, "%s%s%s%s%s", tap ? "tap=" : "", tap ? tap : "",
			 tap && mac ? "," : "", mac ? "mac=" : "", mac ? mac : "");

	if ((!tap && !mac) || n < 0 || (size_t)n >= len) {
		fault(r, 400,
		      "network_overrides: each entry needs host_dev_name (a tap name) and/or "
		      "guest_mac",
		      NULL);
		return false;
	}
	return true;
}

/* network_overrides: [{"iface_id": ID, "host_dev_name"?: TAP, "guest_mac"?: MAC}] -> ov[]
 * (specs built in bufs[]); snapshot_open() finds each NIC by its id. The count, or -1 (400). */
static int load_taps(const json_t *body, struct snapshot_nic_override *ov,
		     char (*bufs)[API_NIC_OVERRIDE_LEN], struct reply *r)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"host_dev_name", API_JSON_STRING, false},
						  {"guest_mac", API_JSON_STRING, false},
						  {NULL, 0, false}};
	const json_t *list = json_object_get(body, "network_overrides");
	size_t i;
	json_t *o;

	if (json_array_size(list) > API_MAX_NICS) {
		fault(r, 400, "network_overrides: more entries than a VM has NICs%s", NULL);
		return -1;
	}
	json_array_foreach(list, i, o)
	{
		if (api_json_check(o, f, r->err, sizeof(r->err))) {
			r->status = 400;
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(ov[k].id, api_json_str(o, "iface_id", ""))) {
				fault(r, 400, "network_overrides: iface_id `%.64s` given twice",
				      ov[k].id);
				return -1;
			}
		}
		if (!nic_override(o, bufs[i], API_NIC_OVERRIDE_LEN, r))
			return -1;
		ov[i] = (struct snapshot_nic_override){.id = api_json_str(o, "iface_id", ""),
						       .spec = bufs[i]};
	}
	return (int)json_array_size(list);
}

/* drive_overrides: [{"drive_id": ID, "path_on_host": PATH}] and Firecracker's vsock_override:
 * {"uds_path": PATH} -> ov[]: other files for the snapshot's drives (found by their drive_id) and
 * its vsock, which the restore may open (vmm/snapshot/restore_paths.h). The count, or -1 (400). */
static int load_paths(const json_t *body, struct snapshot_path_override *ov, struct reply *r)
{
	static const struct api_json_field drive[] = {{"drive_id", API_JSON_STRING, true},
						      {"path_on_host", API_JSON_STRING, true},
						      {NULL, 0, false}};
	static const struct api_json_field vsock[] = {{"uds_path", API_JSON_STRING, true},
						      {NULL, 0, false}};
	const json_t *list = json_object_get(body, "drive_overrides");
	const json_t *vs = json_object_get(body, "vsock_override");
	size_t i;
	json_t *o;

	if (json_array_size(list) > API_MAX_DRIVES) {
		fault(r, 400, "drive_overrides: more entries than a VM has drives%s", NULL);
		return -1;
	}
	json_array_foreach(list, i, o)
	{
		if (api_json_check(o, drive, r->err, sizeof(r->err))) {
			r->status = 400;
			return -1;
		}
		ov[i] =
		    (struct snapshot_path_override){.option = "disk",
						    .id = api_json_str(o, "drive_id", ""),
						    .path = api_json_str(o, "path_on_host", "")};
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(ov[k].id, ov[i].id)) {
				fault(r, 400, "drive_overrides: drive_id `%.64s` given twice",
				      ov[k].id);
				return -1;
			}
		}
	}
	if (!vs || json_is_null(vs))
		return (int)i;
	if (api_json_check(vs, vsock, r->err, sizeof(r->err))) {
		r->status = 400;
		return -1;
	}
	ov[i] = (struct snapshot_path_override){
	    .option = "vsock", .id = "", .path = api_json_str(vs, "uds_path", "")};
	return (int)i + 1;
}

/* Firecracker's newer snapshot-load fields into *p: what this VMM can honour is taken, the
 * rest is refused with the reason. track_dirty_pages is enable_diff_snapshots' newer name;
 * either asks for dirty-page logging, and without them the restored VM does not log (as in
 * Firecracker, whatever the snapshotted VM did). */
static bool load_extras_ok(const json_t *body, struct api_snapshot_load *p, struct reply *r)
{
	const char *huge = api_json_str(body, "huge_pages", "Snapshot");
	bool track = api_json_bool(body, "track_dirty_pages", false) ||
		     api_json_bool(body, "enable_diff_snapshots", false);

	p->track_dirty = track ? API_LOAD_ON : API_LOAD_OFF;
	p->thp = !strcmp(huge, "None")		? API_LOAD_OFF
		 : !strcmp(huge, "Transparent") ? API_LOAD_ON
						: API_LOAD_AS_SAVED;
	if (api_json_bool(body, "clock_realtime", false))
		fault(r, 400,
		      "clock_realtime is not supported: the guest's kvmclock resumes where it "
		      "stopped",
		      NULL);
	else if (!strcmp(huge, "2M"))
		fault(r, 400,
		      "huge_pages 2M cannot be honoured on snapshot load: guest memory is mapped "
		      "from the memory file, not from hugetlbfs; use Snapshot, None or Transparent",
		      NULL);
	else if (strcmp(huge, "Snapshot") && p->thp == API_LOAD_AS_SAVED)
		fault(r, 400, "huge_pages must be Snapshot, None, Transparent or 2M, not `%.16s`",
		      huge);
	return !r->status;
}

static void put_snapshot_load(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"snapshot_path", API_JSON_STRING, true},
						  {"mem_file_path", API_JSON_STRING, false},
						  {"mem_backend", API_JSON_OBJECT, false},
						  {"resume_vm", API_JSON_BOOL, false},
						  {"enable_diff_snapshots", API_JSON_BOOL, false},
						  {"network_overrides", API_JSON_ARRAY, false},
						  {"track_dirty_pages", API_JSON_BOOL, false},
						  {"vsock_override", API_JSON_OBJECT, false},
						  {"clock_realtime", API_JSON_BOOL, false},
						  {"huge_pages", API_JSON_STRING, false},
						  {"drive_overrides", API_JSON_ARRAY, false},
						  {NULL, 0, false}};
	struct snapshot_nic_override taps[API_MAX_NICS];
	struct snapshot_path_override paths[API_MAX_DRIVES + 1];
	char bufs[API_MAX_NICS][API_NIC_OVERRIDE_LEN];
	struct api_snapshot_load p = {.nics = taps, .paths = paths};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	p.mem_path = load_extras_ok(body, &p, r) ? load_mem_path(body, &p.uffd, r) : NULL;
	p.nnics = p.mem_path ? load_taps(body, taps, bufs, r) : -1;
	p.npaths = p.nnics >= 0 ? load_paths(body, paths, r) : -1;
	if (!p.mem_path || p.nnics < 0 || p.npaths < 0 || !before_start(a, r))
		return;
	p.state_path = api_json_str(body, "snapshot_path", "");
	p.resume = api_json_bool(body, "resume_vm", false);
	int err = a->ops->snapshot_load(a->ctx, &p, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot load the snapshot");
		return;
	}
	a->state = p.resume ? API_RUNNING : API_PAUSED;
	r->status = 204;
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

/* ---- MMDS (virtio/net/mmds/mmds.h): the store at any time, its configuration before start ---- */

static void mmds_result(struct reply *r, int err)
{
	if (err == -EFBIG)
		fault(r, 413, "MMDS limit exceeded error: %s", MMDS_MSG_TOO_LARGE);
	else if (err == -ENODATA)
		fault(r, 400, "MMDS error: %s", MMDS_MSG_NOT_INIT);
	else if (err)
		backend_fault(r, err, "MMDS error");
	else
		r->status = 204;
}

static void get_mmds(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	r->doc = mmds_get(&a->mmds);
}

static void put_mmds(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	mmds_result(r, mmds_put(&a->mmds, body));
}

static void patch_mmds(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	mmds_result(r, mmds_patch(&a->mmds, body));
}

/* PUT /mmds/config: the model keeps it (GET /vm/config); the NICs it names answer MMDS from
 * InstanceStart on (control.c). */
static void put_mmds_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (!before_start(a, r))
		return;
	if (api_model_put_mmds_config(&a->model, body, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	mmds_set_config(&a->mmds, &a->model.mmds);
	r->status = 204;
}

/* Bodies whose nulls are data, not absent fields: the MMDS document and its merge patches
 * (RFC 7396: null removes a member). */
static bool keeps_nulls(handler_fn fn)
{
	return fn == put_mmds || fn == patch_mmds;
}

/* Any JSON value, nulls kept (see keeps_nulls()). */
static json_t *parse_data_body(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!v)
		snprintf(err, errlen, "malformed JSON body: %s (line %d, column %d)", je.text,
			 je.line, je.column);
	return v;
}

static const struct route routes[] = {
    {"/snapshot/create", false, {NULL, put_snapshot_create, NULL}},
    {"/snapshot/load", false, {NULL, put_snapshot_load, NULL}},
    {"/", false, {get_root, NULL, NULL}},
    {"/machine-config", false, {get_machine_config, put_machine_config, patch_machine_config}},
    {"/version", false, {get_version, NULL, NULL}},
    {"/logger", false, {NULL, put_logger, NULL}},
    {"/boot-source", false, {NULL, put_boot_source, NULL}},
    {"/drives/", true, {NULL, NULL, patch_drive}},	     /* its PUT: the device's */
    {"/network-interfaces/", true, {NULL, NULL, patch_nic}}, /* its PUT: the device's */
    {"/actions", false, {NULL, put_actions, NULL}},
    {"/vm", false, {NULL, NULL, patch_vm}},
    {"/vm/config", false, {get_vm_config, NULL, NULL}},
    {"/metrics", false, {NULL, put_metrics, NULL}},
    {"/vmm/state", false, {get_vmm_state, NULL, NULL}},
    {"/vmm/metrics", false, {get_vmm_metrics, NULL, NULL}},
    {"/vmm/devices", false, {get_vmm_devices, NULL, NULL}},
    {"/vmm/vcpus", false, {get_vmm_vcpus, NULL, NULL}},
    {"/vmm/stop", false, {NULL, put_vmm_stop, NULL}},
    {"/vmm/send-migration", false, {NULL, put_send_migration, NULL}},
    {"/vmm/receive-migration", false, {NULL, put_receive_migration, NULL}},
    {"/vmm/migration", false, {get_migration, NULL, NULL}},
    {"/vmm/migration/cancel", false, {NULL, put_migration_cancel, NULL}},
    {"/balloon", false, {get_balloon, NULL, patch_balloon}},
    {"/balloon/statistics", false, {get_balloon_stats, NULL, patch_balloon_stats}},
    {"/hotplug/memory", false, {get_memhp, NULL, patch_memhp}},
    {"/mmds", false, {get_mmds, put_mmds, patch_mmds}},
    {"/mmds/config", false, {NULL, put_mmds_config, NULL}},
};

static enum method parse_method(const char *m)
{
	if (!strcmp(m, "GET"))
		return M_GET;
	if (!strcmp(m, "PUT"))
		return M_PUT;
	if (!strcmp(m, "PATCH"))
		return M_PATCH;
	return M_OTHER;
}

/* The route for `path`, and its id (pointing into `path`) for routes that take one. */
static const struct route *find_route(const char *path, const char **id)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);
		if (!rt->has_id && !strcmp(path, rt->path))
			return rt;
		if (rt->has_id && !strncmp(path, rt->path, n) && path[n] &&
		    !strchr(path + n, '/')) {
			*id = path + n;
			return rt;
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

/* Firecracker's checks of a body against the method: GET takes none, PUT and PATCH need one. */
static bool body_fits_method(enum method m, size_t len, struct reply *r)
{
	if (m == M_GET && len) {
		fault(r, 400, "GET request cannot have a body.", NULL);
		return false;
	}
	if (m != M_GET && !len) {
		fault(r, 400, m == M_PUT ? "Empty PUT request." : "Empty PATCH request.", NULL);
		return false;
	}
	return true;
}

/* The host file a device's body names (device_api.host_file), checked once the body passes
 * every other check, before the model takes it (Firecracker opens a drive's file at PUT). False
 * when the body or the file is refused (r says why). */
static bool host_file_ok(struct api *a, const struct device_desc *d, const char *id,
			 const json_t *body, struct reply *r)
{
	json_t *doc;
	const char *path;
	bool ro, ok = true;

	if (!d->api->host_file)
		return true;
	if (api_devices_try(&a->model, d, id, body, &doc, r->err, sizeof(r->err))) {
		r->status = 400;
		return false;
	}
	path = d->api->host_file(doc, &ro);
	if (path && a->ops->check_drive)
		ok = files_ok(r, a->ops->check_drive(a->ctx, path, ro, r->err, sizeof(r->err)));
	json_decref(doc);
	return ok;
}

/* PUT on a device's route (vmm/descriptors/device_table.h): before start, the body through the
 * device's hooks into the model (api_devices.h). */
static void put_device(struct api *a, const struct device_desc *d, const char *id, const char *body,
		       size_t len, struct reply *r)
{
	if (len > API_MAX_BODY) {
		fault(r, 413, "the request body is larger than the limit of 65536 bytes", NULL);
		return;
	}
	if (!body_fits_method(M_PUT, len, r))
		return;
	json_t *doc = api_json_parse(body, len, r->err, sizeof(r->err));
	if (!doc) {
		r->status = 400;
		return;
	}
	if (before_start(a, r) && host_file_ok(a, d, id, doc, r))
		model_result(r, api_devices_put(&a->model, d, id, doc, r->err, sizeof(r->err)));
	json_decref(doc);
}

/* Routes the request and runs its handler; a body is parsed only for PUT and PATCH. */
static void route(struct api *a, const char *method, const char *path, const char *body, size_t len,
		  struct reply *r)
{
	const char *id = "";
	const struct route *rt = find_route(path, &id);
	enum method m = parse_method(method);
	const char *dev_id = NULL;
	const struct device_desc *dev = device_table_route(path, &dev_id);

	if (dev && m == M_PUT) { /* a device's PUT route; its other methods may be the router's */
		put_device(a, dev, dev_id, body, len, r);
		return;
	}
	if (!rt && missing_reason(path)) {
		fault(r, 400, "%s", missing_reason(path));
		return;
	}
	if (!rt || m == M_OTHER || !rt->fn[m]) {
		invalid_path_method(r, method, path);
		return;
	}
	if (len > API_MAX_BODY) {
		fault(r, 413, "the request body is larger than the limit of 65536 bytes", NULL);
		return;
	}
	if (!body_fits_method(m, len, r))
		return;
	json_t *doc = NULL;
	if (m != M_GET) {
		doc = keeps_nulls(rt->fn[m]) ? parse_data_body(body, len, r->err, sizeof(r->err))
					     : api_json_parse(body, len, r->err, sizeof(r->err));
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

void api_handle(struct api *a, const char *method, const char *path, const char *body,
		size_t body_len, struct api_response *out)
{
	struct reply r = {0};

	pthread_mutex_lock(&a->lock);
	route(a, method, path, body, body_len, &r);
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
	*a = (struct api){.ops = ops, .ctx = ctx, .state = API_NOT_STARTED};
	api_model_init(&a->model);
	int err = mmds_init(&a->mmds, MMDS_DEFAULT_SIZE_LIMIT);
	if (err)
		return err;
	a->created_ns = now_ns();
	snprintf(a->id, sizeof(a->id), "vmm-%ld", (long)getpid());
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
