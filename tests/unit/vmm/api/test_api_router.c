/* The API's request layer (vmm/api/api_router.c) against a fake backend: routes, status codes,
 * fault messages, and which request is allowed in which state. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "model_docs.h"
#include "virtio/net/egress.h"
#include "vmm/api/api_logger.h"
#include "vmm/api/api_router.h"

static struct api api;
static struct fake {
	int starts, pauses, resumes, cads, buttons, stops, patches, flushes, sets, counted, errors;
	int fail; /* returned by the next backend call, then cleared */
	unsigned stop_timeout;
	int patch_index;
	char patch_path[256];
	char metrics_path[256];
} fk;
static struct api_response resp;
static json_t *doc; /* the last response body, parsed */

static int take_fail(void)
{
	int f = fk.fail;
	fk.fail = 0;
	return f;
}

static int f_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	(void)ctx, (void)m;
	fk.starts++;
	int f = take_fail();
	if (f)
		snprintf(err, errlen, "kernel: no such file");
	return f;
}
/* The host file checks: a path under /bad is refused, as the real check would say it. */
static struct {
	int calls;
	char last[256];
	bool ro;
} files;
static int refuse_bad(const char *what, const char *path, char *err, size_t errlen)
{
	if (!path || strncmp(path, "/bad", 4))
		return 0;
	snprintf(err, errlen, "%s %s: No such file or directory", what, path);
	return -ENOENT;
}
static int f_check_boot(void *ctx, const char *kernel, const char *initrd, char *err, size_t errlen)
{
	(void)ctx;
	files.calls++;
	snprintf(files.last, sizeof(files.last), "%s|%s", kernel, initrd ? initrd : "-");
	int r = refuse_bad("kernel", kernel, err, errlen);
	return r ? r : refuse_bad("initrd", initrd, err, errlen);
}
static int f_check_drive(void *ctx, const char *path, bool ro, char *err, size_t errlen)
{
	(void)ctx;
	files.calls++;
	files.ro = ro;
	snprintf(files.last, sizeof(files.last), "%s", path);
	return refuse_bad("disk", path, err, errlen);
}
static int f_pause(void *ctx)
{
	(void)ctx;
	fk.pauses++;
	return take_fail();
}
static int f_resume(void *ctx)
{
	(void)ctx;
	fk.resumes++;
	return take_fail();
}
static int f_cad(void *ctx)
{
	(void)ctx;
	fk.cads++;
	return take_fail();
}
static int f_button(void *ctx)
{
	(void)ctx;
	fk.buttons++;
	return take_fail();
}
static int f_stop(void *ctx, unsigned timeout_ms)
{
	(void)ctx;
	fk.stops++;
	fk.stop_timeout = timeout_ms;
	return take_fail();
}
static int f_patch(void *ctx, int index, const char *path, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	fk.patches++;
	fk.patch_index = index;
	snprintf(fk.patch_path, sizeof(fk.patch_path), "%s", path);
	return take_fail();
}
static char metrics_id[64], metrics_props[256]; /* the last PUT /metrics's line fields */
static int f_set_metrics(void *ctx, const char *path, const char *id, const json_t *properties,
			 char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	fk.sets++;
	snprintf(fk.metrics_path, sizeof(fk.metrics_path), "%s", path);
	snprintf(metrics_id, sizeof(metrics_id), "%s", id ? id : "-");
	char *props = properties ? json_dumps(properties, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	snprintf(metrics_props, sizeof(metrics_props), "%s", props ? props : "-");
	free(props);
	return take_fail();
}
static int f_flush(void *ctx)
{
	(void)ctx;
	fk.flushes++;
	return take_fail();
}
static json_t *f_metrics(void *ctx)
{
	(void)ctx;
	return json_pack("{s:[{s:s}], s:[{s:i}], s:{s:i}}", "devices", "name", "virtio-blk",
			 "vcpus", "index", 0, "api", "requests", 1);
}
static void f_count(void *ctx, unsigned status)
{
	(void)ctx;
	fk.counted++;
	fk.errors += status >= 400;
}

static int f_snap_create(void *ctx, const char *state, const char *mem, bool diff, char *err,
			 size_t n)
{
	(void)ctx, (void)err, (void)n;
	snprintf(fk.patch_path, sizeof(fk.patch_path), "%s|%s%s", state, mem, diff ? "|diff" : "");
	fk.patches++;
	return take_fail();
}
static struct api_snapshot_load loaded; /* the last load's request, paths excepted */
static char load_paths[256];		/* its path overrides: "OPTION:ID=PATH;..." */
static int f_snap_load(void *ctx, const struct api_snapshot_load *p, char *err, size_t n)
{
	(void)ctx, (void)err, (void)n;
	load_paths[0] = 0;
	for (int i = 0; i < p->npaths; i++)
		snprintf(load_paths + strlen(load_paths), sizeof(load_paths) - strlen(load_paths),
			 "%s:%s=%s;", p->paths[i].option, p->paths[i].id ? p->paths[i].id : "-",
			 p->paths[i].path);
	snprintf(fk.patch_path, sizeof(fk.patch_path), "%s|%s|%d|%s:%s", p->state_path, p->mem_path,
		 p->resume, p->nnics > 0 ? p->nics[0].id : "-",
		 p->nnics > 0 ? p->nics[0].spec : "-");
	loaded = *p;
	fk.starts++;
	return take_fail();
}

/* Rate limiters changed at run time (PATCH /drives, PATCH /network-interfaces). The fake
 * device's limits are the model's before the change; the patch merges into them as the real
 * device's does. */
static struct {
	int calls, index;
	struct rate_limiter_patch drive, rx, tx;
} rl;
static int f_patch_rl(void *ctx, int index, const struct rate_limiter_patch *p,
		      struct rate_limiter_cfg *now, char *err, size_t n)
{
	(void)ctx, (void)err, (void)n;
	rl.calls++;
	rl.index = index;
	rl.drive = *p;
	*now = drive_rl(&api.model, index);
	rate_limiter_cfg_patch(now, p);
	return take_fail();
}
static int f_patch_nic_rl(void *ctx, int index, const struct rate_limiter_patch *rx,
			  const struct rate_limiter_patch *tx, struct rate_limiter_cfg *rx_now,
			  struct rate_limiter_cfg *tx_now, char *err, size_t n)
{
	(void)ctx, (void)err, (void)n;
	rl.calls++;
	rl.index = index;
	rl.rx = *rx;
	rl.tx = *tx;
	*rx_now = nic_rx(&api.model, index);
	*tx_now = nic_tx(&api.model, index);
	rate_limiter_cfg_patch(rx_now, rx);
	rate_limiter_cfg_patch(tx_now, tx);
	return take_fail();
}

/* A NIC's egress policy changed at run time (PATCH /network-interfaces "egress"). */
static struct {
	int calls, index;
	struct egress_rules rules;
} eg;

/* The backend's live calls (api_backend_ops.live_set), to the fakes above by what changes. */
static int f_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		      char *err, size_t n)
{
	if (!strcmp(s->member, "egress")) {
		cr_assert_str_eq(d->name, "net");
		eg.calls++;
		eg.index = index;
		eg.rules = *s->egress;
		return take_fail();
	}
	if (!strcmp(s->member, "path_on_host")) {
		cr_assert_str_eq(d->name, "disk");
		return f_patch(ctx, index, s->str, err, n);
	}
	if (!strcmp(s->member, "rate_limiter")) {
		cr_assert_str_eq(d->name, "disk");
		return f_patch_rl(ctx, index, s->rl[0], s->rl_now[0], err, n);
	}
	cr_assert_str_eq(s->member, "rate_limiters");
	cr_assert_str_eq(d->name, "net");
	return f_patch_nic_rl(ctx, index, s->rl[0], s->rl[1], s->rl_now[0], s->rl_now[1], err, n);
}

static int f_set_logger(void *ctx, const json_t *body, char *err, size_t errlen)
{
	(void)ctx;
	return api_logger_put(body, err, errlen); /* for real: each test is its own process */
}

static const struct api_backend_ops ops = {
    .set_logger = f_set_logger,
    .live_set = f_live_set,
    .start = f_start,
    .check_boot_source = f_check_boot,
    .check_drive = f_check_drive,
    .pause = f_pause,
    .resume = f_resume,
    .ctrl_alt_del = f_cad,
    .power_button = f_button,
    .stop = f_stop,
    .set_metrics = f_set_metrics,
    .flush_metrics = f_flush,
    .metrics = f_metrics,
    .count_request = f_count,
    .snapshot_create = f_snap_create,
    .snapshot_load = f_snap_load,
};

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	memset(&files, 0, sizeof(files));
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
	doc = NULL;
	resp.body = NULL;
}

static void drop_response(void)
{
	free(resp.body);
	resp.body = NULL;
	json_decref(doc);
	doc = NULL;
}

static void teardown(void)
{
	drop_response();
	api_destroy(&api);
}

TestSuite(api, .init = setup, .fini = teardown);

/* Sends a request and returns the status; the body, if any, is parsed into `doc`. */
static unsigned req(const char *method, const char *path, const char *body)
{
	drop_response();
	api_handle(&api, method, path, body, body ? strlen(body) : 0, &resp);
	if (resp.body) {
		doc = json_loads(resp.body, 0, NULL);
		cr_assert_not_null(doc, "every body is JSON: %s", resp.body);
	}
	return resp.status;
}

static const char *fault(void)
{
	const char *m = json_string_value(json_object_get(doc, "fault_message"));
	cr_assert_not_null(m, "an error carries a fault_message");
	return m;
}

#define BOOT "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}"

static void start(void)
{
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 204);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
}

Test(api, root_reports_the_state)
{
	cr_assert_eq(req("GET", "/", NULL), 200);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "state")), "Not started");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "app_name")), "vmm");
	start();
	req("GET", "/", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "state")), "Running");
}

Test(api, unknown_paths_and_methods)
{
	/* Firecracker answers both with 400, naming the method and the path. */
	cr_assert_eq(req("GET", "/nope", NULL), 400);
	cr_assert_str_eq(fault(), "Invalid request method and/or path: GET nope.");
	cr_assert_eq(req("DELETE", "/boot-source", NULL), 400);
	cr_assert_str_eq(fault(), "Invalid request method and/or path: DELETE boot-source.");
	cr_assert_eq(req("GET", "/boot-source", NULL), 400);
	cr_assert_eq(req("PUT", "/drives/", "{}"), 400, "a route with an id needs one");
	cr_assert_eq(req("PUT", "/drives/a/b", "{}"), 400);
	cr_assert_eq(req("POST", "/actions", "{}"), 400);
	cr_assert(strstr(fault(), "POST actions"), "%s", fault());
	cr_assert_eq(fk.counted, 6);
	cr_assert_eq(fk.errors, 6);
}

Test(api, bodies_must_fit_the_method)
{
	cr_assert_eq(req("GET", "/", "{}"), 400);
	cr_assert_str_eq(fault(), "GET request cannot have a body.");
	cr_assert_eq(req("PUT", "/machine-config", ""), 400);
	cr_assert_str_eq(fault(), "Empty PUT request.");
	cr_assert_eq(req("PATCH", "/vm", ""), 400);
	cr_assert_str_eq(fault(), "Empty PATCH request.");
}

Test(api, bad_bodies_are_400_with_a_reason)
{
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": "), 400);
	cr_assert(strstr(fault(), "malformed JSON"));
	cr_assert_eq(req("PUT", "/boot-source", NULL), 400);
	cr_assert_eq(req("PUT", "/boot-source", "[1]"), 400);
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": 3}"), 400);
	cr_assert(strstr(fault(), "must be a string"), "%s", fault());
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"x\": 1}"), 400);
	cr_assert(strstr(fault(), "unknown field `x`"));
	cr_assert_eq(req("PUT", "/boot-source", "{}"), 400);
	cr_assert(strstr(fault(), "missing field `kernel_image_path`"));
	cr_assert_eq(req("PUT", "/boot-source",
			 "{\"kernel_image_path\": \"/a\", "
			 "\"kernel_image_path\": \"/b\"}"),
		     400, "duplicate keys are refused");
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"),
		     400);
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": -1, \"mem_size_mib\": 64}"),
		     400);
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 0}"),
		     400);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"Reboot\"}"), 400);
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Sleeping\"}"), 400);
	cr_assert_eq(fk.starts, 0);
}

/* A cut body (the HTTP layer refuses it first): Firecracker's 400 and words. */
Test(api, oversized_body_is_400)
{
	api_handle(&api, "PUT", "/boot-source", NULL, API_DEFAULT_BODY + 1, &resp);
	cr_assert_eq(resp.status, 400);
	cr_assert(strstr(resp.body, "Request payload with size 51201 is larger than the limit of "
				    "51200 allowed by server."),
		  "%s", resp.body);
}

Test(api, machine_config_round_trip)
{
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}"),
		     204);
	cr_assert_null(resp.body);
	cr_assert_eq(req("GET", "/machine-config", NULL), 200);
	cr_assert_eq(json_integer_value(json_object_get(doc, "vcpu_count")), 2);
	cr_assert_eq(json_integer_value(json_object_get(doc, "mem_size_mib")), 512);
}

Test(api, start_needs_a_kernel_and_happens_once)
{
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	cr_assert(strstr(fault(), "kernel"));
	cr_assert_eq(fk.starts, 0);
	start();
	cr_assert_eq(fk.starts, 1);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	cr_assert(strstr(fault(), "after starting"));
	cr_assert_eq(fk.starts, 1);
}

Test(api, a_failed_start_can_be_retried)
{
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 204);
	fk.fail = -EINVAL;
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	cr_assert(strstr(fault(), "no such file"), "the backend's reason: %s", fault());
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 204, "still configurable");
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
}

Test(api, configuration_is_refused_after_start)
{
	start();
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}"),
		     400);
	cr_assert(strstr(fault(), "after starting the microVM"));
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 400);
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"),
		     400);
	cr_assert_eq(req("PUT", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/x\", "
			 "\"is_root_device\": false}"),
		     400);
}

Test(api, run_time_requests_are_refused_before_start)
{
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Paused\"}"), 400);
	cr_assert(strstr(fault(), "before starting"));
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 400);
	cr_assert_eq(req("PUT", "/vmm/stop", "{}"), 400);
	cr_assert_eq(fk.pauses + fk.cads + fk.stops, 0);
}

Test(api, pause_and_resume)
{
	start();
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Paused\"}"), 204);
	cr_assert_eq(fk.pauses, 1);
	req("GET", "/vmm/state", NULL);
	cr_assert(json_is_true(json_object_get(doc, "paused")));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "state")), "Paused");
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 400,
		     "no key press into a paused guest");
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Resumed\"}"), 204);
	cr_assert_eq(fk.resumes, 1);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 204);
	cr_assert_eq(fk.cads, 1);
}

/* PowerButton (ours): after start, not while paused; the backend's error is the client's 400. */
Test(api, power_button)
{
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"PowerButton\"}"), 400);
	cr_assert(strstr(fault(), "before starting"), "%s", fault());
	start();
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"PowerButton\"}"), 204);
	cr_assert_eq(fk.buttons, 1);
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Paused\"}"), 204);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"PowerButton\"}"), 400);
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Resumed\"}"), 204);
	fk.fail = -ENODEV; /* --acpi off */
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"PowerButton\"}"), 400);
	cr_assert(strstr(fault(), "--acpi off"), "%s", fault());
	cr_assert_eq(fk.buttons, 2);
}

Test(api, a_failed_pause_keeps_the_state)
{
	start();
	fk.fail = -ETIMEDOUT;
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Paused\"}"), 400);
	cr_assert(strstr(fault(), "cannot pause"), "%s", fault());
	req("GET", "/", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "state")), "Running");
}

Test(api, drives_put_and_patch)
{
	const char *root = "{\"drive_id\": \"root\", \"path_on_host\": \"/r.img\", "
			   "\"is_root_device\": true, \"is_read_only\": false}";
	cr_assert_eq(req("PUT", "/drives/root", root), 204);
	cr_assert_eq(req("PUT", "/drives/data",
			 "{\"drive_id\": \"other\", \"path_on_host\": "
			 "\"/d\", \"is_root_device\": false}"),
		     400);
	cr_assert(strstr(fault(), "does not match"));
	cr_assert_eq(req("PUT", "/drives/data",
			 "{\"drive_id\": \"data\", \"path_on_host\": "
			 "\"/d\", \"is_root_device\": true}"),
		     400, "one root device");
	cr_assert_eq(req("PUT", "/drives/data",
			 "{\"drive_id\": \"data\", \"path_on_host\": "
			 "\"/d\", \"is_root_device\": false, "
			 "\"io_engine\": \"Sync\"}"),
		     204);
	cr_assert_eq(req("PUT", "/drives/root", root), 204, "the same id replaces");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *drives = json_object_get(doc, "drives");
	cr_assert_eq(json_array_size(drives), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(drives, 1), "io_engine")),
			 "Sync");
	cr_assert_eq(req("PATCH", "/drives/data",
			 "{\"drive_id\": \"data\", \"path_on_host\": "
			 "\"/new\"}"),
		     400, "PATCH is for a running VM");
	start();
	cr_assert_eq(req("PATCH", "/drives/zzz",
			 "{\"drive_id\": \"zzz\", \"path_on_host\": "
			 "\"/new\"}"),
		     400, "an unknown id is 400 as in Firecracker");
	cr_assert_eq(req("PATCH", "/drives/data",
			 "{\"drive_id\": \"data\", \"path_on_host\": "
			 "\"/new\"}"),
		     204);
	cr_assert_eq(fk.patch_index, 1);
	cr_assert_str_eq(fk.patch_path, "/new");
	req("GET", "/vm/config", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(doc, "drives"), 1), "path_on_host")),
			 "/new");
}

Test(api, network_interfaces)
{
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			 "\"guest_mac\": \"01:00:00:00:00:01\"}"),
		     400, "multicast MAC");
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"a-very-long-tap-name\"}"),
		     400);
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			 "\"guest_mac\": \"52:54:00:aa:bb:cc\"}"),
		     204);
	req("GET", "/vm/config", NULL);
	json_t *nic = json_array_get(json_object_get(doc, "network-interfaces"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(nic, "host_dev_name")), "tap0");
}

Test(api, metrics_set_once_and_flush)
{
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 400);
	cr_assert_eq(req("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\"}"), 204);
	cr_assert_str_eq(fk.metrics_path, "/tmp/m");
	cr_assert_eq(req("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m2\"}"), 400);
	cr_assert(strstr(fault(), "Reinitialization"));
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 204);
	cr_assert_eq(fk.flushes, 1);
	fk.fail = -EAGAIN;
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 400);
}

/* Firecracker's emit_id puts the instance id (GET /'s) on every line; properties go as given;
 * a refused body or a failed sink leaves the metrics unset. */
Test(api, metrics_emit_id_and_properties)
{
	cr_assert_eq(
	    req("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\", \"properties\": {\"n\": 1}}"),
	    400);
	cr_assert(strstr(fault(), "must be a string"), "%s", fault());
	cr_assert_eq(fk.sets, 0);
	fk.fail = -ENOENT;
	cr_assert_eq(req("PUT", "/metrics", "{\"metrics_path\": \"/nope/m\", \"emit_id\": true}"),
		     400);
	cr_assert_eq(req("PUT", "/metrics",
			 "{\"metrics_path\": \"/tmp/m\", \"emit_id\": true, "
			 "\"properties\": {\"customer_id\": \"1234\", \"bundle_id\": \"fn-abc\"}}"),
		     204, "%s", resp.body);
	cr_assert_str_eq(metrics_id, api.id);
	cr_assert_str_eq(metrics_props, "{\"bundle_id\":\"fn-abc\",\"customer_id\":\"1234\"}");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *mj = json_object_get(doc, "metrics");
	cr_assert(json_is_true(json_object_get(mj, "emit_id")), "%s", resp.body);
	cr_assert_not_null(json_object_get(json_object_get(mj, "properties"), "bundle_id"));
}

Test(api, metrics_without_emit_id_carry_no_id)
{
	cr_assert_eq(req("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\", \"emit_id\": false}"),
		     204);
	cr_assert_str_eq(metrics_id, "-");
	cr_assert_str_eq(metrics_props, "-");
}

Test(api, our_endpoints_serve_the_metrics_document)
{
	cr_assert_eq(req("GET", "/vmm/devices", NULL), 200);
	cr_assert(json_is_array(doc));
	cr_assert_eq(json_array_size(doc), 0, "no VM yet");
	start();
	cr_assert_eq(req("GET", "/vmm/devices", NULL), 200);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(doc, 0), "name")),
			 "virtio-blk");
	cr_assert_eq(req("GET", "/vmm/vcpus", NULL), 200);
	cr_assert_eq(json_array_size(doc), 1);
	cr_assert_eq(req("GET", "/vmm/metrics", NULL), 200);
	cr_assert(json_is_object(json_object_get(doc, "api")));
}

Test(api, graceful_stop)
{
	start();
	cr_assert_eq(req("PUT", "/vmm/stop", "{\"timeout_ms\": 5000000}"), 400);
	cr_assert_eq(req("PUT", "/vmm/stop", "{\"timeout_ms\": 1500}"), 204);
	cr_assert_eq(fk.stop_timeout, 1500);
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Paused\"}"), 400);
	cr_assert(strstr(fault(), "stopping"));
	api_set_stopping(&api);
	cr_assert_eq(req("GET", "/", NULL), 200, "reads still work while stopping");
}

Test(api, a_path_that_is_not_utf8_still_gets_a_json_fault)
{
	cr_assert_eq(req("GET", "/\xff\xfe/x", NULL), 400);
	cr_assert(strstr(fault(), "GET ?"
				  "?/x"),
		  "%s", fault());
}

Test(api, snapshot_create_needs_a_paused_vm)
{
	const char *body = "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"/s\", "
			   "\"mem_file_path\": \"/m\"}";
	cr_assert_eq(req("PUT", "/snapshot/create", body), 400, "not started");
	start();
	cr_assert_eq(req("PUT", "/snapshot/create", body), 400);
	cr_assert(strstr(fault(), "pause it first"), "%s", fault());
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Paused\"}"), 204);
	cr_assert_eq(req("PUT", "/snapshot/create",
			 "{\"snapshot_type\": \"Delta\", \"snapshot_path\": \"/s\", "
			 "\"mem_file_path\": \"/m\"}"),
		     400);
	cr_assert_eq(req("PUT", "/snapshot/create",
			 "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"/s\", "
			 "\"mem_file_path\": \"/m\"}"),
		     204);
	cr_assert_str_eq(fk.patch_path, "/s|/m|diff");
	cr_assert_eq(req("PUT", "/snapshot/create", "{\"snapshot_path\": \"/s\"}"), 400);
	cr_assert_eq(req("PUT", "/snapshot/create", body), 204);
	cr_assert_str_eq(fk.patch_path, "/s|/m");
}

Test(api, snapshot_load_before_start_only)
{
	cr_assert_eq(req("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\"}"), 400,
		     "a memory file is needed");
	cr_assert_eq(
	    req("PUT", "/snapshot/load",
		"{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
		"\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/m\"}}"),
	    400, "not both");
	cr_assert_eq(
	    req("PUT", "/snapshot/load",
		"{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
		"\"network_overrides\": [{\"iface_id\": \"eth9\", \"host_dev_name\": \"t\"}, "
		"{\"iface_id\": \"eth9\", \"guest_mac\": \"02:00:00:00:00:01\"}]}"),
	    400, "one NIC twice");
	cr_assert(strstr(fault(), "given twice"), "%s", fault());
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"network_overrides\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\"}, "
			 "{\"iface_id\": \"b\", \"host_dev_name\": \"t\"}, "
			 "{\"iface_id\": \"c\", \"host_dev_name\": \"t\"}, "
			 "{\"iface_id\": \"d\", \"host_dev_name\": \"t\"}, "
			 "{\"iface_id\": \"e\", \"host_dev_name\": \"t\"}]}"),
		     400, "more overrides than NICs");
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"network_overrides\": [{\"iface_id\": \"net0\"}]}"),
		     400, "neither a tap nor a MAC");
	cr_assert_eq(
	    req("PUT", "/snapshot/load",
		"{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": "
		"\"File\", \"backend_path\": \"/m\"}, \"resume_vm\": true, "
		"\"network_overrides\": [{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap9\"}]}"),
	    204);
	/* a NIC override for the NIC named eth1, found by snapshot_open()
	 * (vmm/snapshot/vm_snapshot.h) */
	cr_assert_str_eq(fk.patch_path, "/s|/m|1|eth1:tap=tap9");
	req("GET", "/", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "state")), "Running");
	cr_assert_eq(
	    req("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}"),
	    400, "only before start");
}

Test(api, a_loaded_snapshot_stays_paused_unless_resumed)
{
	cr_assert_eq(
	    req("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}"),
	    204);
	req("GET", "/", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "state")), "Paused");
}

#define RL_BODY                                                                                    \
	"{\"bandwidth\": {\"size\": 2097152, \"refill_time\": 1000}, "                             \
	"\"ops\": {\"size\": 500, \"one_time_burst\": 100, \"refill_time\": 1000}}"

Test(api, drive_rate_limiter_put_and_patch)
{
	memset(&rl, 0, sizeof(rl));
	cr_assert_eq(req("PUT", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			 "false, \"rate_limiter\": {\"bandwidth\": {\"size\": 1}}}"),
		     400, "refill_time is required");
	cr_assert(strstr(fault(), "rate_limiter.bandwidth"), "%s", fault());
	cr_assert_eq(req("PUT", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			 "false, \"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": "
			 "0}}}"),
		     204, "refill_time 0: no limit (Firecracker's rule)");
	cr_assert_not(
	    rate_limiter_cfg_active((struct rate_limiter_cfg[1]){drive_rl(&api.model, 0)}));
	cr_assert_eq(req("PUT", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			 "false, \"rate_limiter\": {\"iops\": {}}}"),
		     400, "unknown bucket");
	cr_assert_eq(req("PUT", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			 "false, \"rate_limiter\": " RL_BODY "}"),
		     204);
	cr_assert_eq(drive_rl(&api.model, 0).bw.size, 2097152);
	cr_assert_eq(drive_rl(&api.model, 0).ops.one_time_burst, 100);
	req("GET", "/vm/config", NULL);
	json_t *d = json_array_get(json_object_get(doc, "drives"), 0);
	cr_assert_eq(json_integer_value(json_object_get(
			 json_object_get(json_object_get(d, "rate_limiter"), "ops"), "size")),
		     500);
	cr_assert_eq(
	    req("PATCH", "/drives/d", "{\"drive_id\": \"d\", \"rate_limiter\": " RL_BODY "}"), 400,
	    "PATCH is for a running VM");
	start();
	cr_assert_eq(req("PATCH", "/drives/d",
			 "{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\": {\"size\": "
			 "4096, \"refill_time\": 100}}}"),
		     204);
	cr_assert_eq(rl.calls, 1);
	cr_assert_eq(rl.drive.cfg.bw.size, 4096);
	cr_assert(rl.drive.has_bw);
	cr_assert_not(rl.drive.has_ops, "a missing bucket is not named");
	cr_assert_eq(fk.patches, 0, "no path: the file stays");
	cr_assert_eq(drive_rl(&api.model, 0).bw.refill_ms, 100);
	cr_assert_eq(drive_rl(&api.model, 0).ops.size, 500, "ops stays");
	fk.fail = -EINVAL;
	cr_assert_eq(req("PATCH", "/drives/d",
			 "{\"drive_id\": \"d\", \"rate_limiter\": {\"ops\": {\"size\": 0, "
			 "\"refill_time\": 0}}}"),
		     400);
	cr_assert_eq(drive_rl(&api.model, 0).ops.size, 500, "a failed change is not recorded");
	cr_assert_eq(req("PATCH", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/n\", \"rate_limiter\": {}}"),
		     204);
	cr_assert_eq(fk.patches, 1);
	cr_assert_eq(rl.calls, 2, "{} names no bucket: the limiter is not touched");
	cr_assert_eq(drive_rl(&api.model, 0).bw.size, 4096, "{} changes no limit");
}

Test(api, nic_rate_limiters_put_and_patch)
{
	memset(&rl, 0, sizeof(rl));
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			 "\"rx_rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": -1}}}"),
		     400);
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			 "\"tx_rate_limiter\": " RL_BODY "}"),
		     204);
	cr_assert_eq(nic_tx(&api.model, 0).bw.size, 2097152);
	cr_assert_eq(nic_rx(&api.model, 0).bw.size, 0);
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": " RL_BODY "}"),
		     400, "PATCH is for a running VM");
	start();
	cr_assert_eq(req("PATCH", "/network-interfaces/eth9",
			 "{\"iface_id\": \"eth9\", \"rx_rate_limiter\": " RL_BODY "}"),
		     400);
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}"),
		     400, "only the limiters can change");
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": " RL_BODY "}"),
		     204);
	cr_assert_eq(rl.calls, 1);
	cr_assert(rl.rx.has_bw && rl.rx.has_ops);
	cr_assert_not(rate_limiter_patch_any(&rl.tx), "tx unchanged");
	cr_assert_eq(rl.rx.cfg.ops.size, 500);
	cr_assert_eq(nic_rx(&api.model, 0).ops.size, 500);
	cr_assert_eq(nic_tx(&api.model, 0).bw.size, 2097152);
	req("GET", "/vm/config", NULL);
	json_t *n = json_array_get(json_object_get(doc, "network-interfaces"), 0);
	cr_assert_not_null(json_object_get(n, "rx_rate_limiter"));
	cr_assert_not_null(json_object_get(n, "tx_rate_limiter"));
}

/* PATCH /network-interfaces "egress": PUT's rules, after start; a rule that does not parse is
 * a 400 that reaches no device; the new rules are GET /vm/config's. */
Test(api, nic_egress_patched_after_start)
{
	memset(&eg, 0, sizeof(eg));
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			 "\"egress\": [\"10.0.0.0/8\"]}"),
		     204);
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"egress\": [\"10.0.2.2/32:tcp:80\"]}"),
		     400, "PATCH is for a running VM");
	start();
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"egress\": [\"10.0.2.2/33\"]}"),
		     400);
	cr_assert(strstr(fault(), "egress[0]"), "%s", fault());
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"egress\": \"10.0.2.2\"}"),
		     400, "an array, as PUT's");
	cr_assert_eq(eg.calls, 0, "bad rules reach no device");
	cr_assert_eq(
	    req("PATCH", "/network-interfaces/eth0",
		"{\"iface_id\": \"eth0\", \"egress\": [\"10.0.2.2/32:tcp:80;dns=10.0.2.3\","
		" \"serve=tcp:22\"]}"),
	    204);
	cr_assert_eq(eg.calls, 1);
	cr_assert_eq(eg.index, 0);
	cr_assert(eg.rules.on);
	cr_assert_eq(eg.rules.n, 3);
	req("GET", "/vm/config", NULL);
	json_t *e = json_object_get(json_array_get(json_object_get(doc, "network-interfaces"), 0),
				    "egress");
	cr_assert_eq(json_array_size(e), 3);
	cr_assert_str_eq(json_string_value(json_array_get(e, 0)), "10.0.2.2/32:tcp:80");
	cr_assert_str_eq(json_string_value(json_array_get(e, 1)), "dns=10.0.2.3");
	fk.fail = -ENOMEM;
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"egress\": [\"none\"]}"),
		     400, "a device that failed (Firecracker answers 400)");
	req("GET", "/vm/config", NULL);
	e = json_object_get(json_array_get(json_object_get(doc, "network-interfaces"), 0),
			    "egress");
	cr_assert_eq(json_array_size(e), 3, "a failed change is not recorded");
	cr_assert_eq(
	    req("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"egress\": []}"),
	    204);
	req("GET", "/vm/config", NULL);
	e = json_object_get(json_array_get(json_object_get(doc, "network-interfaces"), 0),
			    "egress");
	cr_assert_str_eq(json_string_value(json_array_get(e, 0)), "none");
	/* null, as in PUT: back to no policy (not a PATCH without "egress") */
	cr_assert_eq(
	    req("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"egress\": null}"),
	    204);
	cr_assert_eq(eg.calls, 4, "null reaches the device: it removes the policy");
	cr_assert_not(eg.rules.on);
	cr_assert_eq(eg.rules.n, 0);
	req("GET", "/vm/config", NULL);
	cr_assert_null(json_object_get(
			   json_array_get(json_object_get(doc, "network-interfaces"), 0), "egress"),
		       "no policy: GET /vm/config shows none");
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": " RL_BODY "}"),
		     204);
	cr_assert_eq(eg.calls, 4, "a PATCH without \"egress\" leaves the policy alone");
}

Test(api, vsock_put_before_start_and_shown_in_vm_config)
{
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}"), 400,
		     "CID 2 is the host's");
	cr_assert(strstr(fault(), "guest_cid"), "%s", fault());
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 4294967295, \"uds_path\": \"/v\"}"),
		     400);
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"\"}"), 400);
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 3}"), 400);
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"x\": 1}"),
		     400);
	cr_assert_eq(req("GET", "/vsock", NULL), 400);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert_null(json_object_get(doc, "vsock"), "no vsock until one is put");
	cr_assert_eq(req("PUT", "/vsock",
			 "{\"vsock_id\": \"v1\", \"guest_cid\": 3, \"uds_path\": \"/tmp/a.sock\"}"),
		     204);
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 7, \"uds_path\": \"/tmp/v.sock\"}"), 204,
		     "a second PUT replaces the first");
	req("GET", "/vm/config", NULL);
	json_t *v = json_object_get(doc, "vsock");
	cr_assert_eq(json_integer_value(json_object_get(v, "guest_cid")), 7);
	cr_assert_str_eq(json_string_value(json_object_get(v, "uds_path")), "/tmp/v.sock");
	cr_assert_null(json_object_get(v, "vsock_id"));
	start();
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 5, \"uds_path\": \"/tmp/v.sock\"}"),
		     400);
	cr_assert(strstr(fault(), "after starting"));
	req("GET", "/vm/config", NULL);
	v = json_object_get(doc, "vsock");
	cr_assert_eq(json_integer_value(json_object_get(v, "guest_cid")), 7, "unchanged");
}

/* Firecracker's entropy device is the virtio-rng (--rng): its rate_limiter's buckets, bytes and
 * requests, with their one-time bursts, as Firecracker applies them. */
Test(api, entropy_put_before_start_and_shown_in_vm_config)
{
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert_null(json_object_get(doc, "entropy"), "no entropy device until one is put");
	cr_assert_eq(req("PUT", "/entropy", "{\"x\": 1}"), 400, "unknown field");
	cr_assert_eq(req("PUT", "/entropy",
			 "{\"rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": 100}, "
			 "\"bandwidth\": {\"size\": 1000, \"one_time_burst\": 5, "
			 "\"refill_time\": 100}}}"),
		     204, "an ops bucket and a one-time burst");
	req("GET", "/vm/config", NULL);
	json_t *rl = json_object_get(json_object_get(doc, "entropy"), "rate_limiter");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rl, "ops"), "size")), 10);
	cr_assert_eq(
	    json_integer_value(json_object_get(json_object_get(rl, "bandwidth"), "one_time_burst")),
	    5);
	cr_assert_eq(req("PUT", "/entropy", "{\"rate_limiter\": null}"), 204, "null is absent");
	req("GET", "/vm/config", NULL);
	json_t *e = json_object_get(doc, "entropy");
	cr_assert(json_is_object(e) && !json_object_get(e, "rate_limiter"), "unlimited");
	cr_assert_eq(req("PUT", "/entropy",
			 "{\"rate_limiter\": {\"bandwidth\": {\"size\": 4096, \"refill_time\": "
			 "250}}}"),
		     204, "a second PUT replaces the first");
	req("GET", "/vm/config", NULL);
	json_t *bw = json_object_get(
	    json_object_get(json_object_get(doc, "entropy"), "rate_limiter"), "bandwidth");
	cr_assert_eq(json_integer_value(json_object_get(bw, "size")), 4096);
	cr_assert_eq(json_integer_value(json_object_get(bw, "refill_time")), 250);
	start();
	cr_assert_eq(req("PUT", "/entropy", "{}"), 400);
	cr_assert(strstr(fault(), "after starting"), "%s", fault());
}

/* The bucket `bucket` ("bandwidth" or "ops") of limiter `key` of element 0 of `list` in GET
 * /vm/config: its size, or -1 when the limiter or the bucket is not shown. */
static long long shown_size(const char *list, const char *key, const char *bucket)
{
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *dev = json_array_get(json_object_get(doc, list), 0);
	json_t *b = json_object_get(json_object_get(dev, key), bucket);
	return b ? json_integer_value(json_object_get(b, "size")) : -1;
}

#define PATCH_D(rl) "{\"drive_id\": \"d\", \"rate_limiter\": " rl "}"

/* Firecracker's PATCH: a bucket not in the body stays as it is; size 0 or refill_time 0 removes
 * that bucket; a body without rate_limiter, or with {}, changes no limit. */
Test(api, a_drive_patch_changes_only_the_buckets_it_names)
{
	cr_assert_eq(req("PUT", "/drives/d",
			 "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			 "false, \"rate_limiter\": " RL_BODY "}"),
		     204);
	start();
	cr_assert_eq(req("PATCH", "/drives/d",
			 PATCH_D("{\"bandwidth\": {\"size\": 4096, \"refill_time\": 100}}")),
		     204);
	cr_assert_eq(shown_size("drives", "rate_limiter", "bandwidth"), 4096);
	cr_assert_eq(shown_size("drives", "rate_limiter", "ops"), 500, "ops is left as it was");
	cr_assert_eq(req("PATCH", "/drives/d", PATCH_D("{}")), 204);
	cr_assert_eq(shown_size("drives", "rate_limiter", "bandwidth"), 4096, "{} changes nothing");
	cr_assert_eq(shown_size("drives", "rate_limiter", "ops"), 500);
	cr_assert_eq(
	    req("PATCH", "/drives/d", PATCH_D("{\"ops\": {\"size\": 0, \"refill_time\": 0}}")),
	    204);
	cr_assert_eq(shown_size("drives", "rate_limiter", "ops"), -1, "size 0 removes ops");
	cr_assert_eq(shown_size("drives", "rate_limiter", "bandwidth"), 4096);
	cr_assert_eq(req("PATCH", "/drives/d",
			 PATCH_D("{\"bandwidth\": {\"size\": 10, \"refill_time\": 0}}")),
		     204);
	cr_assert_eq(shown_size("drives", "rate_limiter", "bandwidth"), -1,
		     "refill_time 0 removes it too");
	cr_assert_eq(req("PATCH", "/drives/d",
			 PATCH_D("{\"bandwidth\": {\"size\": 10, \"refill_time\": 5}}")),
		     204);
	cr_assert_eq(req("PATCH", "/drives/d", "{\"drive_id\": \"d\", \"path_on_host\": \"/n\"}"),
		     204);
	cr_assert_eq(shown_size("drives", "rate_limiter", "bandwidth"), 10,
		     "a PATCH without rate_limiter keeps the limits");
}

Test(api, a_nic_patch_changes_only_the_directions_and_buckets_it_names)
{
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			 "\"rx_rate_limiter\": " RL_BODY ", \"tx_rate_limiter\": " RL_BODY "}"),
		     204);
	start();
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"ops\": {\"size\": 7, "
			 "\"refill_time\": 10}}}"),
		     204);
	cr_assert_eq(shown_size("network-interfaces", "tx_rate_limiter", "ops"), 7);
	cr_assert_eq(shown_size("network-interfaces", "tx_rate_limiter", "bandwidth"), 2097152,
		     "tx bandwidth is left as it was");
	cr_assert_eq(shown_size("network-interfaces", "rx_rate_limiter", "ops"), 500,
		     "rx is left as it was");
	cr_assert_eq(req("PATCH", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"bandwidth\": {\"size\": "
			 "0, \"refill_time\": 0}}}"),
		     204);
	cr_assert_eq(shown_size("network-interfaces", "rx_rate_limiter", "bandwidth"), -1);
	cr_assert_eq(shown_size("network-interfaces", "rx_rate_limiter", "ops"), 500);
	cr_assert_eq(shown_size("network-interfaces", "tx_rate_limiter", "ops"), 7);
}

/* ---- Firecracker's endpoints added for issue 27 ---- */

Test(api, version_is_firecrackers_model)
{
	cr_assert_eq(req("GET", "/version", NULL), 200);
	cr_assert(json_is_string(json_object_get(doc, "firecracker_version")));
	cr_assert_eq(json_object_size(doc), 1);
	cr_assert_eq(req("PUT", "/version", "{}"), 400);
}

Test(api, patch_machine_config_changes_only_what_it_names)
{
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}"),
		     204);
	cr_assert_eq(req("PATCH", "/machine-config", "{\"mem_size_mib\": 1024}"), 204);
	cr_assert_eq(api.model.vcpus, 2, "vcpu_count stays");
	cr_assert_eq(api.model.mem_mib, 1024);
	cr_assert_eq(req("PATCH", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"),
		     400);
	cr_assert_eq(api.model.mem_mib, 1024, "a bad value fails the whole update");
	cr_assert_eq(req("PATCH", "/machine-config", "{\"nope\": 1}"), 400);
	cr_assert_eq(req("PATCH", "/machine-config", "{\"huge_pages\": \"Transparent\"}"), 204);
	cr_assert(api.model.hugepages);
	cr_assert_eq(req("GET", "/machine-config", NULL), 200);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "huge_pages")), "Transparent");
	start();
	cr_assert_eq(req("PATCH", "/machine-config", "{\"mem_size_mib\": 64}"), 400,
		     "pre-boot only");
}

Test(api, firecrackers_missing_endpoints_say_why)
{
	cr_assert_eq(req("PATCH", "/balloon/hinting/start", "{}"), 400);
	cr_assert(strstr(fault(), "hinting"), "%s", fault());
}

/* PUT /cpu-config: Firecracker's custom template, checked strictly; a static cpu_template and a
 * custom one replace each other; GET /vm/config shows it. */
Test(api, cpu_config_custom_templates)
{
	const char *good = "{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", "
			   "\"flags\": 1, \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": "
			   "\"0bxxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx\"}]}], \"msr_modifiers\": [], "
			   "\"kvm_capabilities\": [\"!56\"]}";
	cr_assert_eq(req("PUT", "/cpu-config", good), 204, "%s", resp.body);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert(strstr(resp.body, "cpu-config"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/cpu-config",
			 "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", "
			 "\"modifiers\": [{\"register\": \"esi\", \"bitmap\": \"0b1\"}]}]}"),
		     400);
	cr_assert(strstr(fault(), "cpuid_modifiers[0].modifiers[0].register"), "%s", fault());
	cr_assert_eq(req("PUT", "/cpu-config",
			 "{\"msr_modifiers\": [{\"addr\": \"0x10a\", "
			 "\"bitmap\": \"0b2\"}]}"),
		     400);
	cr_assert(strstr(fault(), "msr_modifiers[0].bitmap"), "%s", fault());
	cr_assert_eq(req("PUT", "/cpu-config", "{\"cpu_id_modifiers\": []}"), 400, "unknown field");
	cr_assert_eq(req("PUT", "/machine-config",
			 "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"T2\"}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("GET", "/machine-config", NULL), 200);
	cr_assert(strstr(resp.body, "\"T2\""), "%s", resp.body);
	cr_assert_eq(req("PUT", "/machine-config",
			 "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"T3\"}"),
		     400);
	cr_assert(strstr(fault(), "T2A"), "%s", fault());
}

Test(api, nulls_are_absent)
{
	cr_assert_eq(req("PUT", "/boot-source",
			 "{\"kernel_image_path\": \"/k\", \"initrd_path\": null, "
			 "\"boot_args\": null}"),
		     204);
	cr_assert_null(api.model.initrd);
	cr_assert_eq(req("PUT", "/drives/rootfs",
			 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\", "
			 "\"is_root_device\": true, \"partuuid\": null, \"rate_limiter\": null, "
			 "\"socket\": null, \"io_engine\": \"Sync\"}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": null, \"mem_size_mib\": 64}"),
		     400, "a required field sent as null is missing");
	cr_assert(strstr(fault(), "vcpu_count"), "%s", fault());
}

/* Firecracker opens the kernel, initrd and drive files at PUT and says there which is wrong:
 * the body is checked first, then the files, and the model keeps what it had when either
 * fails. */
Test(api, files_are_checked_at_put)
{
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 204);
	cr_assert_str_eq(files.last, "/k|-");
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/bad/vmlinux\"}"), 400);
	cr_assert_str_eq(fault(), "kernel /bad/vmlinux: No such file or directory");
	cr_assert_eq(req("PUT", "/boot-source",
			 "{\"kernel_image_path\": \"/k2\", \"initrd_path\": \"/bad/initrd\"}"),
		     400);
	cr_assert(strstr(fault(), "initrd /bad/initrd"), "%s", fault());
	cr_assert_str_eq(api.model.kernel, "/k", "a refused PUT changes nothing");
	cr_assert_null(api.model.initrd);
	cr_assert_eq(
	    req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"initrd_path\": \"\"}"),
	    400, "an empty initrd_path names no file");

	int calls = files.calls;
	cr_assert_eq(req("PUT", "/drives/root",
			 "{\"drive_id\": \"root\", \"path_on_host\": \"/bad/disk\", "
			 "\"is_root_device\": true}"),
		     400);
	cr_assert_str_eq(fault(), "disk /bad/disk: No such file or directory");
	cr_assert_eq(ndrives(&api.model), 0);
	cr_assert_eq(
	    req("PUT", "/drives/root", "{\"drive_id\": \"root\", \"is_root_device\": true}"), 400,
	    "the body's own problem first");
	cr_assert(strstr(fault(), "path_on_host"), "%s", fault());
	cr_assert_eq(files.calls, calls + 1, "no file check for a bad body");
	cr_assert_eq(req("PUT", "/drives/root",
			 "{\"drive_id\": \"root\", \"path_on_host\": \"/r\", "
			 "\"is_root_device\": true, \"is_read_only\": true}"),
		     204);
	cr_assert_str_eq(files.last, "/r");
	cr_assert(files.ro, "checked in the mode the drive asks for");
	cr_assert_eq(req("PUT", "/drives/root",
			 "{\"drive_id\": \"root\", \"path_on_host\": \"/bad/r\", "
			 "\"is_root_device\": true}"),
		     400);
	cr_assert_str_eq(drive_path(&api.model, 0), "/r", "a refused PUT keeps the drive");
	cr_assert(drive_bool(&api.model, 0, "is_read_only"));
}

Test(api, snapshot_load_newer_fields)
{
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"clock_realtime\": 1}"),
		     400);
	cr_assert(strstr(fault(), "clock_realtime"), "%s", fault());
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"huge_pages\": \"2M\"}"),
		     400);
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"vsock_override\": {\"path\": \"/v\"}}"),
		     400);
	cr_assert(strstr(fault(), "`path`"), "%s", fault());
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"drive_overrides\": [{\"drive_id\": \"a\", \"path_on_host\": \"/x\"}, "
			 "{\"drive_id\": \"a\", \"path_on_host\": \"/y\"}]}"),
		     400);
	cr_assert(strstr(fault(), "drive_id `a` given twice"), "%s", fault());
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"huge_pages\": \"Huge\"}"),
		     400);
	cr_assert(strstr(fault(), "Snapshot, None, Transparent or 2M"), "%s", fault());
	cr_assert_eq(fk.starts, 0, "nothing refused reached the backend");
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"track_dirty_pages\": false, \"clock_realtime\": false, "
			 "\"huge_pages\": \"None\", \"vsock_override\": null}"),
		     204, "%s", resp.body);
	cr_assert_eq(loaded.track_dirty, API_LOAD_OFF);
	cr_assert_eq(loaded.thp, API_LOAD_OFF);
	cr_assert_not(loaded.clock_realtime);
}

/* track_dirty_pages and its older name enable_diff_snapshots are honoured, not ignored: either
 * turns dirty-page logging on for the restored VM, and without them it is off (Firecracker's
 * rule, whatever the snapshotted VM did). huge_pages Snapshot (the default) keeps the saved
 * setting, Transparent turns it on. */
static void load_with(const char *extra)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"%s}",
		 extra);
	api_destroy(&api); /* a load is once per process: a fresh router each time */
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
	cr_assert_eq(req("PUT", "/snapshot/load", body), 204, "%s: %s", extra, resp.body);
}

/* The files a load gives the snapshot's drives and vsock reach the backend as path overrides
 * (vmm/snapshot/vm_snapshot.h), which the restore may open (vmm/snapshot/restore_paths.h). */
Test(api, snapshot_load_passes_drive_and_vsock_overrides)
{
	cr_assert_eq(req("PUT", "/snapshot/load",
			 "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"drive_overrides\": [{\"drive_id\": \"root\", \"path_on_host\": "
			 "\"/img/r\"}, {\"drive_id\": \"drive1\", \"path_on_host\": \"/img/d\"}], "
			 "\"vsock_override\": {\"uds_path\": \"/run/v7\"}}"),
		     204, "%s", resp.body);
	cr_assert_str_eq(load_paths, "disk:root=/img/r;disk:drive1=/img/d;vsock:=/run/v7;");
}

Test(api, snapshot_load_honours_dirty_tracking_and_huge_pages)
{
	load_with("");
	cr_assert_eq(loaded.track_dirty, API_LOAD_OFF);
	cr_assert_eq(loaded.thp, API_LOAD_AS_SAVED);
	cr_assert_not(loaded.resume);
	load_with(", \"track_dirty_pages\": true");
	cr_assert_eq(loaded.track_dirty, API_LOAD_ON);
	load_with(", \"enable_diff_snapshots\": true, \"track_dirty_pages\": false");
	cr_assert_eq(loaded.track_dirty, API_LOAD_ON, "either name asks for it");
	load_with(", \"huge_pages\": \"Transparent\"");
	cr_assert_eq(loaded.track_dirty, API_LOAD_OFF);
	cr_assert_eq(loaded.thp, API_LOAD_ON);
	load_with(", \"huge_pages\": \"Snapshot\", \"resume_vm\": true");
	cr_assert_eq(loaded.thp, API_LOAD_AS_SAVED);
	cr_assert(loaded.resume);
	cr_assert_not(loaded.clock_realtime);
}

/* clock_realtime reaches the backend, which checks it against the snapshot and the host's KVM
 * (kvm_vm_restore()); a backend's refusal is the client's 400 with its reason. */
Test(api, snapshot_load_passes_clock_realtime)
{
	load_with(", \"clock_realtime\": true");
	cr_assert(loaded.clock_realtime);
	load_with(", \"clock_realtime\": false");
	cr_assert_not(loaded.clock_realtime);
}

static char *read_all(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(api, logger_writes_firecrackers_format_to_its_file)
{
	char path[] = "/tmp/test_api_logger_XXXXXX", body[256];
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(req("PUT", "/logger", "{\"level\": \"Loud\"}"), 400);
	cr_assert_eq(req("PUT", "/logger", "{\"log_path\": \"/nonexistent/x.log\"}"), 400);
	cr_assert(strstr(fault(), "No such file"), "%s", fault());
	snprintf(body, sizeof(body),
		 "{\"log_path\": \"%s\", \"level\": \"warning\", \"show_level\": true, "
		 "\"show_log_origin\": true, \"module\": null}",
		 path);
	cr_assert_eq(req("PUT", "/logger", body), 204, "%s", resp.body);
	log_info("not at this level");
	log_warn("a warning %d", 7);
	const char *text = read_all(path);
	cr_assert_null(strstr(text, "not at this level"), "%s", text);
	cr_assert(strstr(text, ":WARN:") && strstr(text, "test_api_router.c:") &&
		      strstr(text, "] a warning 7\n"),
		  "%s", text);
	char year[8];
	time_t now = time(NULL);
	strftime(year, sizeof(year), "%Y-", gmtime(&now));
	cr_assert_eq(strncmp(text, year, 5), 0, "a UTC timestamp first: %s", text);
	/* a second PUT reconfigures, as Firecracker's: what it leaves out keeps its value */
	cr_assert_eq(req("PUT", "/logger", "{\"level\": \"Info\"}"), 204, "%s", resp.body);
	log_info("now at this level");
	text = read_all(path);
	cr_assert(strstr(text, ":INFO:") && strstr(text, "] now at this level\n"), "%s", text);
	unlink(path);
}

/* A log_path that does not exist yet is created (Firecracker opens it with create); its
 * folder must exist. */
Test(api, logger_creates_its_file)
{
	char dir[] = "/tmp/test_api_logger_dir_XXXXXX", path[64], body[128];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/new.log", dir);
	snprintf(body, sizeof(body), "{\"log_path\": \"%s\"}", path);
	cr_assert_eq(req("PUT", "/logger", body), 204, "%s", resp.body);
	log_warn("into a new file");
	cr_assert(strstr(read_all(path), "] into a new file\n"));
	unlink(path);
	rmdir(dir);
}

Test(api, logger_off_and_module_filter)
{
	cr_assert_eq(req("PUT", "/logger", "{\"level\": \"Off\"}"), 204);
	cr_assert_eq(log_get_level(), LOG_ERROR);
}

/* mem_backend Uffd (vmm/snapshot/format/snap_uffd.h): backend_path must name a Unix socket at PUT.
 */
Test(api, snapshot_load_with_a_uffd_backend)
{
	char dir[] = "/tmp/test_api_uffd.XXXXXX", body[300];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/uffd.sock", dir);
	snprintf(body, sizeof(body),
		 "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
		 "\"backend_path\": \"%s\"}}",
		 sa.sun_path);
	cr_assert_eq(req("PUT", "/snapshot/load", body), 400);
	cr_assert(strstr(json_string_value(json_object_get(doc, "fault_message")),
			 "no page-fault handler socket"));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(
	    req("PUT", "/snapshot/load",
		"{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"uffd\", "
		"\"backend_path\": \"/m\"}}"),
	    400, "the type is spelled as Firecracker spells it");
	cr_assert_eq(req("PUT", "/snapshot/load", body), 204);
	cr_assert(loaded.uffd);
	cr_assert(strstr(fk.patch_path, sa.sun_path), "%s", fk.patch_path);
	close(s);
	unlink(sa.sun_path);
	rmdir(dir);
}

/* ---- virtio-fs through its descriptor's hooks only (issue 29, issue 26) ---- */

Test(api, fs_put_before_start_checked_and_shown_in_vm_config)
{
	cr_assert_eq(req("PUT", "/fs/f1", "{\"tag\": \"data\"}"), 400);
	cr_assert(strstr(fault(), "socket"), "%s", fault());
	cr_assert_eq(req("PUT", "/fs/f1", "{\"tag\": \"\", \"socket\": \"/s\"}"), 400,
		     "an empty tag");
	cr_assert(strstr(fault(), "tag"), "%s", fault());
	cr_assert_eq(
	    req("PUT", "/fs/f1",
		"{\"tag\": \"0123456789012345678901234567890123456\", \"socket\": \"/s\"}"),
	    400, "37 bytes: longer than the config space's tag");
	cr_assert_eq(
	    req("PUT", "/fs/f1", "{\"tag\": \"d\", \"socket\": \"/s\", \"num_queues\": 0}"), 400);
	cr_assert(strstr(fault(), "num_queues"), "%s", fault());
	cr_assert_eq(
	    req("PUT", "/fs/f1", "{\"tag\": \"d\", \"socket\": \"/s\", \"queue_size\": 3}"), 400);
	cr_assert(strstr(fault(), "queue_size"), "%s", fault());
	cr_assert_eq(req("PUT", "/fs/f1", "{\"tag\": \"d\", \"socket\": \"/s\", \"x\": 1}"), 400);
	cr_assert(strstr(fault(), "unknown field"), "%s", fault());
	cr_assert_eq(req("PUT", "/fs/f1", "{\"id\": \"f2\", \"tag\": \"d\", \"socket\": \"/s\"}"),
		     400);
	cr_assert(strstr(fault(), "does not match"), "%s", fault());
	cr_assert_eq(req("PUT", "/fs/a,b", "{\"tag\": \"d\", \"socket\": \"/s\"}"), 400);
	cr_assert_eq(req("PUT", "/fs", "{\"tag\": \"d\", \"socket\": \"/s\"}"), 400, "no id");
	cr_assert_eq(req("GET", "/fs/f1", NULL), 400);
	req("GET", "/vm/config", NULL);
	cr_assert_null(json_object_get(doc, "fs"), "none was accepted");

	cr_assert_eq(req("PUT", "/fs/f1", "{\"tag\": \"data\", \"socket\": \"/tmp/vfs.sock\"}"),
		     204);
	cr_assert_eq(req("PUT", "/fs/f2",
			 "{\"id\": \"f2\", \"tag\": \"logs\", \"socket\": \"/tmp/l.sock\","
			 " \"num_queues\": 1, \"queue_size\": 256}"),
		     204);
	cr_assert_eq(req("PUT", "/fs/f3", "{\"tag\": \"data\", \"socket\": \"/tmp/x.sock\"}"), 400,
		     "a tag is given once");
	cr_assert(strstr(fault(), "given twice"), "%s", fault());
	cr_assert_eq(req("PUT", "/fs/f1", "{\"tag\": \"data2\", \"socket\": \"/tmp/vfs.sock\"}"),
		     204, "a known id is replaced");
	req("GET", "/vm/config", NULL);
	json_t *fs = json_object_get(doc, "fs");
	cr_assert_eq(json_array_size(fs), 2);
	json_t *f1 = json_array_get(fs, 0), *f2 = json_array_get(fs, 1);
	cr_assert_str_eq(json_string_value(json_object_get(f1, "id")), "f1");
	cr_assert_str_eq(json_string_value(json_object_get(f1, "tag")), "data2");
	cr_assert_eq(json_integer_value(json_object_get(f1, "num_queues")), 1);
	cr_assert_eq(json_integer_value(json_object_get(f1, "queue_size")), 1024, "the default");
	cr_assert_str_eq(json_string_value(json_object_get(f2, "socket")), "/tmp/l.sock");
	cr_assert_eq(json_integer_value(json_object_get(f2, "queue_size")), 256);
	start();
	cr_assert_eq(req("PUT", "/fs/f4", "{\"tag\": \"t\", \"socket\": \"/s\"}"), 400);
	cr_assert(strstr(fault(), "after starting"), "%s", fault());
}

Test(api, a_ninth_fs_folder_is_refused_by_the_fs_parser_at_the_put)
{
	char path[32], body[96];
	for (int i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "/fs/f%d", i);
		snprintf(body, sizeof(body), "{\"tag\": \"t%d\", \"socket\": \"/s%d\"}", i, i);
		cr_assert_eq(req("PUT", path, body), i < 8 ? 204 : 400, "folder %d", i);
	}
	cr_assert(strstr(fault(), "at most 8"), "%s", fault());
	req("GET", "/vm/config", NULL);
	cr_assert_eq(json_array_size(json_object_get(doc, "fs")), 8, "the refused one is not kept");
}

Test(api, vhost_user_drive_and_nic_through_the_routes)
{
	cr_assert_eq(req("PUT", "/drives/v",
			 "{\"drive_id\": \"v\", \"socket\": \"/bad/blk.sock\", "
			 "\"is_root_device\": false}"),
		     204, "the socket is looked at by InstanceStart: the back-end may come later");
	cr_assert_eq(files.calls, 0, "no file to check");
	cr_assert_eq(
	    req("PUT", "/drives/w",
		"{\"drive_id\": \"w\", \"socket\": \"/w.sock\", \"is_root_device\": false, "
		"\"rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": 100}}}"),
	    400);
	cr_assert(strstr(fault(), "rate_limiter cannot be honoured with socket"), "%s", fault());
	cr_assert_eq(req("PUT", "/network-interfaces/vn",
			 "{\"iface_id\": \"vn\", \"vhost_user\": true, \"socket\": \"/net.sock\"}"),
		     204);
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"),
		     204);
	cr_assert_eq(req("PUT", "/mmds/config", "{\"network_interfaces\": [\"vn\"]}"), 400);
	cr_assert(strstr(fault(), "vhost-user NIC"), "%s", fault());
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *d = json_array_get(json_object_get(doc, "drives"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(d, "socket")), "/bad/blk.sock");
	cr_assert_null(json_object_get(d, "path_on_host"));
	json_t *n = json_array_get(json_object_get(doc, "network-interfaces"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(n, "socket")), "/net.sock");
	start();
	cr_assert_eq(req("PATCH", "/drives/v", "{\"drive_id\": \"v\", \"path_on_host\": \"/x\"}"),
		     400);
	cr_assert(strstr(fault(), "vhost-user disk"), "%s", fault());
	cr_assert_eq(fk.patches, 0);
	cr_assert_eq(req("PATCH", "/network-interfaces/vn",
			 "{\"iface_id\": \"vn\", \"tx_rate_limiter\": {\"ops\": {\"size\": 10, "
			 "\"refill_time\": 100}}}"),
		     400);
	cr_assert(strstr(fault(), "vhost-user NIC"), "%s", fault());
	cr_assert_eq(rl.calls, 0);
}
