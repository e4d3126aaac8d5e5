/* Issue 52's second round of hotplug routes (vmm/api/api_hotplug.h, api_routes_hotplug.c):
 * Cloud Hypervisor's FsConfig (PUT /vmm/vm.add-fs) turned into a --fs argument or refused with
 * a reason; Firecracker's hot-add (PUT /drives/{id}, /network-interfaces/{id}, /pmem/{id}
 * after InstanceStart: the device's own body, its option without id=, 204 without a body) and
 * hot-unplug (DELETE on those routes: 204; not before the start; no body), against a fake
 * backend; a bad body never reaches it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "tests/unit/vmm/api/hotplug_spec.h"
#include "tests/unit/vmm/api/route_fixture.h"
#include "vmm/api/api_hotplug.h"
#include "vmm/api/api_router.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_vhost_user.h"

static char err[256];

/* Firecracker's hot-add of the record `record` (an option string, "path" first for a drive). */
static int fc(const char *section, const char *id, const char *record, bool vhost_user,
	      struct api_hotplug_add *out)
{
	struct opt_items items;
	bool path = !strcmp(section, "drives") && !vhost_user;
	cr_assert_eq(opts_split(record, path ? "path" : NULL, &items, err, sizeof(err)), 0);
	int r = api_hotplug_from_items(section, id, &items, vhost_user, out, err, sizeof(err));
	opt_items_free(&items);
	return took(out, r);
}

static int fs(const char *text, struct api_hotplug_add *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_hotplug_fs_parse(j, out, err, sizeof(err));
	json_decref(j);
	return took(out, r);
}

Test(api_hotplug_fs, bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(fs("{\"tag\": \"share\", \"socket\": \"/run/fs.sock\"}", &a), 0, "%s", err);
	cr_assert_eq(a.dev, &device_fs);
	cr_assert_str_eq(spec, "tag=share,socket=/run/fs.sock,num-queues=1,queue-size=1024");
	cr_assert_str_eq(a.id, "", "the backend names it (_fs0)");
	cr_assert_eq(fs("{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 2, \"queue_size\": "
			"256, \"id\": \"fs9\", \"pci_segment\": 0}",
			&a),
		     0, "%s", err);
	cr_assert_str_eq(spec, "tag=t,socket=/s,num-queues=2,queue-size=256");
	cr_assert_str_eq(a.id, "fs9");
}

Test(api_hotplug_fs, refusals)
{
	struct api_hotplug_add a;
	static const char *const bad[] = {
	    "{\"socket\": \"/s\"}",			   /* no tag */
	    "{\"tag\": \"t\"}",				   /* no socket */
	    "{\"tag\": \"\", \"socket\": \"/s\"}",	   /* empty tag */
	    "{\"tag\": \"a\\u0001\", \"socket\": \"/s\"}", /* a control character */
	    "{\"tag\": \"0123456789012345678901234567890123456\", \"socket\": \"/s\"}", /* 37 */
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 0}",
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 17}",
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"queue_size\": 1000}", /* not a power of two */
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"queue_size\": 2048}",
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"pci_segment\": 1}",
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"id\": \"a/b\"}",
	    "{\"tag\": \"t\", \"socket\": \"/s\", \"dax\": true}", /* unknown field */
	    "{\"tag\": 3, \"socket\": \"/s\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(fs(bad[i], &a), -EINVAL, "%s accepted", bad[i]);
		cr_assert(err[0], "%s: refused without a reason", bad[i]);
	}
}

Test(api_hotplug_fs, firecracker_options)
{
	struct api_hotplug_add a;
	cr_assert_eq(fc("drives", "hp1", "/d.img,ro,id=hp1,bw=10/100", false, &a), 0, "%s", err);
	cr_assert_eq(a.dev, &device_disk);
	cr_assert_str_eq(spec, "/d.img,ro,bw=10/100", "its id= goes: the backend adds it");
	cr_assert_str_eq(a.id, "hp1");
	cr_assert_eq(
	    fc("network-interfaces", "n1", "tap=tap5,mac=52:54:00:00:00:07,id=n1", false, &a), 0,
	    "%s", err);
	cr_assert_eq(a.dev, &device_net);
	cr_assert_str_eq(spec, "tap=tap5,mac=52:54:00:00:00:07");
	cr_assert_eq(fc("pmem", "pm1", "path=/p.img,id=pm1", false, &a), 0, "%s", err);
	cr_assert_eq(a.dev, &device_pmem);
	cr_assert_str_eq(spec, "path=/p.img");
	cr_assert_eq(fc("vsock", "v", "cid=3,uds=/v", false, &a), -ENOENT,
		     "Firecracker hot-adds no vsock");
	cr_assert_eq(fc("drives", "r", "/d.img,root,id=r", false, &a), -EINVAL);
	cr_assert(strstr(err, "root"), "%s", err);
	cr_assert_eq(fc("drives", "v", "vhost-user=/s,id=v", false, &a), 0,
		     "a file path is a path, whatever it reads as: %s", err);
	cr_assert_str_eq(spec, "vhost-user=/s");
	/* Firecracker's vhost-user drive ("socket"): its option, checked as --disk vhost-user= */
	cr_assert_eq(fc("drives", "v", "vhost-user=/s,num-queues=2,id=v", true, &a), 0, "%s", err);
	cr_assert(a.vhost_user);
	cr_assert_eq(a.dev, &device_vu_blk);
	cr_assert_str_eq(spec, "vhost-user=/s,num-queues=2");
	cr_assert_eq(fc("drives", "v", "vhost-user=/s,num-queues=999,id=v", true, &a), -EINVAL,
		     "the vhost-user parser's limits");
	cr_assert_eq(fc("drives", "v", "/d.img,id=v", true, &a), -EINVAL,
		     "vhost_user without its option");
	cr_assert_eq(fc("pmem", "v", "vhost-user=/s,id=v", true, &a), -EINVAL, "only a drive");
	cr_assert_eq(fc("network-interfaces", "u", "user,id=u", false, &a), -EINVAL,
		     "only a tap NIC");
}

/* ---- the routes ---- */

static struct {
	int adds, removes, result;
	const struct device_desc *dev; /* the request's descriptor */
	char option[1024], id[API_HOTPLUG_ID_MAX];
	char first[256]; /* the first item's value (a drive's path) */
	bool vhost_user;
	unsigned timeout;
} fk;

static int f_add(void *ctx, const struct api_hotplug_add *r, char *id, int *slot, char *e, size_t l)
{
	(void)ctx;
	fk.adds++;
	fk.dev = r->dev;
	cr_assert_eq(api_hotplug_add_spec(r, fk.option, sizeof(fk.option)), 0);
	snprintf(fk.first, sizeof(fk.first), "%s", r->items.n ? r->items.v[0].value : "");
	fk.vhost_user = r->vhost_user;
	snprintf(fk.id, sizeof(fk.id), "%s", r->id);
	if (fk.result) {
		snprintf(e, l, "fake: id %s: another device has it already", r->id);
		return fk.result;
	}
	snprintf(id, API_HOTPLUG_ID_MAX, "%s", r->id[0] ? r->id : "_fs0");
	*slot = 6;
	return 0;
}

static int f_remove(void *ctx, const struct api_hotplug_remove *r, char *e, size_t l)
{
	(void)ctx;
	fk.removes++;
	fk.timeout = r->timeout_ms;
	snprintf(fk.id, sizeof(fk.id), "%s", r->id);
	if (fk.result)
		snprintf(e, l, "fake: no device has the id %s", r->id);
	return fk.result;
}

static const struct api_backend_ops ops = {.hotplug_add = f_add, .hotplug_remove = f_remove};

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

TestSuite(api_hotplug_fc, .init = setup, .fini = route_teardown);

#define DRIVE "{\"drive_id\": \"hp1\", \"path_on_host\": \"/d.img\", \"is_root_device\": false"

Test(api_hotplug_fc, add_fs_answers_the_device_info)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/vm.add-fs", "{\"tag\": \"s\", \"socket\": \"/f.sock\"}"), 200,
		     "%s", resp.body);
	cr_assert(says("\"id\":\"_fs0\"") && says("\"bdf\":\"0000:00:06.0\""), "%s", resp.body);
	cr_assert_eq(fk.dev, &device_fs);
	cr_assert_str_eq(fk.option, "tag=s,socket=/f.sock,num-queues=1,queue-size=1024");
	cr_assert_eq(req("PUT", "/vmm/vm.add-fs", "{\"tag\": \"s\"}"), 400);
	cr_assert_eq(fk.adds, 1, "a bad body never reaches the backend");
}

Test(api_hotplug_fc, put_after_start_hot_adds)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/drives/hp1", DRIVE ", \"is_read_only\": true}"), 204, "%s",
		     resp.body);
	cr_assert_null(resp.body, "Firecracker's 204 has no body: %s", resp.body);
	cr_assert_eq(fk.dev, &device_disk);
	cr_assert_str_eq(fk.id, "hp1");
	cr_assert(!strstr(fk.option, "id="), "%s", fk.option);
	cr_assert(strncmp(fk.option, "/d.img,ro", 9) == 0, "%s", fk.option);
	cr_assert_eq(req("PUT", "/network-interfaces/n1",
			 "{\"iface_id\": \"n1\", \"host_dev_name\": \"tap5\"}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.dev, &device_net);
	cr_assert(strncmp(fk.option, "tap=tap5", 8) == 0, "%s", fk.option);
	cr_assert_eq(req("PUT", "/pmem/pm1",
			 "{\"id\": \"pm1\", \"path_on_host\": \"/p.img\", \"root_device\": false}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.dev, &device_pmem);
	cr_assert_eq(fk.adds, 3);
}

Test(api_hotplug_fc, put_after_start_refusals)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/drives/r",
			 "{\"drive_id\": \"r\", \"path_on_host\": \"/d\", "
			 "\"is_root_device\": true, \"is_read_only\": false}"),
		     400);
	cr_assert(says("root"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/drives/hp1",
			 "{\"drive_id\": \"other\", \"path_on_host\": "
			 "\"/d\", \"is_root_device\": false}"),
		     400, "the body's id differs from the path's");
	cr_assert_eq(req("PUT", "/drives/hp1", "{\"path_on_host\": 3}"), 400);
	cr_assert_eq(req("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}"), 400);
	cr_assert(says("not supported after starting"), "%s", resp.body);
	cr_assert_eq(fk.adds, 0, "nothing reached the backend");
	fk.result = -EEXIST;
	cr_assert_eq(req("PUT", "/drives/hp1", DRIVE ", \"is_read_only\": false}"), 400);
	cr_assert(says("another device has it"), "%s", resp.body);
	api.state = API_PAUSED;
	cr_assert_eq(req("PUT", "/drives/hp1", DRIVE ", \"is_read_only\": false}"), 400);
	cr_assert(says("paused"), "%s", resp.body);
}

Test(api_hotplug_fc, put_before_start_is_the_configuration)
{
	cr_assert_eq(req("PUT", "/drives/hp1", DRIVE ", \"is_read_only\": false}"), 204, "%s",
		     resp.body);
	cr_assert_eq(fk.adds, 0, "configured, not hot-added");
}

Test(api_hotplug_fc, delete_unplugs)
{
	cr_assert_eq(req("DELETE", "/drives/hp1", NULL), 400);
	cr_assert(says("not supported before starting"), "%s", resp.body);
	api_set_running(&api, NULL);
	cr_assert_eq(req("DELETE", "/drives/hp1", NULL), 204, "%s", resp.body);
	cr_assert_str_eq(fk.id, "hp1");
	cr_assert_eq(fk.timeout, 0, "the default timeout");
	cr_assert_eq(req("DELETE", "/network-interfaces/n1", NULL), 204);
	cr_assert_eq(req("DELETE", "/pmem/pm1", NULL), 204);
	cr_assert_eq(fk.removes, 3);
	cr_assert_eq(req("DELETE", "/drives/hp1", "{}"), 400, "a DELETE takes no body");
	cr_assert(says("Empty Delete request."), "%s", resp.body);
	cr_assert_eq(req("DELETE", "/vsock", NULL), 400);
	cr_assert(says("Invalid request method"), "%s", resp.body);
	cr_assert_eq(req("DELETE", "/drives/", NULL), 400);
	cr_assert_eq(fk.removes, 3);
	fk.result = -ENOENT;
	cr_assert_eq(req("DELETE", "/drives/nope", NULL), 400);
	cr_assert(says("no device has the id nope"), "%s", resp.body);
}

/* A hot-added drive's record holds its path whole: a comma is the path's, not an item's end. */
Test(api_hotplug_fc, a_comma_in_a_hot_added_path_stays_in_it)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/drives/hp1",
			 "{\"drive_id\": \"hp1\", \"path_on_host\": \"/d,ro\", "
			 "\"is_root_device\": false}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.adds, 1);
	cr_assert_str_eq(fk.first, "/d,ro");
}

/* Firecracker's vhost-user drive ("socket") after InstanceStart: its record is vhost-user-blk's,
 * the request says so, and the socket stays whole. */
Test(api_hotplug_fc, a_drive_with_a_socket_is_a_vhost_user_add)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/drives/vu1",
			 "{\"drive_id\": \"vu1\", \"socket\": \"/run/b,1.sock\", "
			 "\"is_root_device\": false}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.adds, 1);
	cr_assert_eq(fk.dev, &device_vu_blk);
	cr_assert(fk.vhost_user, "a vhost-user disk");
	cr_assert_str_eq(fk.first, "/run/b,1.sock");
}
