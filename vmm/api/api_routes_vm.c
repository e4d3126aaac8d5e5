/* The VM and the VMM: Firecracker's /, /machine-config, /version, /logger, /boot-source,
 * /actions, /vm, /vm/config, /metrics, and ours under /vmm/ (state, metrics, devices, vCPUs,
 * stop). See api_router.h. */
#include <errno.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/vm_control.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/vm/cpu_template_config.h"

#define VMM_VERSION "0.1.0"

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

/* The CPU template a body asks for (`custom`: PUT /cpu-config's body, else machine-config's
 * cpu_template, PUT or PATCH), checked on this host before the model takes the body, so that a
 * refusal changes nothing. A body the model would refuse anyway is left to it. Returns true to go
 * on; false with the 400 made. */
static bool cpu_template_fits(struct api *a, const json_t *body, bool custom, struct reply *r)
{
	const json_t *name = custom ? NULL : json_object_get(body, "cpu_template");
	if (!a->ops->check_cpu_template || (!custom && !json_is_string(name)))
		return true;
	struct cpu_template *t;
	char why[16];
	int err = custom ? cpu_template_new_json(body, &t, why, sizeof(why))
			 : cpu_template_new_static(json_string_value(name), &t);
	if (!err)
		err = a->ops->check_cpu_template(a->ctx, t, r->err, sizeof(r->err));
	else
		err = 0; /* malformed or None: the model's own answer */
	free(t);
	if (err)
		model_result(r, -EINVAL);
	return !err;
}

static void put_machine_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (before_start(a, r) && cpu_template_fits(a, body, false, r))
		model_result(r,
			     api_model_put_machine_config(&a->model, body, r->err, sizeof(r->err)));
}

/* PUT /cpu-config: a custom CPU template (Firecracker's JSON), before start. */
static void put_cpu_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (before_start(a, r) && cpu_template_fits(a, body, true, r))
		model_result(r, api_model_put_cpu_config(&a->model, body, r->err, sizeof(r->err)));
}

static void patch_machine_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	/* Firecracker: a patch that sets nothing ({} or only nulls) is refused, as no body is */
	if (json_is_object(body) && !json_object_size(body))
		fault(r, 400, "Empty PATCH request.", NULL);
	else if (before_start(a, r) && cpu_template_fits(a, body, false, r))
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
	if (!kernel || !a->ops->check_boot_source || /* a firmware: opened at InstanceStart */
	    files_ok(r, a->ops->check_boot_source(a->ctx, kernel, initrd, r->err, sizeof(r->err))))
		model_result(r, api_model_put_boot_source(&a->model, body, r->err, sizeof(r->err)));
}

static void action_start(struct api *a, struct reply *r)
{
	if (!before_start(a, r))
		return;
	if (!a->model.kernel && !a->model.firmware) {
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

/* PowerButton, an extension of Firecracker's actions (docs/api.md). */
static void press_power_button(struct api *a, struct reply *r)
{
	if (!after_start(a, r))
		return;
	if (a->state == API_PAUSED)
		fault(r, 400, "The microVM is paused: resume it first.", NULL);
	else if (!a->ops->power_button)
		fault(r, 400, "This VMM has no power button.", NULL);
	else
		action_backend(a, r, a->ops->power_button,
			       "cannot press the power button (none without ACPI: --acpi off)");
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
	} else if (!strcmp(type, "PowerButton")) {
		press_power_button(a, r);
	} else if (!strcmp(type, "FlushMetrics")) {
		if (!a->metrics_set)
			fault(r, 400, "The metrics system is not initialized (PUT /metrics first).",
			      NULL);
		else
			action_backend(a, r, a->ops->flush_metrics, "cannot flush the metrics");
	} else {
		fault(r, 400,
		      "unknown action_type `%s` (InstanceStart, SendCtrlAltDel, PowerButton, "
		      "FlushMetrics)",
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
			   (json_int_t)((mono_ns() - a->created_ns) / 1000000u), "paused",
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

const struct route api_routes_vm[] = {
    {"/", false, {get_root, NULL, NULL}, false},
    {"/machine-config",
     false,
     {get_machine_config, put_machine_config, patch_machine_config},
     false},
    {"/cpu-config", false, {NULL, put_cpu_config, NULL}, false},
    {"/version", false, {get_version, NULL, NULL}, false},
    {"/logger", false, {NULL, put_logger, NULL}, false},
    {"/boot-source", false, {NULL, put_boot_source, NULL}, false},
    {"/actions", false, {NULL, put_actions, NULL}, false},
    {"/vm", false, {NULL, NULL, patch_vm}, false},
    {"/vm/config", false, {get_vm_config, NULL, NULL}, false},
    {"/metrics", false, {NULL, put_metrics, NULL}, false},
    {"/vmm/state", false, {get_vmm_state, NULL, NULL}, false},
    {"/vmm/metrics", false, {get_vmm_metrics, NULL, NULL}, false},
    {"/vmm/devices", false, {get_vmm_devices, NULL, NULL}, false},
    {"/vmm/vcpus", false, {get_vmm_vcpus, NULL, NULL}, false},
    {"/vmm/stop", false, {NULL, put_vmm_stop, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
