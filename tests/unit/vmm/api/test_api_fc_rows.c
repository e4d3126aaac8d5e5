/* The requests where this VMM answered differently from Firecracker (issue 49's table), each
 * answered as Firecracker's current release does, through the router with a fake backend: path
 * normalization, null for a field that is not optional, an empty PATCH, the MMDS store after
 * PUT null, GET /vm/config before a boot source and GET /hotplug/memory before boot. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "virtio/core/rate_limiter.h"
#include "vmm/api/api_model.h"
#include "vmm/api/api_router.h"
#include "vmm/descriptors/device_table.h"

static struct api api;
static struct api_response resp;
static json_t *doc; /* the last 200's body */

static int f_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	(void)ctx, (void)m, (void)err, (void)errlen;
	return 0;
}

/* What a device's PUT names on the host (control_device_check.c on a real VMM): a tap named
 * "missing" does not exist, a vsock's folder /nonexistent neither. */
static int device_checks;
static int f_check_device(void *ctx, const struct device_desc *d, const json_t *doc, char *err,
			  size_t errlen)
{
	(void)ctx;
	device_checks++;
	const char *tap = json_string_value(json_object_get(doc, "host_dev_name"));
	const char *uds = json_string_value(json_object_get(doc, "uds_path"));
	if (!strcmp(d->api->section, "network-interfaces") && tap && !strcmp(tap, "missing")) {
		snprintf(err, errlen, "host_dev_name `missing`: no such network interface");
		return -ENODEV;
	}
	if (!strcmp(d->api->section, "vsock") && uds && !strncmp(uds, "/nonexistent/", 13)) {
		snprintf(err, errlen, "vsock: the directory of uds=%s: No such file", uds);
		return -ENOENT;
	}
	return 0;
}

/* PATCH /pmem/{id}'s change, as the running device would take it. */
static struct {
	int sets;
	char id[64];
	struct rate_limiter_cfg now;
} live;
static int f_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		      char *err, size_t errlen)
{
	(void)ctx, (void)index, (void)err, (void)errlen;
	cr_assert_str_eq(d->api->section, "pmem");
	cr_assert_str_eq(s->member, "rate_limiter");
	live.sets++;
	snprintf(live.id, sizeof(live.id), "%s", s->str);
	rate_limiter_cfg_patch(&live.now, s->rl[0]);
	*s->rl_now[0] = live.now;
	return 0;
}

static const struct api_backend_ops ops = {
    .start = f_start, .check_device = f_check_device, .live_set = f_live_set};

static void setup(void)
{
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

static void teardown(void)
{
	free(resp.body);
	json_decref(doc);
	api_destroy(&api);
}

TestSuite(api_fc_rows, .init = setup, .fini = teardown);

static unsigned req(const char *method, const char *path, const char *body)
{
	free(resp.body);
	json_decref(doc);
	doc = NULL;
	api_handle(&api, method, path, body, body ? strlen(body) : 0, &resp);
	if (resp.status == 200)
		doc = json_loads(resp.body, JSON_DECODE_ANY, NULL);
	return resp.status;
}

static const char *fault(void)
{
	static char msg[512];
	json_t *j = json_loads(resp.body ? resp.body : "", 0, NULL);
	snprintf(msg, sizeof(msg), "%s", json_string_value(json_object_get(j, "fault_message")));
	json_decref(j);
	return msg;
}

/* Firecracker trims every leading '/' and reads a last token with or without its '/'. */
Test(api_fc_rows, paths_are_normalized_as_firecrackers_router_does)
{
	cr_assert_eq(req("GET", "//machine-config", NULL), 200);
	cr_assert_eq(req("GET", "/machine-config/", NULL), 200);
	cr_assert_eq(req("GET", "///machine-config/", NULL), 200);
	cr_assert_eq(json_integer_value(json_object_get(doc, "vcpu_count")), 1);
	cr_assert_eq(req("PUT", "//drives/rootfs/",
			 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\", "
			 "\"is_root_device\": true}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("GET", "/vm/config/", NULL), 200);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(doc, "drives"), 0), "drive_id")),
			 "rootfs");
	cr_assert_eq(req("GET", "/machine-config//", NULL), 400, "one trailing '/' only");
	cr_assert_eq(req("GET", "/", NULL), 200);
	cr_assert_eq(req("GET", "//", NULL), 200);
}

/* Fields with a default that are not Option<> in Firecracker's models: null is a 400 there. */
Test(api_fc_rows, null_for_a_field_that_is_not_optional_is_refused)
{
	static const char *const refused[][2] = {
	    {"/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": null}"},
	    {"/machine-config",
	     "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"track_dirty_pages\": null}"},
	    {"/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": null}"},
	    {"/metrics", "{\"metrics_path\": \"/m\", \"emit_id\": null}"},
	    {"/balloon",
	     "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": null}"},
	    {"/drives/d",
	     "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false, "
	     "\"cache_type\": null}"},
	    {"/pmem/p", "{\"id\": \"p\", \"path_on_host\": \"/p\", \"read_only\": null}"},
	    {"/hotplug/memory", "{\"total_size_mib\": 1024, \"block_size_mib\": null}"},
	    {"/snapshot/load",
	     "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"resume_vm\": null}"},
	    {"/snapshot/create",
	     "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"snapshot_type\": null}"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		cr_assert_eq(req("PUT", refused[i][0], refused[i][1]), 400, "%s %s", refused[i][0],
			     refused[i][1]);
		cr_assert(strstr(fault(), "invalid type: null"), "%s", fault());
	}
	/* Option<> fields: null is absent */
	cr_assert_eq(req("PUT", "/machine-config",
			 "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"cpu_template\": null}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("PUT", "/boot-source",
			 "{\"kernel_image_path\": \"/k\", \"initrd_path\": null, "
			 "\"boot_args\": null}"),
		     204, "%s", resp.body);
	cr_assert_eq(
	    req("PUT", "/drives/d",
		"{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false, "
		"\"partuuid\": null, \"rate_limiter\": null, \"io_engine\": null}"),
	    204, "%s", resp.body);
	/* MachineConfigUpdate's fields are all Option<>: a null is absent, not a 400 */
	cr_assert_eq(req("PATCH", "/machine-config", "{\"smt\": null, \"vcpu_count\": 1}"), 204,
		     "%s", resp.body);
}

/* And in a config file, the same models. */
Test(api_fc_rows, null_for_a_field_that_is_not_optional_in_a_config_file)
{
	struct api_model m;
	char err[512] = "";
	json_t *root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
				  "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, "
				  "\"smt\": null}}",
				  0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "machine-config") && strstr(err, "`smt`"), "%s", err);
	json_decref(root);
	root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"pmem\": [{\"id\": "
			  "\"p\", \"path_on_host\": \"/p\", \"root_device\": null}]}",
			  0, NULL);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "pmem") && strstr(err, "`root_device`"), "%s", err);
	json_decref(root);
	api_model_free(&m);
}

/* Firecracker: "Empty PATCH request." for a patch that sets nothing, at any state. */
Test(api_fc_rows, an_empty_machine_config_patch_is_refused)
{
	cr_assert_eq(req("PATCH", "/machine-config", "{}"), 400);
	cr_assert_str_eq(fault(), "Empty PATCH request.");
	cr_assert_eq(req("PATCH", "/machine-config", "{\"smt\": null}"), 400);
	cr_assert_str_eq(fault(), "Empty PATCH request.");
	cr_assert_eq(req("PATCH", "/machine-config", "{\"mem_size_mib\": 512}"), 204);
	cr_assert_eq(req("GET", "/machine-config", NULL), 200);
	cr_assert_eq(json_integer_value(json_object_get(doc, "mem_size_mib")), 512);
}

/* Firecracker answers a null store with {}. */
Test(api_fc_rows, mmds_after_put_null_is_an_empty_object)
{
	cr_assert_eq(req("PUT", "/mmds", "null"), 204, "%s", resp.body);
	cr_assert_eq(req("GET", "/mmds", NULL), 200);
	cr_assert(json_is_object(doc) && !json_object_size(doc), "%s", resp.body);
	cr_assert_eq(req("PUT", "/mmds", "{\"a\": null}"), 204);
	cr_assert_eq(req("GET", "/mmds", NULL), 200);
	cr_assert(json_is_null(json_object_get(doc, "a")), "the store's nulls are data");
}

/* Firecracker's BootSourceConfig serialized unset: kernel_image_path "", the options null. */
Test(api_fc_rows, vm_config_before_a_boot_source)
{
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *b = json_object_get(doc, "boot-source");
	cr_assert_str_eq(json_string_value(json_object_get(b, "kernel_image_path")), "");
	cr_assert(json_is_null(json_object_get(b, "initrd_path")));
	cr_assert(json_is_null(json_object_get(b, "boot_args")));
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}"), 204);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	b = json_object_get(doc, "boot-source");
	cr_assert_str_eq(json_string_value(json_object_get(b, "kernel_image_path")), "/k");
}

/* A status of the running device: Firecracker has none before boot. */
Test(api_fc_rows, hotplug_memory_status_before_boot)
{
	cr_assert_eq(req("GET", "/hotplug/memory", NULL), 400);
	cr_assert_str_eq(fault(),
			 "The requested operation is not supported before starting the microVM.");
}

/* Firecracker opens a NIC's tap and binds a vsock's socket at PUT: what they name on the host is
 * refused then, 400 with the reason, and the model is left as it was. */
Test(api_fc_rows, a_missing_tap_or_vsock_folder_is_refused_at_put)
{
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"missing\"}"),
		     400);
	cr_assert(strstr(fault(), "no such network interface"), "%s", fault());
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/nonexistent/v\"}"),
		     400);
	cr_assert(strstr(fault(), "/nonexistent/v"), "%s", fault());
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "network-interfaces")), 0);
	cr_assert_null(json_object_get(doc, "vsock"));
	cr_assert_eq(req("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v\"}"), 204);
	cr_assert_eq(device_checks, 4);
	cr_assert_eq(req("PUT", "/network-interfaces/eth1",
			 "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"mtu\": 67}"),
		     400);
	cr_assert_eq(device_checks, 4, "a body refused is not looked at on the host");
}

/* PUT /serial (Firecracker 1.17's SerialConfig): the console's output into serial_out_path (a
 * file or a FIFO: the host side is checked by the backend), rate_limiter one TokenBucket; both
 * shown by GET /vm/config and taken by a config file. */
Test(api_fc_rows, serial_output_path)
{
	cr_assert_eq(req("PUT", "/serial", "{\"serial_out_path\": \"/tmp/serial.out\"}"), 204, "%s",
		     resp.body);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(doc, "serial"), "serial_out_path")),
	    "/tmp/serial.out");
	cr_assert_eq(req("PUT", "/serial",
			 "{\"serial_out_path\": \"/tmp/s\", \"rate_limiter\": {\"size\": 1024, "
			 "\"one_time_burst\": 4096, \"refill_time\": 100}}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *rl = json_object_get(json_object_get(doc, "serial"), "rate_limiter");
	cr_assert_eq(json_integer_value(json_object_get(rl, "size")), 1024);
	cr_assert_eq(json_integer_value(json_object_get(rl, "one_time_burst")), 4096);
	cr_assert_eq(json_integer_value(json_object_get(rl, "refill_time")), 100);
	cr_assert_eq(req("PUT", "/serial", "{\"rate_limiter\": {\"size\": 1}}"), 400,
		     "refill_time is required");
	cr_assert(strstr(fault(), "rate_limiter"), "%s", fault());
	cr_assert_eq(req("PUT", "/serial",
			 "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1, "
			 "\"refill_time\": 1}}}"),
		     400, "a TokenBucket, not a RateLimiter");
	cr_assert_eq(req("PUT", "/serial",
			 "{\"rate_limiter\": {\"size\": 1, \"refill_time\": 100000000000}}"),
		     400, "a refill time over a day");
	cr_assert_eq(req("PUT", "/serial", "{\"rate_limiter\": 5}"), 400);
	cr_assert_eq(req("PUT", "/serial", "{\"serial_out_path\": \"\"}"), 400);
	/* a comma is the path's: the record keeps it whole, no rate limit slips in */
	cr_assert_eq(req("PUT", "/serial", "{\"serial_out_path\": \"/tmp/a,bw=1:1\"}"), 204);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	const json_t *serial = json_object_get(doc, "serial");
	cr_assert_str_eq(json_string_value(json_object_get(serial, "serial_out_path")),
			 "/tmp/a,bw=1:1");
	cr_assert_null(json_object_get(serial, "rate_limiter"));
	cr_assert_eq(req("PUT", "/serial", "{\"serial_out_path\": null}"), 204, "stdio");
	cr_assert_eq(req("PUT", "/serial", "{\"nope\": 1}"), 400);
	cr_assert_eq(req("PUT", "/cpu-config", "{\"vcpu_features\": [{\"index\": 0}]}"), 400,
		     "aarch64's");
	cr_assert(strstr(fault(), "aarch64"), "%s", fault());
}

/* PUT /pmem/{id} takes Firecracker 1.17's rate_limiter; PATCH /pmem/{id} changes it on the
 * running device (before start: 400, as Firecracker), and GET /vm/config follows. */
Test(api_fc_rows, pmem_rate_limiter)
{
	cr_assert_eq(req("PUT", "/pmem/p0",
			 "{\"id\": \"p0\", \"path_on_host\": \"/p\", \"rate_limiter\": "
			 "{\"ops\": {\"size\": 10, \"refill_time\": 100}, \"bandwidth\": null}}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("PUT", "/pmem/p1",
			 "{\"id\": \"p1\", \"path_on_host\": \"/q\", \"rate_limiter\": "
			 "{\"ops\": {\"size\": 10}}}"),
		     400, "refill_time is required");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *rl =
	    json_object_get(json_array_get(json_object_get(doc, "pmem"), 0), "rate_limiter");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rl, "ops"), "size")), 10);
	cr_assert_eq(req("PATCH", "/pmem/p0", "{\"id\": \"p0\"}"), 400, "not before start");
	cr_assert(strstr(fault(), "before starting"), "%s", fault());
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}"), 204);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	cr_assert_eq(req("PATCH", "/pmem/p0", "{\"id\": \"p1\"}"), 400, "ids differ");
	cr_assert_eq(req("PATCH", "/pmem/zz", "{\"id\": \"zz\"}"), 400, "no such device");
	cr_assert_eq(req("PATCH", "/pmem/p0", "{\"id\": \"p0\"}"), 204, "nothing to change");
	cr_assert_eq(live.sets, 0);
	cr_assert_eq(req("PATCH", "/pmem/p0",
			 "{\"id\": \"p0\", \"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, "
			 "\"refill_time\": 1000}}}"),
		     204, "%s", resp.body);
	cr_assert_eq(live.sets, 1);
	cr_assert_str_eq(live.id, "p0");
	cr_assert_eq(live.now.bw.size, 1048576);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	rl = json_object_get(json_array_get(json_object_get(doc, "pmem"), 0), "rate_limiter");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(rl, "bandwidth"), "size")),
		     1048576);
}

/* GET /vm/config is a valid --config-file: the sections the rows above changed (memory
 * hotplug without its status fields, pmem with a rate limiter, serial, the boot source) load
 * again as they were shown. */
Test(api_fc_rows, vm_config_round_trips_as_a_config_file)
{
	struct api_model m;
	char err[512] = "";

	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}"), 204);
	cr_assert_eq(req("PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}"), 204);
	cr_assert_eq(req("PUT", "/pmem/p0",
			 "{\"id\": \"p0\", \"path_on_host\": \"/p\", \"rate_limiter\": "
			 "{\"bandwidth\": {\"size\": 4096, \"refill_time\": 10}}}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("PUT", "/serial",
			 "{\"serial_out_path\": \"/tmp/s.out\", \"rate_limiter\": {\"size\": 64, "
			 "\"refill_time\": 10}}"),
		     204);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, doc, err, sizeof(err)), 0, "%s: %s", err, resp.body);
	json_t *again = api_model_json(&m);
	cr_assert(json_equal(again, doc), "%s", resp.body);
	json_decref(again);
	api_model_free(&m);
}
