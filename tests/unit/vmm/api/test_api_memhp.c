/* Memory hotplug and pmem in the API (virtio-mem's live hooks,
 * vmm/descriptors/dev_memhp_live.c, and their routes in vmm/api/api_routes_devices.c)
 * against a fake backend: Firecracker's bodies for PUT|PATCH|GET /hotplug/memory and PUT
 * /pmem/{id}, which request is allowed when, every bad value answered 400 with a fault_message,
 * the documents, the config file, the option specs and the model of a command-line VM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_router.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_memhp.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/device_record.h"

#define MIB (1ull << 20)

static struct api api;
static struct {
	bool has_memhp;
	struct virtio_mem_info info;
	uint64_t set_mib;
	int sets;
	int npmem;
	bool pmem_root;
} fk;
static struct api_response resp;
static json_t *doc;

static int f_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	const json_t *h = api_devices_doc(m, "memory-hotplug"); /* what PUT left */
	fk.has_memhp = h != NULL;
	fk.info = (struct virtio_mem_info){
	    .region_size = (uint64_t)json_integer_value(json_object_get(h, "total_size_mib")) * MIB,
	    .block_size = (uint64_t)json_integer_value(json_object_get(h, "block_size_mib")) * MIB,
	    .slot_size = (uint64_t)json_integer_value(json_object_get(h, "slot_size_mib")) * MIB};
	const json_t *p = api_devices_doc(m, "pmem");
	fk.npmem = (int)json_array_size(p);
	fk.pmem_root = json_is_true(json_object_get(json_array_get(p, 0), "root_device"));
	return 0;
}

static int f_info(void *ctx, struct virtio_mem_info *info)
{
	(void)ctx;
	if (!fk.has_memhp)
		return -ENODEV;
	*info = fk.info;
	return 0;
}

static int f_set(void *ctx, uint64_t mib, char *err, size_t errlen)
{
	(void)ctx, (void)err, (void)errlen;
	fk.set_mib = mib;
	fk.sets++;
	fk.info.requested_size = mib * MIB;
	return 0;
}

/* The backend's live calls, to the fake virtio-mem: its document is the descriptor's
 * (dev_memhp_live_doc()). */
static int f_live_get(void *ctx, const struct device_desc *d, const char *view, json_t **out)
{
	struct virtio_mem_info info;
	int r = f_info(ctx, &info);

	cr_assert_str_eq(d->name, "memory-hotplug");
	return r ? r : dev_memhp_live_doc(&info, view, out);
}

static int f_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		      char *err, size_t errlen)
{
	cr_assert_str_eq(d->name, "memory-hotplug");
	cr_assert_eq(index, 0);
	cr_assert_str_eq(s->member, "requested_size_mib");
	return f_set(ctx, s->num, err, errlen);
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

TestSuite(api_memhp, .init = setup, .fini = teardown);

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

static const char *fault_message(void)
{
	const char *m = json_string_value(json_object_get(doc, "fault_message"));
	cr_assert_not_null(m, "a fault_message in %s", resp.body);
	return m;
}

static void start(void)
{
	cr_assert_eq(req("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}"), 204);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
}

Test(api_memhp, put_before_start_then_get_and_patch)
{
	cr_assert_eq(req("GET", "/hotplug/memory", NULL), 400, "not before start");
	cr_assert_eq(req("PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}"), 204);
	cr_assert_eq(req("GET", "/hotplug/memory", NULL), 400, "a status: not before start");
	cr_assert(strstr(fault_message(), "not supported before starting"));
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 256}"), 400,
		     "not before start");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	/* the configuration alone, a valid config file section: no status fields */
	json_t *section = json_incref(json_object_get(doc, "memory-hotplug"));
	cr_assert_not_null(section);
	cr_assert_eq(json_integer_value(json_object_get(section, "total_size_mib")), 1024);
	cr_assert_eq(json_integer_value(json_object_get(section, "block_size_mib")), 2,
		     "Firecracker's default");
	cr_assert_eq(json_integer_value(json_object_get(section, "slot_size_mib")), 128);
	cr_assert_null(json_object_get(section, "plugged_size_mib"));
	cr_assert_null(json_object_get(section, "requested_size_mib"));
	json_decref(section);
	start();
	cr_assert(fk.has_memhp);
	cr_assert_eq(req("PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}"), 400,
		     "configuration is pre-boot");
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 256}"), 204);
	cr_assert_eq(fk.set_mib, 256);
	fk.info.plugged_size = 128 * MIB; /* a guest on its way */
	cr_assert_eq(req("GET", "/hotplug/memory", NULL), 200);
	cr_assert_eq(num("requested_size_mib"), 256);
	cr_assert_eq(num("plugged_size_mib"), 128);
	cr_assert_eq(num("total_size_mib"), 1024);
}

Test(api_memhp, bad_bodies_are_400_with_a_reason)
{
	const char *bad[][2] = {
	    {"{}", "total_size_mib"},
	    {"{\"total_size_mib\": -1}", "total_size_mib"},
	    {"{\"total_size_mib\": \"1G\"}", "total_size_mib"},
	    {"{\"total_size_mib\": 1024, \"x\": 1}", "x"},
	    {"{\"total_size_mib\": 1024, \"block_size_mib\": 1}", "block size"},
	    {"{\"total_size_mib\": 1024, \"block_size_mib\": 3}", "block size"},
	    {"{\"total_size_mib\": 1024, \"block_size_mib\": 0}", "block_size_mib"},
	    {"{\"total_size_mib\": 1024, \"slot_size_mib\": 64}", "slot size"},
	    {"{\"total_size_mib\": 1024, \"block_size_mib\": 8, \"slot_size_mib\": 132}",
	     "slot size"},
	    {"{\"total_size_mib\": 100}", "total size"},
	    {"{\"total_size_mib\": 1000}", "total size"},
	    {"{\"total_size_mib\": 0}", "total size"},
	    {"{\"total_size_mib\": 18446744073709551615}", ""},
	    {"{\"total_size_mib\": 2097152}", "at most"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(req("PUT", "/hotplug/memory", bad[i][0]), 400, "%s", bad[i][0]);
		cr_assert(strstr(fault_message(), bad[i][1]), "%s: %s", bad[i][0], fault_message());
	}
	cr_assert_eq(req("GET", "/hotplug/memory", NULL), 400, "nothing was configured");
}

Test(api_memhp, bad_patches_are_400)
{
	cr_assert_eq(req("PUT", "/hotplug/memory", "{\"total_size_mib\": 512}"), 204);
	start();
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{}"), 400);
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": \"1\"}"), 400);
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 513}"), 400);
	cr_assert(strstr(fault_message(), "at most total_size_mib (512)"), "%s", fault_message());
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 3}"), 400);
	cr_assert(strstr(fault_message(), "multiple of block_size_mib (2)"));
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 1e3}"), 400);
	cr_assert_eq(fk.sets, 0);
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 0}"), 204);
}

Test(api_memhp, no_device_after_start)
{
	start();
	cr_assert_eq(req("GET", "/hotplug/memory", NULL), 400);
	cr_assert_eq(req("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 2}"), 400);
	cr_assert(strstr(fault_message(), "No memory hotplug"));
}

/* Member `name` of element i of array a ("" when absent). */
static const char *str_at(const json_t *a, size_t i, const char *name)
{
	const char *s = json_string_value(json_object_get(json_array_get(a, i), name));
	return s ? s : "";
}

#define PMEM(id, path, extra) "{\"id\": \"" id "\", \"path_on_host\": \"" path "\"" extra "}"

Test(api_memhp, pmem_put_before_start)
{
	cr_assert_eq(
	    req("PUT", "/pmem/root",
		PMEM("root", "/img/root.ext4", ", \"root_device\": true, \"read_only\": true")),
	    204);
	cr_assert_eq(req("PUT", "/pmem/data", PMEM("data", "/img/data", "")), 204);
	cr_assert_eq(req("PUT", "/pmem/data", PMEM("data", "/img/data,1", "")), 204, "a comma");
	cr_assert_eq(req("PUT", "/pmem/data", PMEM("data", "/img/data2", "")), 204, "replaced");
	cr_assert_eq(req("PUT", "/pmem/x", PMEM("y", "/a", "")), 400, "ids differ");
	cr_assert(strstr(fault_message(), "does not match"));
	cr_assert_eq(req("PUT", "/pmem/x", PMEM("x", "", "")), 400, "empty path");
	cr_assert_eq(req("PUT", "/pmem/a,b", PMEM("a,b", "/a", "")), 400, "a comma in the id");
	cr_assert_eq(req("PUT", "/pmem/x", PMEM("x", "/a", ", \"root_device\": true")), 400,
		     "a second root");
	cr_assert(strstr(fault_message(), "root"));
	cr_assert_eq(
	    req("PUT", "/pmem/root",
		PMEM("root", "/img/root2.ext4", ", \"root_device\": true, \"read_only\": true")),
	    204, "the root device replaced by itself");
	cr_assert_eq(req("PUT", "/pmem/x", "{\"id\": \"x\"}"), 400, "no path");
	cr_assert_eq(req("PUT", "/pmem/x", PMEM("x", "/a", ", \"size\": 1")), 400);
	cr_assert_eq(req("PUT", "/drives/rootfs",
			 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/d\", "
			 "\"is_root_device\": true, \"is_read_only\": false}"),
		     400, "the root is a pmem device");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *p = json_object_get(doc, "pmem");
	cr_assert_eq(json_array_size(p), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 1), "path_on_host")),
			 "/img/data2");
	start();
	cr_assert_eq(fk.npmem, 2);
	cr_assert(fk.pmem_root);
	cr_assert_eq(req("PUT", "/pmem/late", PMEM("late", "/a", "")), 400, "pre-boot only");
}

Test(api_memhp, pmem_root_after_a_root_drive_is_refused)
{
	cr_assert_eq(req("PUT", "/drives/rootfs",
			 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/d\", "
			 "\"is_root_device\": true, \"is_read_only\": false}"),
		     204);
	cr_assert_eq(req("PUT", "/pmem/p", PMEM("p", "/a", ", \"root_device\": true")), 400);
	cr_assert_eq(req("PUT", "/pmem/p", PMEM("p", "/a", ", \"root_device\": false")), 204);
}

Test(api_memhp, config_file_and_specs)
{
	struct api_model m;
	char err[200] = "";
	json_t *root = json_loads(
	    "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
	    "\"memory-hotplug\": {\"total_size_mib\": 2048, \"block_size_mib\": 4, "
	    "\"slot_size_mib\": 256}, "
	    "\"pmem\": [{\"id\": \"r\", \"path_on_host\": \"/r\", \"root_device\": true, "
	    "\"read_only\": true}, {\"id\": \"d\", \"path_on_host\": \"/d\"}]}",
	    0, NULL);

	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	struct vm_config cfg; /* InstanceStart gives the model's region to --memory-hotplug */
	int index[API_MAX_DRIVES];
	char *append = NULL;
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct dev_memhp_cfg *hp = device_cfg_find(&cfg, &device_memhp);
	const struct dev_pmem_cfg *pm = device_cfg_find(&cfg, &device_pmem);
	cr_assert(hp && pm, "the model's region and pmem devices are the devices' blocks");
	cr_assert_eq(hp->opts.total, 2048 * MIB);
	cr_assert_eq(hp->opts.block_size, 4 * MIB);
	cr_assert_eq(hp->opts.slot_size, 256 * MIB);
	cr_assert_eq(pm->n, 2);
	cr_assert_str_eq(pm->dev[0].opts.path, "/r");
	cr_assert(pm->dev[0].opts.read_only && pm->dev[0].opts.root);
	cr_assert_str_eq(pm->dev[0].opts.id, "r", "the id is in the record: a snapshot keeps it");
	cr_assert_str_eq(pm->dev[1].opts.path, "/d");
	cr_assert_not(pm->dev[1].opts.read_only || pm->dev[1].opts.root);
	cr_assert_str_eq(pm->dev[1].opts.id, "d");
	cli_free(&cfg);
	free(append);
	api_model_free(&m);
	json_decref(root);

	root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			  "\"memory-hotplug\": {\"total_size_mib\": 100}}",
			  0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "memory-hotplug"), "%s", err);
	api_model_free(&m);
	json_decref(root);
	root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			  "\"pmem\": [{\"id\": \"r\"}]}",
			  0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "pmem[0]"), "%s", err);
	api_model_free(&m);
	json_decref(root);
}

Test(api_memhp, model_of_a_command_line_vm)
{
	struct vm_config cfg;
	struct api_model m;
	char err[200];

	vm_config_init(&cfg);
	cr_assert_eq(
	    cli_device_option(&cfg, "memory-hotplug", "total=1G,slot=256M", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(cli_device_option(&cfg, "pmem", "path=/a,ro", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_device_option(&cfg, "pmem", "path=/b,root", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cli_device_option(&cfg, "pmem", "path=/c,root", err, sizeof(err)), -EINVAL,
		     "a second root");
	cr_assert_eq(api_model_from_config(&m, &cfg), 0);
	json_t *back = api_model_json(&m);
	json_t *h = json_object_get(back, "memory-hotplug");
	cr_assert_eq(json_integer_value(json_object_get(h, "total_size_mib")), 1024);
	cr_assert_eq(json_integer_value(json_object_get(h, "slot_size_mib")), 256);
	json_t *p = json_object_get(back, "pmem");
	cr_assert_eq(json_array_size(p), 2);
	cr_assert_str_eq(str_at(p, 0, "id"), "pmem0");
	cr_assert(json_is_true(json_object_get(json_array_get(p, 0), "read_only")));
	cr_assert_str_eq(str_at(p, 1, "path_on_host"), "/b");
	cr_assert(json_is_true(json_object_get(json_array_get(p, 1), "root_device")));
	json_decref(back);
	api_model_free(&m);
	cli_free(&cfg);
}

/* PUT /pmem/{id} becomes --pmem ...,id=ID (the hook's to_items, checked above), which a snapshot
 * records and a load replays: GET /vm/config then shows the client's ids, not pmemN (issue
 * 27/30). */
Test(api_memhp, pmem_ids_survive_the_option_replay)
{
	static const char *const specs[] = {"path=/img/root,ro,root,id=rootfs",
					    "path=/img/data,id=scratch-1"};
	struct vm_config cfg;
	struct api_model m;
	char err[200];

	vm_config_init(&cfg);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(cli_device_option(&cfg, "pmem", specs[i], err, sizeof(err)), 0, "%s",
			     err);
	cr_assert_eq(cli_device_option(&cfg, "pmem", "path=/img/old", err, sizeof(err)), 0,
		     "an option without id (an older snapshot's) still gets pmemN: %s", err);
	cr_assert_eq(api_model_from_config(&m, &cfg), 0);
	json_t *back = api_model_json(&m);
	json_t *p = json_object_get(back, "pmem");
	cr_assert_eq(json_array_size(p), 3);
	cr_assert_str_eq(str_at(p, 0, "id"), "rootfs");
	cr_assert(json_is_true(json_object_get(json_array_get(p, 0), "root_device")));
	cr_assert(json_is_true(json_object_get(json_array_get(p, 0), "read_only")));
	cr_assert_str_eq(str_at(p, 1, "id"), "scratch-1");
	cr_assert_str_eq(str_at(p, 1, "path_on_host"), "/img/data");
	cr_assert_str_eq(str_at(p, 2, "id"), "pmem2");
	json_decref(back);
	api_model_free(&m);
	cli_free(&cfg);
}
