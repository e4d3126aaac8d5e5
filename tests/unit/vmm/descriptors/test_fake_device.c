/* Issue 65's "done means": a device added through its descriptor alone (its record, its API
 * section, its hotplug hooks, its path fields: defined here, registered with
 * device_table_add_for_test() as one more line of the table would be) reaches every front end
 * without an edit anywhere else: the command line (--fake), the config file, the API's PUT and
 * GET /vm/config (Firecracker's routes through the router), the configuration InstanceStart
 * builds, a snapshot's configuration written and read back (its path checked by the restore's
 * gate through the path field), and hotplug: Firecracker's PUT after the start and Cloud
 * Hypervisor's add route reach the backend with its record (its API hooks, device_api_ext), and
 * the generic hot-add's hooks find, make room for and create it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "tests/unit/fixtures/cli_args.h"
#include "tests/unit/vmm/api/route_fixture.h"
#include "vmm/api/api_hotplug.h"
#include "vmm/api/api_model.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/descriptors/device_table_test.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"

/* ---- the fake device: its block, record, option, API section and hotplug hooks ---- */

#define FAKE_MAX 4

struct fake_inst {
	char path[128]; /* a host file it would read */
	unsigned n;	/* a number, 1..16 */
	char id[32];	/* its API id, or "" (fake<N>) */
	int slot;	/* hotplug-slot=, or 0 */
};

struct fake_cfg {
	int count;
	struct fake_inst v[FAKE_MAX];
};

extern const struct device_desc device_fake;

static int set_str(char *dst, size_t len, const char *key, const char *value, char *err,
		   size_t errlen)
{
	if (!value[0] || strlen(value) >= len)
		return parse_fail(err, errlen, "%s: empty or too long", key);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int set_fake(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct fake_inst *f = dst;
	uint64_t v;
	if (!strcmp(key, "path"))
		return set_str(f->path, sizeof(f->path), key, value, err, errlen);
	if (!strcmp(key, "id"))
		return set_str(f->id, sizeof(f->id), key, value, err, errlen);
	if (parse_uint(value, 1, !strcmp(key, "n") ? 16 : 31, &v))
		return parse_fail(err, errlen, "%s=%s: out of range", key, value);
	*(!strcmp(key, "n") ? &f->n : (unsigned *)&f->slot) = (unsigned)v;
	return 0;
}

static const struct opt_key fake_keys[] = {
    {"path", 0, set_fake},	   {"n", 0, set_fake}, {"id", 0, set_fake},
    {"hotplug-slot", 0, set_fake}, {NULL, 0, NULL},
};

static int fake_count(const struct vm_config *cfg)
{
	const struct fake_cfg *c = device_cfg_find(cfg, &device_fake);
	return c ? c->count : 0;
}

static int fake_add(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	struct fake_inst f = {.n = 0};
	int r = opts_parse_items(items, fake_keys, &f, "expected path=PATH,n=N", err, errlen);
	if (!r && (!f.path[0] || !f.n))
		r = parse_fail(err, errlen, "path= and n= are needed");
	if (!r && fake_count(cfg) == FAKE_MAX)
		r = parse_fail(err, errlen, "at most %d fake devices", FAKE_MAX);
	struct fake_cfg *c = r ? NULL : device_cfg(cfg, &device_fake);
	if (!r && !c)
		return -ENOMEM;
	if (!r)
		c->v[c->count++] = f;
	return r;
}

static int fake_items(const struct vm_config *cfg, int i, struct opt_items *out,
		      enum virtio_transport *t)
{
	const struct fake_inst *f =
	    &((const struct fake_cfg *)device_cfg_find(cfg, &device_fake))->v[i];
	(void)t;
	int r = opt_items_add(out, "path", f->path);
	if (!r)
		r = opt_items_addf(out, "n", "%u", f->n);
	if (!r && f->id[0])
		r = opt_items_add(out, "id", f->id);
	if (!r && f->slot)
		r = opt_items_addf(out, "hotplug-slot", "%d", f->slot);
	return r;
}

static int parse_fake_option(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_fake, cfg, arg, err, errlen);
}

static const struct device_option fake_options[] = {
    {"fake", required_argument, "      --fake path=PATH,n=N  a fake device (a unit test's)\n",
     parse_fake_option},
    {NULL, 0, NULL, NULL},
};

/* PUT /fake/{id}: {"id"?, "path", "n"}. */
static int fake_check(const json_t *body, const char *id, const struct device_api_ctx *ctx,
		      json_t **doc, char *err, size_t errlen)
{
	const char *path = json_string_value(json_object_get(body, "path"));
	const json_t *n = json_object_get(body, "n");
	const char *named = json_string_value(json_object_get(body, "id"));
	(void)ctx;
	if (!json_is_object(body) || !path || !json_is_integer(n) || !id ||
	    (named && strcmp(named, id)))
		return parse_fail(err, errlen, "expected {\"id\", \"path\", \"n\"}");
	*doc = json_pack("{s:s, s:s, s:I}", "id", id, "path", path, "n", json_integer_value(n));
	return *doc ? 0 : -ENOMEM;
}

static int fake_to_items(const json_t *doc, struct opt_items *out, const struct device_desc **owner)
{
	(void)owner;
	int r = opt_items_add(out, "path", json_string_value(json_object_get(doc, "path")));
	if (!r)
		r = opt_items_addf(out, "n", "%lld",
				   (long long)json_integer_value(json_object_get(doc, "n")));
	if (!r)
		r = opt_items_add(out, "id", json_string_value(json_object_get(doc, "id")));
	return r;
}

static json_t *fake_describe(const struct vm_config *cfg)
{
	const struct fake_cfg *c = device_cfg_find(cfg, &device_fake);
	json_t *arr = c ? json_array() : NULL;
	for (int i = 0; arr && i < c->count; i++) {
		char id[40];
		snprintf(id, sizeof(id), "%s", c->v[i].id);
		if (!id[0])
			snprintf(id, sizeof(id), "fake%d", i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:i}", "id", id, "path",
						     c->v[i].path, "n", (int)c->v[i].n));
	}
	return arr;
}

/* Hot-adding it: Cloud Hypervisor's add route and body, and Firecracker's PUT after the start. */
static int fake_add_body(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	const char *path = json_string_value(json_object_get(body, "path"));
	const char *id = json_string_value(json_object_get(body, "id"));
	if (!path) {
		snprintf(err, errlen, "path: missing");
		return -EINVAL;
	}
	snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
	return opt_items_add(out->items, "path", path) ? -ENOMEM : 0;
}

static int fake_fc_add_check(const char *id, const struct opt_items *items, bool vhost_user,
			     char *err, size_t errlen)
{
	(void)id, (void)items;
	if (vhost_user)
		snprintf(err, errlen, "no vhost-user fake");
	return vhost_user ? -EINVAL : 0;
}

static const struct device_api_ext fake_ext = {
    .add_route = "/vmm/vm.add-fake", .add_body = fake_add_body, .fc_add_check = fake_fc_add_check};

static const struct device_api fake_api = {.section = "fake",
					   .route = "/fake/",
					   .id_field = "id",
					   .check = fake_check,
					   .to_items = fake_to_items,
					   .describe = fake_describe,
					   .ext = &fake_ext};

/* Hotplug: a stub create (a kind that plugs itself, nothing built). */
static int created;

static int fake_room(const struct vm_config *cfg, char *err, size_t errlen)
{
	return fake_count(cfg) < FAKE_MAX ? 0 : parse_fail(err, errlen, "no room");
}

static int fake_create(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		       struct virtio_dev **dev, char *err, size_t errlen)
{
	(void)vm, (void)rec, (void)x, (void)err, (void)errlen;
	created++;
	*dev = NULL;
	return 0;
}

static int fake_find(const struct vm_config *cfg, const char *id)
{
	const struct fake_cfg *c = device_cfg_find(cfg, &device_fake);
	for (int i = 0; c && i < c->count; i++)
		if (!strcmp(c->v[i].id, id))
			return i;
	return -1;
}

/* Its hotplug entries' kind, its own as every device's (the VM names none). */
static const struct vm_hotplug_kind fake_kind = {.name = "fake"};

static const struct device_hotplug fake_hotplug = {.kind = &fake_kind,
						   .stem = "fake",
						   .what = "a fake device",
						   .room = fake_room,
						   .create = fake_create,
						   .find = fake_find};

static const struct device_path_field fake_path_fields[] = {
    {"path", DEVICE_PATH_KIND_READ, "fake file", NULL, NULL, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths fake_paths = {"id", "fake", fake_path_fields};

const struct device_desc device_fake = {.name = "fake",
					.options = fake_options,
					.cfg_size = sizeof(struct fake_cfg),
					.api = &fake_api,
					.hotplug = &fake_hotplug,
					.record_count = fake_count,
					.record_items = fake_items,
					.record_add = fake_add,
					.paths = &fake_paths};

/* ---- the test's helpers ---- */

static char err[512];

static void add_fake(void)
{
	cr_assert_eq(device_table_add_for_test(&device_fake), 0);
}

static const struct fake_inst *inst(const struct vm_config *cfg, int i)
{
	const struct fake_cfg *c = device_cfg_find(cfg, &device_fake);
	cr_assert(c, "no fake device configured");
	cr_assert_gt(c->count, i);
	return &c->v[i];
}

static json_t *parse_json(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert(j, "test JSON: %s", text);
	return j;
}

/* The "fake" section of GET /vm/config for model `m`, as text (freed by the caller). */
static char *fake_section(const struct api_model *m)
{
	json_t *doc = api_model_json(m);
	cr_assert(doc);
	char *text = json_dumps(json_object_get(doc, "fake"), JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(doc);
	cr_assert(text, "GET /vm/config has no \"fake\" section");
	return text;
}

/* ---- the command line ---- */

Test(fake_device, the_command_line_takes_its_option, .init = quiet)
{
	struct vm_config cfg;
	add_fake();
	cr_assert_eq(PARSE(&cfg, "--kernel", "/k", "--fake", "path=/fk/a,,b,n=3", "--fake",
			   "path=/fk/c,n=16,id=c"),
		     CLI_RUN);
	cr_assert_str_eq(inst(&cfg, 0)->path, "/fk/a,b", "\",,\" is a comma in a value");
	cr_assert_eq(inst(&cfg, 0)->n, 3);
	cr_assert_str_eq(inst(&cfg, 1)->id, "c");
	cli_free(&cfg);
	cr_assert_eq(PARSE(&cfg, "--kernel", "/k", "--fake", "path=/fk/a,n=17"), CLI_EXIT_USAGE,
		     "its own checks refuse");
	cli_free(&cfg);
	cr_assert_eq(cli_option_path("fake")->use, CLI_PATH_CLAIMS,
		     "its option names host paths: its path fields say so, not a list in cli.c");
}

/* ---- the config file, the API and GET /vm/config ---- */

#define BOOT "{\"kernel_image_path\": \"/k\"}"

Test(fake_device, the_config_file_takes_its_section_and_start_builds_it)
{
	struct api_model m;
	struct vm_config cfg;
	char *append = NULL;
	int disks[8];
	add_fake();
	api_model_init(&m);
	json_t *root = parse_json("{\"boot-source\": " BOOT ", \"fake\": [{\"id\": \"f0\", "
				  "\"path\": \"/fk/a\", \"n\": 3}]}");
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	json_decref(root);
	char *text = fake_section(&m);
	cr_assert_str_eq(text, "[{\"id\": \"f0\", \"n\": 3, \"path\": \"/fk/a\"}]");
	free(text);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, disks, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(inst(&cfg, 0)->path, "/fk/a");
	cr_assert_str_eq(inst(&cfg, 0)->id, "f0");
	cr_assert_eq(inst(&cfg, 0)->n, 3);
	free(append);
	cli_free(&cfg);
	api_model_free(&m);

	api_model_init(&m);
	root = parse_json("{\"boot-source\": " BOOT ", \"fake\": [{\"id\": \"f0\", \"n\": 3}]}");
	cr_assert_neq(api_model_load(&m, root, err, sizeof(err)), 0, "a body without its path");
	cr_assert(strstr(err, "fake"), "the message names the section: %s", err);
	json_decref(root);
	api_model_free(&m);
}

static struct {
	int starts;
	struct vm_config cfg; /* what InstanceStart built */
	int adds;
	const struct device_desc *added; /* the last hot-add's descriptor */
	char spec[256];			 /* and its record's items */
} fk;

static int f_start(void *ctx, const struct api_model *m, char *e, size_t elen)
{
	char *append = NULL;
	int disks[8];
	(void)ctx;
	fk.starts++;
	vm_config_init(&fk.cfg);
	int r = control_build_config(&fk.cfg, m, &append, disks, e, elen);
	free(append);
	return r;
}

static int f_add(void *ctx, const struct api_hotplug_add *a, char *id, int *slot, char *e,
		 size_t elen)
{
	(void)ctx, (void)e, (void)elen;
	fk.adds++;
	fk.added = a->dev;
	cr_assert_eq(opt_items_format(&a->items, NULL, fk.spec, sizeof(fk.spec)), 0);
	snprintf(id, API_HOTPLUG_ID_MAX, "%s", a->id[0] ? a->id : "fake9");
	*slot = 5;
	return 0;
}

static int f_remove(void *ctx, const struct api_hotplug_remove *r, char *e, size_t elen)
{
	(void)ctx, (void)r, (void)e, (void)elen;
	return 0;
}

static const struct api_backend_ops ops = {
    .start = f_start, .hotplug_add = f_add, .hotplug_remove = f_remove};

static void router_setup(void)
{
	add_fake();
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

static void router_teardown(void)
{
	route_teardown();
	if (fk.starts)
		cli_free(&fk.cfg);
}

TestSuite(fake_api, .init = router_setup, .fini = router_teardown);

Test(fake_api, put_get_and_start)
{
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 204);
	cr_assert_eq(req("PUT", "/fake/f1", "{\"id\": \"f1\", \"path\": \"/fk/b\", \"n\": 2}"), 204,
		     "%s", resp.body);
	cr_assert_eq(req("PUT", "/fake/f1", "{\"path\": \"/fk/b\"}"), 400, "its own check");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *doc = parse_json(resp.body);
	const json_t *f = json_array_get(json_object_get(doc, "fake"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(f, "path")), "/fk/b", "%s", resp.body);
	json_decref(doc);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204, "%s",
		     resp.body);
	cr_assert_eq(fk.starts, 1);
	cr_assert_str_eq(inst(&fk.cfg, 0)->path, "/fk/b");
	cr_assert_str_eq(inst(&fk.cfg, 0)->id, "f1");
	cr_assert_eq(inst(&fk.cfg, 0)->n, 2);
}

/* A hot-add on its own route after InstanceStart (Firecracker's) and on its Cloud Hypervisor
 * add route reach the backend with the fake's descriptor and record, through its API hooks
 * alone (device_api_ext: fc_add_check, add_route, add_body). */
Test(fake_api, a_hot_add_on_its_routes_reaches_the_backend_with_its_record)
{
	cr_assert_eq(req("PUT", "/boot-source", BOOT), 204);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204, "%s",
		     resp.body);
	cr_assert_eq(req("PUT", "/fake/f2", "{\"id\": \"f2\", \"path\": \"/fk/c,d\", \"n\": 1}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.adds, 1, "Firecracker's hot-add reached the backend");
	cr_assert_eq(fk.added, &device_fake, "as the fake's");
	cr_assert(strstr(fk.spec, "path=/fk/c,,d"), "its record: %s", fk.spec);
	cr_assert(strstr(fk.spec, "n=1"), "its record: %s", fk.spec);
	cr_assert_eq(req("PUT", "/vmm/vm.add-fake", "{\"path\": \"/fk/e\"}"), 200, "%s", resp.body);
	cr_assert_eq(fk.adds, 2, "Cloud Hypervisor's add route reached the backend");
	cr_assert_eq(fk.added, &device_fake);
	cr_assert_str_eq(fk.spec, "path=/fk/e");
	cr_assert_eq(req("PUT", "/vmm/vm.add-fake", "{\"id\": \"x\"}"), 400, "%s", resp.body);
	cr_assert(says("path: missing"), "its own body check answers: %s", resp.body);
	cr_assert_eq(fk.adds, 2);
}

/* What the generic hot-add does reach: the descriptor found by its kind, its room, its stub
 * create, and the record a hot-added instance keeps (its items, id and hotplug slot), which a
 * snapshot writes and a restore reads back like any other. */
Test(fake_device, hotplug_hooks_and_the_record_of_a_hot_added_instance)
{
	struct vm_config cfg;
	struct opt_items rec = {0};
	struct virtio_dev *dev = (struct virtio_dev *)&cfg;
	struct device_hot_add x = {.id = "h0"};
	add_fake();
	vm_config_init(&cfg);
	const struct device_desc *d = device_table_hotplug_kind(&fake_kind);
	cr_assert_eq(d, &device_fake);
	cr_assert_eq(d->hotplug->room(&cfg, err, sizeof(err)), 0);
	cr_assert_eq(
	    opts_split("path=/fk/h,n=4,id=h0,hotplug-slot=5", NULL, &rec, err, sizeof(err)), 0);
	cr_assert_eq(d->hotplug->create(NULL, &rec, &x, &dev, err, sizeof(err)), 0);
	cr_assert_eq(created, 1);
	cr_assert_null(dev);
	cr_assert_eq(d->record_add(&cfg, &rec, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d->hotplug->find(&cfg, "h0"), 0);
	cr_assert_eq(inst(&cfg, 0)->slot, 5);
	char spec[128];
	cr_assert_eq(device_record_spec(&cfg, d, 0, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "path=/fk/h,n=4,id=h0,hotplug-slot=5");
	opt_items_free(&rec);
	cli_free(&cfg);
}

/* GET /vm/config of a VM started from the command line (or restored): the descriptor's
 * describe hook. */
Test(fake_device, get_vm_config_of_a_command_line, .init = quiet)
{
	struct vm_config cfg;
	struct api_model m;
	add_fake();
	cr_assert_eq(PARSE(&cfg, "--kernel", "/k", "--fake", "path=/fk/a,n=3"), CLI_RUN);
	api_model_init(&m);
	cr_assert_eq(api_model_from_config(&m, &cfg), 0);
	char *text = fake_section(&m);
	cr_assert_str_eq(text, "[{\"id\": \"fake0\", \"n\": 3, \"path\": \"/fk/a\"}]");
	free(text);
	api_model_free(&m);
	cli_free(&cfg);
}

/* ---- a snapshot's configuration ---- */

static struct vm vm;

Test(fake_device, a_snapshot_carries_its_record_and_checks_its_path, .init = quiet)
{
	struct vm_config cfg, back;
	struct snapshot_load l;
	add_fake();
	cr_assert_eq(PARSE(&cfg, "--kernel", "/k", "--fake", "path=/fk/a,,b,n=3,id=x"), CLI_RUN);
	vm.cfg = &cfg;
	vm.ncpus = 1;
	vm.mem.ram_size = 256ull << 20;
	char *text = vm_snapshot_config_text(&vm);
	cr_assert(text);
	cr_assert(strstr(text, "\"fake\""), "%s", text);

	vm_config_init(&back);
	cr_assert_eq(snapshot_open_config(&l, text, &back, err, sizeof(err)), -EACCES,
		     "a path nobody allowed");
	cr_assert(strstr(err, "fake file /fk/a,b (x)"), "refused by its path field: %s", err);
	snapshot_close(&l);
	cli_free(&back);

	vm_config_init(&back);
	back.landlock_rules = "/fk:ro";
	cr_assert_eq(snapshot_open_config(&l, text, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(inst(&back, 0)->path, "/fk/a,b");
	cr_assert_eq(inst(&back, 0)->n, 3);
	cr_assert_str_eq(inst(&back, 0)->id, "x");
	snapshot_close(&l);
	cli_free(&back);
	free(text);
	cli_free(&cfg);
}
