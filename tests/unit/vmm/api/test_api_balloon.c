/* The balloon's API (its descriptor's live hooks, vmm/descriptors/dev_balloon_live.c, and its
 * routes in vmm/api/api_routes_devices.c) against a fake backend: Firecracker's bodies for
 * PUT|PATCH|GET /balloon and GET|PATCH /balloon/statistics, which request is allowed when, the
 * documents, the config file and the --balloon spec. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_router.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/device_record.h"

static struct api api;
static struct {
	bool has_balloon;
	struct virtio_balloon_info info;
	uint64_t set_mib;
	uint32_t set_stats;
	int sets;
	int fail;
} fk;
static struct api_response resp;
static json_t *doc;

static int f_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	const json_t *b = api_devices_doc(m, "balloon"); /* what PUT /balloon left */
	fk.has_balloon = b != NULL;
	fk.info.target_pages =
	    (uint32_t)(json_integer_value(json_object_get(b, "amount_mib")) * 256);
	fk.info.stats_interval_s =
	    (uint32_t)json_integer_value(json_object_get(b, "stats_polling_interval_s"));
	fk.info.deflate_on_oom = json_is_true(json_object_get(b, "deflate_on_oom"));
	return 0;
}

static int f_info(void *ctx, struct virtio_balloon_info *info)
{
	(void)ctx;
	if (!fk.has_balloon)
		return -ENODEV;
	*info = fk.info;
	return 0;
}

static int f_set_target(void *ctx, uint64_t mib, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	fk.set_mib = mib;
	fk.sets++;
	if (fk.fail) {
		snprintf(err, errlen, "too big");
		return fk.fail;
	}
	fk.info.target_pages = (uint32_t)(mib * 256);
	return 0;
}

static int f_set_stats(void *ctx, uint32_t s, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	fk.set_stats = s;
	fk.sets++;
	return 0;
}

/* The backend's live calls, to the fake balloon: its documents are the descriptor's
 * (dev_balloon_live_doc()). */
static int f_live_get(void *ctx, const struct device_desc *d, const char *view, json_t **out)
{
	struct virtio_balloon_info info;
	int r = f_info(ctx, &info);

	cr_assert_str_eq(d->name, "balloon");
	return r ? r : dev_balloon_live_doc(&info, view, out);
}

static int f_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		      char *err, size_t errlen)
{
	cr_assert_str_eq(d->name, "balloon");
	cr_assert_eq(index, 0);
	return strcmp(s->member, "amount_mib") ? f_set_stats(ctx, (uint32_t)s->num, err, errlen)
					       : f_set_target(ctx, s->num, err, errlen);
}

static const struct api_backend_ops ops = {
    .start = f_start,
    .live_get = f_live_get,
    .live_set = f_live_set,
};

static void drop_response(void)
{
	free(resp.body);
	resp.body = NULL;
	json_decref(doc);
	doc = NULL;
}

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

static void teardown(void)
{
	drop_response();
	api_destroy(&api);
}

TestSuite(api_balloon, .init = setup, .fini = teardown);

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

static json_int_t num(const char *field)
{
	json_t *v = json_object_get(doc, field);
	cr_assert(json_is_integer(v), "%s in %s", field, resp.body);
	return json_integer_value(v);
}

static void start(void)
{
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}"), 204);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
}

#define PUT_BODY "{\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 5}"

Test(api_balloon, put_before_start_then_get)
{
	cr_assert_eq(req("GET", "/balloon", NULL), 400, "no balloon yet");
	cr_assert_eq(req("PUT", "/balloon", PUT_BODY), 204);
	cr_assert_eq(req("GET", "/balloon", NULL), 200);
	cr_assert_eq(num("amount_mib"), 64);
	cr_assert_eq(num("stats_polling_interval_s"), 5);
	cr_assert(json_is_true(json_object_get(doc, "deflate_on_oom")));
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert_not_null(json_object_get(doc, "balloon"));
	start();
	cr_assert(fk.has_balloon);
	cr_assert_eq(req("PUT", "/balloon", PUT_BODY), 400, "configuration is pre-boot");
	fk.info.actual_pages = 8192;
	cr_assert_eq(req("GET", "/balloon", NULL), 200);
	cr_assert_eq(num("amount_mib"), 64);
	cr_assert_eq(num("actual_mib"), 32);
}

Test(api_balloon, put_refuses_bad_bodies)
{
	cr_assert_eq(req("PUT", "/balloon", "{\"amount_mib\": 64}"), 400, "deflate_on_oom needed");
	cr_assert_eq(req("PUT", "/balloon", "{\"amount_mib\": -1, \"deflate_on_oom\": true}"), 400);
	cr_assert_eq(req("PUT", "/balloon", "{\"amount_mib\": 129, \"deflate_on_oom\": true}"), 400,
		     "more than the default 128 MiB");
	cr_assert_eq(
	    req("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"x\": 1}"), 400);
	cr_assert_eq(req("PUT", "/balloon",
			 "{\"amount_mib\": 1, \"deflate_on_oom\": true, "
			 "\"stats_polling_interval_s\": 86401}"),
		     400);
	cr_assert_eq(req("GET", "/balloon", NULL), 400, "nothing was configured");
}

Test(api_balloon, patch_changes_the_target_after_start)
{
	cr_assert_eq(req("PATCH", "/balloon", "{\"amount_mib\": 32}"), 400, "not before start");
	cr_assert_eq(req("PUT", "/balloon", PUT_BODY), 204);
	start();
	cr_assert_eq(req("PATCH", "/balloon", "{\"amount_mib\": 32}"), 204);
	cr_assert_eq(fk.set_mib, 32);
	cr_assert_eq(req("PATCH", "/balloon", "{\"amount_mib\": \"32\"}"), 400);
	cr_assert_eq(req("PATCH", "/balloon", "{}"), 400);
	fk.fail = -EINVAL;
	cr_assert_eq(req("PATCH", "/balloon", "{\"amount_mib\": 9999}"), 400);
	cr_assert(strstr(json_string_value(json_object_get(doc, "fault_message")), "too big"));
	cr_assert_eq(fk.sets, 2);
}

Test(api_balloon, statistics_use_firecrackers_names)
{
	cr_assert_eq(req("PUT", "/balloon", PUT_BODY), 204);
	cr_assert_eq(req("GET", "/balloon/statistics", NULL), 400, "not before start");
	start();
	fk.info.actual_pages = 512;
	fk.info.stats[VIRTIO_BALLOON_S_MEMFREE] = 1000;
	fk.info.stat_valid[VIRTIO_BALLOON_S_MEMFREE] = true;
	fk.info.stats[VIRTIO_BALLOON_S_HTLB_PGFAIL] = 3;
	fk.info.stat_valid[VIRTIO_BALLOON_S_HTLB_PGFAIL] = true;
	cr_assert_eq(req("GET", "/balloon/statistics", NULL), 200);
	cr_assert_eq(num("target_pages"), 64 * 256);
	cr_assert_eq(num("target_mib"), 64);
	cr_assert_eq(num("actual_pages"), 512);
	cr_assert_eq(num("actual_mib"), 2);
	cr_assert_eq(num("free_memory"), 1000);
	cr_assert_eq(num("hugetlb_failures"), 3);
	cr_assert_null(json_object_get(doc, "swap_in"), "not sent by the driver: left out");
	cr_assert_eq(req("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 9}"), 204);
	cr_assert_eq(fk.set_stats, 9);
	cr_assert_eq(req("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}"), 400);
	cr_assert_eq(req("PUT", "/balloon/statistics", "{}"), 400);
}

Test(api_balloon, statistics_need_an_interval_and_a_balloon)
{
	start();
	cr_assert_eq(req("GET", "/balloon", NULL), 400);
	cr_assert_eq(req("GET", "/balloon/statistics", NULL), 400);
	cr_assert_eq(req("PATCH", "/balloon", "{\"amount_mib\": 1}"), 400);
	cr_assert_eq(fk.sets, 0);
	fk.has_balloon = true;
	cr_assert_eq(req("GET", "/balloon/statistics", NULL), 400, "stats_polling_interval_s 0");
}

Test(api_balloon, config_file_and_spec)
{
	struct api_model m;
	char err[200] = "";
	json_t *root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
				  "\"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": false, "
				  "\"free_page_reporting\": true}}",
				  0, NULL);

	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	json_t *back = api_model_json(&m);
	cr_assert(
	    json_is_true(json_object_get(json_object_get(back, "balloon"), "free_page_reporting")));
	json_decref(back);
	struct vm_config cfg; /* InstanceStart gives the model's balloon to --balloon */
	int index[API_MAX_DRIVES];
	char *append = NULL;
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct dev_balloon_cfg *b = device_cfg_find(&cfg, &device_balloon);
	cr_assert_not_null(b, "the model's balloon is the device's block");
	struct virtio_balloon_opts o = b->opts;
	cli_free(&cfg);
	free(append);
	cr_assert_eq(o.target_mib, 16);
	cr_assert_eq(o.stats_interval_s, 0);
	cr_assert_not(o.deflate_on_oom);
	cr_assert(o.free_page_reporting);
	api_model_free(&m);
	json_decref(root);
	root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			  "\"balloon\": {\"amount_mib\": 16}}",
			  0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "balloon"));
	api_model_free(&m);
	json_decref(root);
}

Test(api_balloon, model_of_a_command_line_vm)
{
	struct vm_config cfg;
	struct api_model m;
	char err[200];

	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "balloon", "size=8,stats=3", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(api_model_from_config(&m, &cfg), 0);
	json_t *back = api_model_json(&m);
	json_t *b = json_object_get(back, "balloon");
	cr_assert_eq(json_integer_value(json_object_get(b, "amount_mib")), 8);
	cr_assert_eq(json_integer_value(json_object_get(b, "stats_polling_interval_s")), 3);
	json_decref(back);
	api_model_free(&m);
	cli_free(&cfg);
}
