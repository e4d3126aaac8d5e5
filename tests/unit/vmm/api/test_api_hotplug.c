/* Device hotplug in the API (vmm/api/api_hotplug.h): Cloud Hypervisor's DiskConfig, NetConfig
 * and remove bodies turned into option arguments or refused with a reason, the PciDeviceInfo
 * answer, and the routes against a fake backend: a running VM only (not before the start, not
 * paused), the backend's refusal passed on as a 400, nothing reaches the backend from a bad
 * body. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "tests/unit/vmm/api/hotplug_spec.h"
#include "tests/unit/vmm/api/route_fixture.h"
#include "virtio/net/egress.h"
#include "vmm/api/api_hotplug.h"
#include "vmm/api/api_router.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/dev_vsock.h"

static char err[256];

static int disk(const char *text, struct api_hotplug_add *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_hotplug_disk_parse(j, out, err, sizeof(err));
	json_decref(j);
	return took(out, r);
}

static int net(const char *text, struct api_hotplug_add *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_hotplug_net_parse(j, out, err, sizeof(err));
	json_decref(j);
	return took(out, r);
}

static int vsock(const char *text, struct api_hotplug_add *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_hotplug_vsock_parse(j, out, err, sizeof(err));
	json_decref(j);
	return took(out, r);
}

static int pmem(const char *text, struct api_hotplug_add *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_hotplug_pmem_parse(j, out, err, sizeof(err));
	json_decref(j);
	return took(out, r);
}

static int removal(const char *text, struct api_hotplug_remove *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_hotplug_remove_parse(j, out, err, sizeof(err));
	json_decref(j);
	return r;
}

Test(api_hotplug, disk_bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(disk("{\"path\": \"/srv/d.img\"}", &a), 0, "%s", err);
	cr_assert_str_eq(spec, "/srv/d.img");
	cr_assert_str_eq(a.id, "", "the backend names it");
	cr_assert_eq(a.dev, &device_disk);
	cr_assert_eq(
	    disk("{\"path\": \"/d\", \"readonly\": true, \"direct\": true, \"num_queues\": "
		 "4, \"serial\": \"SN1\", \"id\": \"data0\", \"pci_segment\": 0, "
		 "\"iommu\": false, \"vhost_user\": false}",
		 &a),
	    0, "%s", err);
	cr_assert_str_eq(spec, "/d,ro,cache=none,num-queues=4,serial=SN1");
	cr_assert_str_eq(a.id, "data0");
	cr_assert_eq(disk("{\"path\": \"/d\", \"rate_limiter_config\": {\"bandwidth\": {\"size\": "
			  "1000, \"refill_time\": 100}}}",
			  &a),
		     0, "%s", err);
	cr_assert(strstr(spec, ",bw=1000:100"), "%s", spec);
}

static void disk_refused(const char *text, const char *why)
{
	struct api_hotplug_add a;
	cr_assert_eq(disk(text, &a), -EINVAL, "%s", text);
	cr_assert(strstr(err, why), "`%s`: '%s' not in '%s'", text, why, err);
}

Test(api_hotplug, disk_refusals)
{
	disk_refused("{}", "path");
	disk_refused("{\"path\": \"\"}", "empty");
	disk_refused("{\"path\": \"/a\\u0001b\"}", "control character");
	disk_refused("{\"path\": \"/d\", \"bogus\": 1}", "bogus");
	disk_refused("{\"path\": \"/d\", \"num_queues\": 0}", "num_queues");
	disk_refused("{\"path\": \"/d\", \"num_queues\": 9}", "num_queues");
	disk_refused("{\"path\": \"/d\", \"queue_size\": 128}", "queue_size");
	disk_refused("{\"path\": \"/d\", \"pci_segment\": 1}", "pci_segment");
	disk_refused("{\"path\": \"/d\", \"iommu\": true}", "iommu");
	disk_refused("{\"path\": \"/d\", \"vhost_user\": true}", "path");
	disk_refused("{\"path\": \"/d\", \"vhost_socket\": \"/s\"}", "vhost_socket");
	disk_refused("{\"path\": \"/d\", \"id\": \"a/b\"}", "id");
	disk_refused("{\"path\": \"/d\", \"readonly\": 1}", "readonly");
	disk_refused("{\"path\": \"/d\", \"rate_limiter_config\": {\"bandwidth\": {\"size\": 1}}}",
		     "refill_time");
}

/* Cloud Hypervisor's vhost-user disk: the --disk vhost-user= option, checked by its parser. */
Test(api_hotplug, vhost_user_disk_bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(disk("{\"vhost_user\": true, \"vhost_socket\": \"/run/blk.sock\"}", &a), 0,
		     "%s", err);
	cr_assert_eq(a.dev, &device_vu_blk);
	cr_assert_str_eq(spec, "vhost-user=/run/blk.sock");
	cr_assert_eq(disk("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"num_queues\": 2, "
			  "\"queue_size\": 128, \"id\": \"vu0\", \"pci_segment\": 0}",
			  &a),
		     0, "%s", err);
	cr_assert_str_eq(spec, "vhost-user=/s,num-queues=2,queue-size=128");
	cr_assert_str_eq(a.id, "vu0");
	cr_assert(a.vhost_user);
	cr_assert_eq(disk("{\"path\": \"/d\"}", &a), 0, "%s", err);
	cr_assert(!a.vhost_user, "a plain disk");
}

Test(api_hotplug, vhost_user_disk_refusals)
{
	disk_refused("{\"vhost_user\": true}", "vhost_socket");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"\"}", "empty");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"readonly\": true}",
		     "readonly");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"direct\": true}",
		     "direct");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"serial\": \"x\"}",
		     "serial");
	disk_refused(
	    "{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"rate_limiter_config\": {}}",
	    "rate_limiter_config");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"queue_size\": 100}",
		     "queue-size");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"num_queues\": 0}",
		     "num-queues");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"iommu\": true}", "iommu");
	disk_refused("{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"vhost_mode\": \"Client\"}",
		     "vhost_mode");
}

/* ... and NIC: a MAC and the one queue pair vu_net.h serves; no tap, Client mode only. */
Test(api_hotplug, vhost_user_net_bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(net("{\"vhost_user\": true, \"vhost_socket\": \"/run/n.sock\", \"mac\": "
			 "\"52:54:00:00:00:09\", \"num_queues\": 2, \"vhost_mode\": \"Client\", "
			 "\"mtu\": 1500, \"id\": \"vn0\"}",
			 &a),
		     0, "%s", err);
	cr_assert_eq(a.dev, &device_vu_net);
	cr_assert_str_eq(spec, "vhost-user=/run/n.sock,mac=52:54:00:00:00:09,num-queues=2");
	cr_assert_str_eq(a.id, "vn0");
	const char *bad[][2] = {
	    {"{\"vhost_user\": true}", "vhost_socket"},
	    {"{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"tap\": \"t\"}", "tap"},
	    {"{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"vhost_mode\": \"Server\"}",
	     "vhost_mode"},
	    {"{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"num_queues\": 4}", "num-queues"},
	    {"{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"mac\": \"01:00:00:00:00:01\"}",
	     "MAC"},
	    {"{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"mtu\": 9000}", "mtu"},
	    {"{\"vhost_user\": true, \"vhost_socket\": \"/s\", \"rate_limiter_config\": {}}",
	     "rate_limiter_config"},
	    {"{\"tap\": \"t\", \"vhost_mode\": \"Client\"}", "vhost_mode"},
	    {"{\"tap\": \"t\", \"vhost_socket\": \"/s\"}", "vhost_socket"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(net(bad[i][0], &a), -EINVAL, "%s", bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "`%s`: '%s' not in '%s'", bad[i][0], bad[i][1],
			  err);
	}
}

Test(api_hotplug, net_bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(net("{\"tap\": \"tap0\"}", &a), 0, "%s", err);
	cr_assert_str_eq(spec, "tap=tap0");
	cr_assert_eq(a.dev, &device_net);
	cr_assert_eq(net("{\"tap\": \"tap0\", \"mac\": \"52:54:00:12:34:56\", \"num_queues\": 4, "
			 "\"mtu\": 1500, \"id\": \"n1\", \"rate_limiter_config\": {\"ops\": "
			 "{\"size\": 10, \"refill_time\": 1000}}}",
			 &a),
		     0, "%s", err);
	cr_assert(!strncmp(spec, "tap=tap0,mac=52:54:00:12:34:56,queues=2", 39), "%s", spec);
	cr_assert(strstr(spec, ",rx-ops=10:1000") && strstr(spec, ",tx-ops=10:1000"),
		  "one limiter for each direction: %s", spec);
	cr_assert_str_eq(a.id, "n1");
}

Test(api_hotplug, net_refusals)
{
	struct api_hotplug_add a;
	const char *bad[][2] = {
	    {"{}", "tap"},
	    {"{\"tap\": \"t\\u007f\"}", "control character"},
	    {"{\"tap\": \"t\", \"num_queues\": 3}", "even"},
	    {"{\"tap\": \"t\", \"num_queues\": 18}", "num_queues"},
	    {"{\"tap\": \"t\", \"mtu\": 9000}", "mtu"},
	    {"{\"tap\": \"t\", \"ip\": \"10.0.0.1\"}", "ip"},
	    {"{\"tap\": \"t\", \"host_mac\": \"52:54:00:00:00:01\"}", "host_mac"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(net(bad[i][0], &a), -EINVAL, "%s", bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "`%s`: '%s' not in '%s'", bad[i][0], bad[i][1],
			  err);
	}
}

Test(api_hotplug, vsock_bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(vsock("{\"cid\": 3, \"socket\": \"/run/v.sock\"}", &a), 0, "%s", err);
	cr_assert_eq(a.dev, &device_vsock);
	cr_assert_str_eq(spec, "cid=3,uds=/run/v.sock");
	cr_assert_str_eq(a.id, "");
	cr_assert_eq(vsock("{\"cid\": 4294967294, \"socket\": \"v\", \"id\": \"vs1\", "
			   "\"iommu\": false, \"pci_segment\": 0}",
			   &a),
		     0, "%s", err);
	cr_assert_str_eq(spec, "cid=4294967294,uds=v");
	cr_assert_str_eq(a.id, "vs1");
}

Test(api_hotplug, vsock_refusals)
{
	struct api_hotplug_add a;
	char long_path[200];
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	char too_long[300];
	snprintf(too_long, sizeof(too_long), "{\"cid\": 3, \"socket\": \"/%s\"}", long_path);
	const char *bad[][2] = {
	    {"{\"socket\": \"/v\"}", "cid"},
	    {"{\"cid\": 3}", "socket"},
	    {"{\"cid\": 2, \"socket\": \"/v\"}", "cid"},
	    {"{\"cid\": 4294967295, \"socket\": \"/v\"}", "cid"},
	    {"{\"cid\": -3, \"socket\": \"/v\"}", "cid"},
	    {"{\"cid\": 3, \"socket\": \"\"}", "empty"},
	    {"{\"cid\": 3, \"socket\": \"/v\", \"iommu\": true}", "iommu"},
	    {"{\"cid\": 3, \"socket\": \"/v\", \"pci_segment\": 2}", "pci_segment"},
	    {"{\"cid\": 3, \"socket\": \"/v\", \"id\": \"a/b\"}", "id"},
	    {"{\"cid\": 3, \"socket\": \"/v\", \"queue_size\": 8}", "queue_size"},
	    {too_long, "socket"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(vsock(bad[i][0], &a), -EINVAL, "%s", bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "`%s`: '%s' not in '%s'", bad[i][0], bad[i][1],
			  err);
	}
}

Test(api_hotplug, pmem_bodies)
{
	struct api_hotplug_add a;
	cr_assert_eq(pmem("{\"file\": \"/srv/p.img\"}", &a), 0, "%s", err);
	cr_assert_eq(a.dev, &device_pmem);
	cr_assert_str_eq(spec, "path=/srv/p.img");
	cr_assert_eq(a.size, 0, "no size: the file's");
	cr_assert_eq(pmem("{\"file\": \"/p\", \"size\": 4194304, \"discard_writes\": true, "
			  "\"id\": \"pm1\", \"iommu\": false, \"pci_segment\": 0}",
			  &a),
		     0, "%s", err);
	cr_assert_str_eq(spec, "path=/p,ro", "discarded writes: a read-only window");
	cr_assert_eq(a.size, 4194304);
	cr_assert_str_eq(a.id, "pm1");
}

Test(api_hotplug, pmem_refusals)
{
	struct api_hotplug_add a;
	const char *bad[][2] = {{"{}", "file"},
				{"{\"file\": \"\"}", "empty"},
				{"{\"file\": \"/p\", \"size\": 0}", "size"},
				{"{\"file\": \"/p\", \"size\": 3000000}", "2 MiB"},
				{"{\"file\": \"/p\", \"iommu\": true}", "iommu"},
				{"{\"file\": \"/p\", \"pci_segment\": 1}", "pci_segment"},
				{"{\"file\": \"/p\", \"mergeable\": true}", "mergeable"},
				{"{\"file\": \"/p\", \"id\": \"a,b\"}", "id"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(pmem(bad[i][0], &a), -EINVAL, "%s", bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "`%s`: '%s' not in '%s'", bad[i][0], bad[i][1],
			  err);
	}
}

Test(api_hotplug, remove_bodies_and_the_answer)
{
	struct api_hotplug_remove r;
	cr_assert_eq(removal("{\"id\": \"hp0\"}", &r), 0, "%s", err);
	cr_assert_str_eq(r.id, "hp0");
	cr_assert_eq(r.timeout_ms, 0, "the default");
	cr_assert_eq(removal("{\"id\": \"hp0\", \"timeout_ms\": 250}", &r), 0, "%s", err);
	cr_assert_eq(r.timeout_ms, 250);
	cr_assert_eq(removal("{}", &r), -EINVAL);
	cr_assert_eq(removal("{\"id\": \"\"}", &r), -EINVAL);
	cr_assert_eq(removal("{\"id\": \"x\", \"timeout_ms\": 0}", &r), -EINVAL);
	cr_assert_eq(removal("{\"id\": \"x\", \"timeout_ms\": 600001}", &r), -EINVAL);
	json_t *info = api_hotplug_info_json("hp0", 0x1f);
	char *s = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_str_eq(s, "{\"bdf\":\"0000:00:1f.0\",\"id\":\"hp0\"}");
	free(s);
	json_decref(info);
}

/* ---- the routes ---- */

static struct {
	int adds, removes, result, patches, egress_patches;
	bool egress_on;
	unsigned egress_n;
	uint64_t last_bw_size;
	char last_option[1024];
	unsigned last_timeout;
} fk;

static int f_add(void *ctx, const struct api_hotplug_add *req, char *id, int *slot, char *e,
		 size_t l)
{
	(void)ctx;
	fk.adds++;
	cr_assert_eq(api_hotplug_add_spec(req, fk.last_option, sizeof(fk.last_option)), 0);
	if (fk.result) {
		snprintf(e, l, "fake: no free PCI hotplug slot");
		return fk.result;
	}
	snprintf(id, API_HOTPLUG_ID_MAX, "%s", req->id[0] ? req->id : "_disk0");
	*slot = 5;
	return 0;
}

static int f_remove(void *ctx, const struct api_hotplug_remove *req, char *e, size_t l)
{
	(void)ctx;
	fk.removes++;
	fk.last_timeout = req->timeout_ms;
	if (fk.result)
		snprintf(e, l, "fake: the guest did not release %s", req->id);
	return fk.result;
}

static int f_live(void *ctx, const struct device_desc *d, const char *id, struct device_live_set *s,
		  char *e, size_t l)
{
	bool nic = !strcmp(d->api->section, "network-interfaces");
	(void)ctx, (void)e, (void)l;
	if (strcmp(id, nic ? "hpnet0" : "hp0"))
		return -ENOENT;
	if (!strcmp(s->member, "egress")) {
		cr_assert(nic);
		fk.egress_patches++;
		fk.egress_on = s->egress->on;
		fk.egress_n = s->egress->n;
		return fk.result;
	}
	fk.patches++;
	fk.last_bw_size = s->rl[0]->has_bw ? s->rl[0]->cfg.bw.size : 0;
	memset(s->rl_now[0], 0, sizeof(*s->rl_now[0]));
	if (nic)
		memset(s->rl_now[1], 0, sizeof(*s->rl_now[1]));
	return 0;
}

static const struct api_backend_ops ops = {
    .hotplug_add = f_add, .hotplug_remove = f_remove, .hotplug_live_set = f_live};
static const struct api_backend_ops no_ops = {0};

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

TestSuite(api_hotplug_routes, .init = setup, .fini = route_teardown);

Test(api_hotplug_routes, add_and_remove_on_a_running_vm)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/vm.add-disk", "{\"path\": \"/d.img\", \"id\": \"hp0\"}"),
		     200);
	cr_assert(says("\"bdf\":\"0000:00:05.0\"") && says("\"id\":\"hp0\""), "%s", resp.body);
	cr_assert_str_eq(fk.last_option, "/d.img");
	cr_assert_eq(req("PUT", "/vmm/vm.add-net", "{\"tap\": \"tap0\"}"), 200);
	cr_assert_eq(req("PUT", "/vmm/vm.add-vsock", "{\"cid\": 5, \"socket\": \"/v.sock\"}"), 200);
	cr_assert_str_eq(fk.last_option, "cid=5,uds=/v.sock");
	cr_assert_eq(req("PUT", "/vmm/vm.add-pmem", "{\"file\": \"/p.img\"}"), 200);
	cr_assert_str_eq(fk.last_option, "path=/p.img");
	cr_assert_eq(req("PUT", "/vmm/vm.remove-device", "{\"id\": \"hp0\", \"timeout_ms\": 9}"),
		     204);
	cr_assert_eq(fk.last_timeout, 9);
	cr_assert_eq(fk.adds, 4);
	cr_assert_eq(fk.removes, 1);
}

Test(api_hotplug_routes, a_backend_refusal_is_a_400_with_its_reason)
{
	api_set_running(&api, NULL);
	fk.result = -ENOSPC;
	cr_assert_eq(req("PUT", "/vmm/vm.add-disk", "{\"path\": \"/d.img\"}"), 400);
	cr_assert(says("no free PCI hotplug slot"), "%s", resp.body);
	fk.result = -ETIMEDOUT;
	cr_assert_eq(req("PUT", "/vmm/vm.remove-device", "{\"id\": \"hp0\"}"), 400);
	cr_assert(says("did not release hp0"), "%s", resp.body);
}

Test(api_hotplug_routes, only_a_running_vm)
{
	cr_assert_eq(req("PUT", "/vmm/vm.add-disk", "{\"path\": \"/d.img\"}"), 400);
	cr_assert(says("before starting"), "%s", resp.body);
	api_set_running(&api, NULL);
	api.state = API_PAUSED;
	cr_assert_eq(req("PUT", "/vmm/vm.add-disk", "{\"path\": \"/d.img\"}"), 400);
	cr_assert(says("paused"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/vm.remove-device", "{\"id\": \"hp0\"}"), 400);
	cr_assert(says("paused"), "%s", resp.body);
	cr_assert_eq(fk.adds + fk.removes, 0, "nothing reached the backend");
}

Test(api_hotplug_routes, a_bad_body_never_reaches_the_backend)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/vm.add-disk", "{\"path\": \"/d\", \"queue_size\": 1}"), 400);
	cr_assert_eq(req("PUT", "/vmm/vm.add-net", "{\"mac\": \"52:54:00:00:00:01\"}"), 400);
	cr_assert_eq(req("PUT", "/vmm/vm.remove-device", "{\"id\": 3}"), 400);
	cr_assert_eq(req("PUT", "/vmm/vm.add-vsock", "{\"cid\": 1, \"socket\": \"/v\"}"), 400);
	cr_assert_eq(req("PUT", "/vmm/vm.add-pmem", "{\"file\": \"/p\", \"size\": 1}"), 400);
	cr_assert_eq(req("GET", "/vmm/vm.add-disk", NULL), 400);
	cr_assert_eq(fk.adds + fk.removes, 0);
}

Test(api_hotplug_routes, a_vmm_without_hotplug_says_so)
{
	api_destroy(&api);
	cr_assert_eq(api_init(&api, &no_ops, NULL), 0);
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/vm.add-disk", "{\"path\": \"/d.img\"}"), 400);
	cr_assert(says("not available"), "%s", resp.body);
}

Test(api_hotplug_routes, patch_reaches_a_hot_added_device_by_its_id)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PATCH", "/drives/hp0",
			 "{\"drive_id\": \"hp0\", \"rate_limiter\": {\"bandwidth\": {\"size\": "
			 "4096, \"refill_time\": 100}}}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.patches, 1);
	cr_assert_eq(fk.last_bw_size, 4096);
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"tx_rate_limiter\": {\"ops\": {\"size\": 5, "
			 "\"refill_time\": 10}}}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.patches, 2);
	cr_assert_eq(req("PATCH", "/drives/hp0", "{\"drive_id\": \"other\"}"), 400);
	cr_assert(says("differs"), "%s", resp.body);
	cr_assert_eq(
	    req("PATCH", "/drives/hp0", "{\"drive_id\": \"hp0\", \"path_on_host\": \"/x\"}"), 400,
	    "a hot-added disk's file is not swapped");
	cr_assert_eq(req("PATCH", "/drives/nope", "{\"drive_id\": \"nope\"}"), 400);
	cr_assert_eq(fk.patches, 2, "an unknown id gets the router's own answer");
}

/* "egress" in the PATCH of a hot-added NIC (issue 53): PUT's rules, null for none, a bad rule a
 * 400 that reaches nothing; alone it leaves the limits untouched, beside them both change. */
Test(api_hotplug_routes, patch_egress_of_a_hot_added_nic)
{
	api_set_running(&api, NULL);
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"egress\": [\"10.0.2.2/32:tcp:80\", "
			 "\"dns=10.0.2.3\"]}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.egress_patches, 1);
	cr_assert(fk.egress_on);
	cr_assert_eq(fk.egress_n, 2);
	cr_assert_eq(fk.patches, 0, "egress alone leaves the limits alone");
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"egress\": null}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.egress_patches, 2);
	cr_assert_not(fk.egress_on, "null: no policy");
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"egress\": [\"10.0.2.2/33\"]}"),
		     400);
	cr_assert(says("egress[0]"), "%s", resp.body);
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"egress\": \"none\"}"),
		     400, "an array, as PUT's");
	cr_assert_eq(fk.egress_patches, 2, "bad rules reach no device");
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"egress\": [\"none\"], "
			 "\"rx_rate_limiter\": {\"bandwidth\": {\"size\": 100, \"refill_time\": "
			 "10}}}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.egress_patches, 3);
	cr_assert(fk.egress_on);
	cr_assert_eq(fk.egress_n, 0);
	cr_assert_eq(fk.patches, 1);
	cr_assert_eq(fk.last_bw_size, 100);
	fk.result = -EIO;
	cr_assert_eq(req("PATCH", "/network-interfaces/hpnet0",
			 "{\"iface_id\": \"hpnet0\", \"egress\": [\"none\"]}"),
		     400, "a device that failed");
	fk.result = 0;
	cr_assert_eq(req("PATCH", "/network-interfaces/nope",
			 "{\"iface_id\": \"nope\", \"egress\": [\"none\"]}"),
		     400);
	cr_assert_eq(fk.egress_patches, 4, "an unknown id reaches no device");
}

/* A body becomes record items: a comma (or what reads as another option) stays in its value. */
Test(api_hotplug, commas_stay_in_their_values)
{
	struct api_hotplug_add a;
	json_t *j = json_loads("{\"path\": \"vhost-user=/a,ro\", \"serial\": \"a,b\"}", 0, NULL);
	cr_assert_eq(api_hotplug_disk_parse(j, &a, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	cr_assert_eq(a.items.n, 2);
	cr_assert_str_eq(a.items.v[0].key, "path");
	cr_assert_str_eq(a.items.v[0].value, "vhost-user=/a,ro");
	cr_assert_str_eq(a.items.v[1].value, "a,b");
	cr_assert_not(a.vhost_user, "a file, whatever its name");
	char spec[128];
	cr_assert_eq(api_hotplug_add_spec(&a, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "vhost-user=/a,,ro,serial=a,,b", "the string form doubles them");
	api_hotplug_add_free(&a);
	cr_assert_eq(vsock("{\"cid\": 3, \"socket\": \"/v,cid=9\"}", &a), 0, "%s", err);
	cr_assert_eq(pmem("{\"file\": \"/p,root\"}", &a), 0, "%s", err);
	cr_assert_eq(disk("{\"vhost_user\": true, \"vhost_socket\": \"/a,b\"}", &a), 0, "%s", err);
}
