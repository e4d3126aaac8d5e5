/* tools/vmmctl/request.c: every command's method, path and body, and the usage errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tools/vmmctl/request.h"

static struct vmmctl_request req;
static char err[256];

/* Builds from a NULL-terminated argument list; returns what vmmctl_request_build() did. */
static int build_v(const char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	err[0] = '\0';
	return vmmctl_request_build(argc, (char **)argv, &req, err, sizeof(err));
}

#define BUILD(...) build_v((const char *[]){__VA_ARGS__, NULL})

/* The body equals the JSON text `want` (as data: key order does not matter). */
static void assert_body(const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	cr_assert_not_null(w, "bad test JSON %s", want);
	char *got = json_dumps(req.body, JSON_SORT_KEYS);
	cr_assert(json_equal(req.body, w), "body %s, want %s", got ? got : "(none)", want);
	free(got);
	json_decref(w);
}

static void assert_req(const char *method, const char *path, enum vmmctl_view view)
{
	cr_assert_str_eq(req.method, method);
	cr_assert_str_eq(req.path, path);
	cr_assert_eq(req.view, view);
}

static void teardown(void)
{
	vmmctl_request_free(&req);
}

TestSuite(vmmctl_request, .fini = teardown);

Test(vmmctl_request, views_are_gets_without_body)
{
	static const struct {
		const char *cmd, *path;
		enum vmmctl_view view;
	} cases[] = {
	    {"info", "/", VIEW_INFO},
	    {"metrics", "/vmm/metrics", VIEW_METRICS},
	    {"devices", "/vmm/devices", VIEW_DEVICES},
	    {"vcpus", "/vmm/vcpus", VIEW_VCPUS},
	    {"config", "/vm/config", VIEW_CONFIG},
	    {"balloon", "/balloon", VIEW_BALLOON},
	    {"balloon-stats", "/balloon/statistics", VIEW_BALLOON_STATS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(BUILD(cases[i].cmd), 0, "%s: %s", cases[i].cmd, err);
		assert_req("GET", cases[i].path, cases[i].view);
		cr_assert_null(req.body);
		vmmctl_request_free(&req);
	}
}

Test(vmmctl_request, lifecycle)
{
	cr_assert_eq(BUILD("pause"), 0);
	assert_req("PATCH", "/vm", VIEW_NONE);
	assert_body("{\"state\": \"Paused\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("resume"), 0);
	assert_body("{\"state\": \"Resumed\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("start"), 0);
	assert_req("PUT", "/actions", VIEW_NONE);
	assert_body("{\"action_type\": \"InstanceStart\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("ctrl-alt-del"), 0);
	assert_body("{\"action_type\": \"SendCtrlAltDel\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("power-button"), 0);
	assert_body("{\"action_type\": \"PowerButton\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("flush-metrics"), 0);
	assert_body("{\"action_type\": \"FlushMetrics\"}");
}

Test(vmmctl_request, stop_timeout)
{
	cr_assert_eq(BUILD("stop"), 0);
	assert_req("PUT", "/vmm/stop", VIEW_NONE);
	assert_body("{\"timeout_ms\": 10000}");
	cr_assert_eq(req.stop_timeout_ms, VMMCTL_DEFAULT_STOP_MS);
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("stop", "--timeout-ms", "0"), 0);
	assert_body("{\"timeout_ms\": 0}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("stop", "--timeout-ms=250"), 0);
	assert_body("{\"timeout_ms\": 250}");
	cr_assert_eq(req.stop_timeout_ms, 250);
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("stop", "--timeout-ms", "-5"), -EINVAL);
	cr_assert_eq(BUILD("stop", "--timeout-ms", "12abc"), -EINVAL);
	cr_assert_eq(BUILD("stop", "--timeout-ms"), -EINVAL);
	cr_assert(strstr(err, "needs a value"), "%s", err);
	cr_assert_eq(BUILD("stop", "--timeout-ms", "99999999999999999999999"), -EINVAL);
}

/* The API refuses more than an hour (PUT /vmm/stop): so does vmmctl, before sending anything. */
Test(vmmctl_request, stop_timeout_at_most_the_apis_hour)
{
	cr_assert_eq(BUILD("stop", "--timeout-ms", "3600000"), 0, "%s", err);
	assert_body("{\"timeout_ms\": 3600000}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("stop", "--timeout-ms", "3600001"), -EINVAL);
	cr_assert(strstr(err, "0-3600000"), "%s", err);
	cr_assert_null(req.body, "nothing to send");
	cr_assert_eq(BUILD("stop", "--timeout-ms", "86400000"), -EINVAL);
}

Test(vmmctl_request, drives)
{
	cr_assert_eq(BUILD("put-drive", "rootfs", "/img/a b.ext4", "--root"), 0, "%s", err);
	assert_req("PUT", "/drives/rootfs", VIEW_NONE);
	assert_body("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/img/a b.ext4\","
		    " \"is_root_device\": true, \"is_read_only\": false}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("put-drive", "--ro", "d1", "/x"), 0, "options go anywhere: %s", err);
	assert_body("{\"drive_id\": \"d1\", \"path_on_host\": \"/x\","
		    " \"is_root_device\": false, \"is_read_only\": true}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("patch-drive", "d1", "/y"), 0);
	assert_req("PATCH", "/drives/d1", VIEW_NONE);
	assert_body("{\"drive_id\": \"d1\", \"path_on_host\": \"/y\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("put-drive", "-", "--", "--odd-path"), 0, "after --, all positional");
	assert_body("{\"drive_id\": \"-\", \"path_on_host\": \"--odd-path\","
		    " \"is_root_device\": false, \"is_read_only\": false}");
}

Test(vmmctl_request, bad_ids_never_reach_the_path)
{
	cr_assert_eq(BUILD("put-drive", "a/b", "/x"), -EINVAL);
	cr_assert_eq(BUILD("put-drive", "", "/x"), -EINVAL);
	cr_assert_eq(BUILD("patch-drive", "a?b", "/x"), -EINVAL);
	cr_assert_eq(BUILD("put-net", "eth 0", "tap0"), -EINVAL);
	cr_assert_eq(BUILD("put-drive", "../x", "/x"), -EINVAL);
	char long_id[80];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	cr_assert_eq(BUILD("put-drive", long_id, "/x"), -EINVAL);
	cr_assert(vmmctl_id_valid("rootfs.v2-A_1"));
	cr_assert_not(vmmctl_id_valid("%2e"));
}

Test(vmmctl_request, boot_machine_net_metrics)
{
	cr_assert_eq(BUILD("put-boot-source", "/k", "--args", "console=ttyS0", "--initrd=/i"), 0);
	assert_req("PUT", "/boot-source", VIEW_NONE);
	assert_body("{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\","
		    " \"initrd_path\": \"/i\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("put-machine-config", "--vcpus", "4", "--mem-mib", "1024"), 0);
	assert_req("PUT", "/machine-config", VIEW_NONE);
	assert_body("{\"vcpu_count\": 4, \"mem_size_mib\": 1024, \"smt\": false}");
	vmmctl_request_free(&req);
	cr_assert_eq(
	    BUILD("put-machine-config", "--vcpus", "1", "--mem-mib", "64", "--track-dirty-pages"),
	    0);
	assert_body("{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": false,"
		    " \"track_dirty_pages\": true}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("put-net", "eth0", "tap0", "--mac", "52:54:00:00:00:01"), 0);
	assert_req("PUT", "/network-interfaces/eth0", VIEW_NONE);
	assert_body("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
		    " \"guest_mac\": \"52:54:00:00:00:01\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("set-metrics", "/m.json"), 0);
	assert_req("PUT", "/metrics", VIEW_NONE);
	assert_body("{\"metrics_path\": \"/m.json\"}");
}

/* --firmware instead of a kernel: the API's firmware_path (ours), exactly one of the two. */
Test(vmmctl_request, boot_source_firmware)
{
	cr_assert_eq(BUILD("put-boot-source", "--firmware", "/fw.bin", "--firmware-log", "/fw.log"),
		     0);
	assert_req("PUT", "/boot-source", VIEW_NONE);
	assert_body("{\"firmware_path\": \"/fw.bin\", \"firmware_log_path\": \"/fw.log\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("put-boot-source"), -EINVAL);
	cr_assert_eq(BUILD("put-boot-source", "/k", "--firmware", "/fw.bin"), -EINVAL);
	cr_assert_eq(BUILD("put-boot-source", "--firmware", "/fw.bin", "--args", "x"), -EINVAL);
	cr_assert_eq(BUILD("put-boot-source", "--firmware", "/fw.bin", "--initrd", "/i"), -EINVAL);
	cr_assert_eq(BUILD("put-boot-source", "/k", "--firmware-log", "/fw.log"), -EINVAL);
}

Test(vmmctl_request, machine_config_needs_both_numbers)
{
	cr_assert_eq(BUILD("put-machine-config", "--vcpus", "2"), -EINVAL);
	cr_assert_eq(BUILD("put-machine-config", "--mem-mib", "2"), -EINVAL);
	cr_assert_eq(BUILD("put-machine-config", "--vcpus", "0", "--mem-mib", "2"), -EINVAL);
	cr_assert_eq(BUILD("put-machine-config", "--vcpus", "256", "--mem-mib", "2"), -EINVAL);
	cr_assert_eq(BUILD("put-machine-config", "--vcpus", "1", "--mem-mib", "0x10"), -EINVAL);
	cr_assert_eq(BUILD("put-machine-config", "--vcpus", "1", "--mem-mib", "1", "--smt=1"),
		     -EINVAL);
}

Test(vmmctl_request, raw)
{
	cr_assert_eq(BUILD("raw", "get", "/vmm/state"), 0);
	assert_req("GET", "/vmm/state", VIEW_RAW);
	cr_assert_null(req.body);
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("raw", "PUT", "/actions", "{\"action_type\": \"X\"}"), 0);
	assert_req("PUT", "/actions", VIEW_RAW);
	assert_body("{\"action_type\": \"X\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("raw", "PUT", "/x", "[1, 2]"), 0, "any JSON value");
	cr_assert(json_is_array(req.body));
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("raw", "PUT", "/x", "{oops"), -EINVAL);
	cr_assert(strstr(err, "JSON"), "%s", err);
	cr_assert_eq(BUILD("raw", "BREW", "/"), -EINVAL);
	cr_assert_eq(BUILD("raw", "GET", "relative"), -EINVAL);
	cr_assert_eq(BUILD("raw", "GET", "/a b"), -EINVAL);
	cr_assert_eq(BUILD("raw", "GET", "/a\r\nX-Evil: 1"), -EINVAL);
	cr_assert_eq(BUILD("raw", "GET"), -EINVAL);
}

Test(vmmctl_request, usage_errors)
{
	cr_assert_eq(vmmctl_request_build(0, NULL, &req, err, sizeof(err)), -EINVAL);
	cr_assert_eq(BUILD("frobnicate"), -EINVAL);
	cr_assert(strstr(err, "unknown command 'frobnicate'"), "%s", err);
	cr_assert_eq(BUILD("pause", "now"), -EINVAL);
	cr_assert(strstr(err, "unexpected argument 'now'"), "%s", err);
	cr_assert_eq(BUILD("info", "--json"), -EINVAL, "global options go before the command");
	cr_assert_eq(BUILD("put-drive", "d"), -EINVAL);
	cr_assert(strstr(err, "missing argument"), "%s", err);
	cr_assert_eq(BUILD("put-drive", "d", "/x", "--ro=yes"), -EINVAL);
	cr_assert_eq(BUILD("put-drive", "d", "/x", "--r"), -EINVAL, "no prefix matching");
	cr_assert_eq(BUILD("set-metrics", "/bad\xff"), -EINVAL);
	cr_assert(strstr(err, "UTF-8"), "%s", err);
	cr_assert_null(req.body, "nothing left to free after an error");
}

/* Builds, then checks method, path (VIEW_NONE) and body; frees the request. */
static void assert_builds(const char **argv, const char *method, const char *path, const char *body)
{
	cr_assert_eq(build_v(argv), 0, "%s: %s", argv[0], err);
	assert_req(method, path, VIEW_NONE);
	assert_body(body);
	vmmctl_request_free(&req);
}

#define ASSERT_BUILDS(method, path, body, ...)                                                     \
	assert_builds((const char *[]){__VA_ARGS__, NULL}, method, path, body)

/* Refused as a usage error whose message contains `why`. */
static void assert_refused(const char **argv, const char *why)
{
	cr_assert_eq(build_v(argv), -EINVAL, "%s was accepted", argv[0]);
	cr_assert(strstr(err, why), "message '%s' lacks '%s'", err, why);
	cr_assert_null(req.body);
}

#define ASSERT_REFUSED(why, ...) assert_refused((const char *[]){__VA_ARGS__, NULL}, why)

Test(vmmctl_request, vsock)
{
	ASSERT_BUILDS("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}",
		      "put-vsock", "3", "/tmp/v.sock");
	ASSERT_BUILDS("PUT", "/vsock",
		      "{\"guest_cid\": 4294967294, \"uds_path\": \"/v\", \"vsock_id\": \"vsock0\"}",
		      "put-vsock", "4294967294", "/v", "--id", "vsock0");
	ASSERT_REFUSED("CID wants 3-4294967294, not '2'", "put-vsock", "2", "/v");
	ASSERT_REFUSED("CID wants", "put-vsock", "4294967295", "/v");
	ASSERT_REFUSED("CID wants", "put-vsock", "-3", "/v");
	ASSERT_REFUSED("CID wants", "put-vsock", "3k", "/v");
	ASSERT_REFUSED("UDS_PATH is empty", "put-vsock", "3", "");
	ASSERT_REFUSED("--id 'a/b'", "put-vsock", "3", "/v", "--id", "a/b");
	ASSERT_REFUSED("missing argument", "put-vsock", "3");
}

Test(vmmctl_request, hotplug_and_pmem)
{
	ASSERT_BUILDS("PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}", "put-hotplug",
		      "1024");
	ASSERT_BUILDS("PUT", "/hotplug/memory",
		      "{\"total_size_mib\": 2048, \"block_size_mib\": 4, \"slot_size_mib\": 256}",
		      "put-hotplug", "2048", "--block-mib", "4", "--slot-mib=256");
	ASSERT_BUILDS("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 0}", "patch-hotplug",
		      "0");
	ASSERT_BUILDS("PUT", "/pmem/root",
		      "{\"id\": \"root\", \"path_on_host\": \"/img\", \"root_device\": true,"
		      " \"read_only\": true}",
		      "put-pmem", "root", "/img", "--ro", "--root");
	ASSERT_REFUSED("TOTAL_MIB wants MiB 1-1048576, not '0'", "put-hotplug", "0");
	ASSERT_REFUSED("--slot-mib wants", "put-hotplug", "1024", "--slot-mib", "x");
	ASSERT_REFUSED("REQUESTED_MIB wants", "patch-hotplug", "-2");
	ASSERT_REFUSED("'a/b'", "put-pmem", "a/b", "/img");
	cr_assert_eq(BUILD("hotplug"), 0, "%s", err);
	assert_req("GET", "/hotplug/memory", VIEW_RAW);
}

Test(vmmctl_request, balloon)
{
	ASSERT_BUILDS("PUT", "/balloon", "{\"amount_mib\": 0, \"deflate_on_oom\": false}",
		      "put-balloon", "0");
	ASSERT_BUILDS("PUT", "/balloon",
		      "{\"amount_mib\": 128, \"deflate_on_oom\": true,"
		      " \"stats_polling_interval_s\": 5, \"free_page_reporting\": true}",
		      "put-balloon", "128", "--deflate-on-oom", "--stats-interval", "5",
		      "--free-page-reporting");
	ASSERT_BUILDS("PUT", "/balloon", "{\"amount_mib\": 64, \"deflate_on_oom\": false}",
		      "put-balloon", "64", "--stats-interval=0");
	ASSERT_BUILDS("PATCH", "/balloon", "{\"amount_mib\": 256}", "patch-balloon", "256");
	ASSERT_BUILDS("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 86400}",
		      "patch-balloon-stats", "86400");
	ASSERT_REFUSED("MIB wants 0-1073741824, not 'lots'", "put-balloon", "lots");
	ASSERT_REFUSED("MIB wants", "patch-balloon", "-1");
	ASSERT_REFUSED("MIB wants", "patch-balloon", "1073741825");
	ASSERT_REFUSED("--stats-interval wants seconds 0-86400", "put-balloon", "1",
		       "--stats-interval", "86401");
	ASSERT_REFUSED("--stats-interval wants", "put-balloon", "1", "--stats-interval", "1s");
	ASSERT_REFUSED("takes no value", "put-balloon", "1", "--deflate-on-oom=yes");
	ASSERT_REFUSED("INTERVAL_S wants seconds 1-86400, not '0'", "patch-balloon-stats", "0");
	ASSERT_REFUSED("missing argument", "patch-balloon-stats");
	ASSERT_REFUSED("unexpected argument", "balloon", "x");
}

Test(vmmctl_request, drive_rate_limiters)
{
	ASSERT_BUILDS("PATCH", "/drives/d1",
		      "{\"drive_id\": \"d1\", \"rate_limiter\": {\"bandwidth\":"
		      " {\"size\": 2097152, \"refill_time\": 1000}}}",
		      "patch-drive", "d1", "--bw", "2M:1000");
	ASSERT_BUILDS("PATCH", "/drives/d1",
		      "{\"drive_id\": \"d1\", \"path_on_host\": \"/y\", \"rate_limiter\": {"
		      "\"bandwidth\": {\"size\": 20480, \"refill_time\": 10, \"one_time_burst\":"
		      " 1073741824}, \"ops\": {\"size\": 500, \"refill_time\": 1000,"
		      " \"one_time_burst\": 100}}}",
		      "patch-drive", "d1", "/y", "--bw=20K:10:1G", "--ops", "500:1000:100");
	/* a zero burst is left out; a zero bucket is sent as size 0 (the PATCH removes it), a
	 * bucket not given is not sent (the PATCH leaves it) */
	ASSERT_BUILDS("PATCH", "/drives/d1",
		      "{\"drive_id\": \"d1\", \"rate_limiter\": {\"ops\": {\"size\": 5,"
		      " \"refill_time\": 10}, \"bandwidth\": {\"size\": 0, \"refill_time\": 0}}}",
		      "patch-drive", "d1", "--ops", "5:10:0", "--bw", "0");
	ASSERT_BUILDS("PATCH", "/drives/d1",
		      "{\"drive_id\": \"d1\", \"rate_limiter\": {\"bandwidth\": {\"size\": 0,"
		      " \"refill_time\": 0}, \"ops\": {\"size\": 0, \"refill_time\": 0}}}",
		      "patch-drive", "d1", "--bw", "0", "--ops", "0");
	ASSERT_BUILDS("PUT", "/drives/r",
		      "{\"drive_id\": \"r\", \"path_on_host\": \"/r\", \"is_root_device\": true,"
		      " \"is_read_only\": false, \"rate_limiter\": {\"ops\": {\"size\": 1000,"
		      " \"refill_time\": 1000}}}",
		      "put-drive", "r", "/r", "--root", "--ops", "1000:1000");
}

Test(vmmctl_request, bad_rate_limits_are_usage_errors)
{
	static const char *const bad[] = {"2M",	     "2M:0",	   "0:1000", "2X:1000",
					  "1:1:-1",  "1:86400001", "",	     ":1000",
					  "1:1:1:1", "-1:1000",	   "1.5:10", "2M:1000:x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_REFUSED("patch-drive: --bw: bad rate limit", "patch-drive", "d1", "--bw",
			       bad[i]);
		ASSERT_REFUSED("put-net: --tx-ops: bad rate limit", "put-net", "n", "tap0",
			       "--tx-ops", bad[i]);
	}
	ASSERT_REFUSED("give a new PATH, --bw or --ops", "patch-drive", "d1");
	ASSERT_REFUSED("needs a value", "patch-drive", "d1", "--ops");
	ASSERT_REFUSED("SIZE must be 1 to 2^50", "patch-drive", "d1", "--bw", "2000T:1");
	ASSERT_REFUSED("must be 1-64", "patch-drive", "a/b", "--bw", "1:1");
}

Test(vmmctl_request, net_rate_limiters)
{
	ASSERT_BUILDS("PATCH", "/network-interfaces/eth0",
		      "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"bandwidth\":"
		      " {\"size\": 15140, \"refill_time\": 10}}}",
		      "patch-net", "eth0", "--rx-bw", "15140:10");
	ASSERT_BUILDS("PATCH", "/network-interfaces/eth0",
		      "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"ops\": {\"size\": 5,"
		      " \"refill_time\": 10, \"one_time_burst\": 2048}}, \"rx_rate_limiter\":"
		      " {\"ops\": {\"size\": 0, \"refill_time\": 0}}}",
		      "patch-net", "eth0", "--tx-ops", "5:10:2K", "--rx-ops", "0");
	ASSERT_BUILDS("PUT", "/network-interfaces/n",
		      "{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\", \"rx_rate_limiter\":"
		      " {\"ops\": {\"size\": 1, \"refill_time\": 1}}, \"tx_rate_limiter\":"
		      " {\"bandwidth\": {\"size\": 1048576, \"refill_time\": 1000}}}",
		      "put-net", "n", "tap0", "--rx-ops", "1:1", "--tx-bw", "1M:1000");
	ASSERT_REFUSED("give --rx-bw, --rx-ops, --tx-bw, --tx-ops or --egress", "patch-net",
		       "eth0");
	ASSERT_REFUSED("--egress is empty", "patch-net", "eth0", "--egress", "");
	ASSERT_BUILDS("PATCH", "/network-interfaces/eth0",
		      "{\"iface_id\": \"eth0\", \"egress\": [\"10.0.2.2/32:tcp:80;dns=10.0.2.3\"]}",
		      "patch-net", "eth0", "--egress", "10.0.2.2/32:tcp:80;dns=10.0.2.3");
	ASSERT_BUILDS("PATCH", "/network-interfaces/eth0",
		      "{\"iface_id\": \"eth0\", \"egress\": null}", "patch-net", "eth0", "--egress",
		      "off");
	ASSERT_BUILDS("PATCH", "/network-interfaces/eth0",
		      "{\"iface_id\": \"eth0\", \"egress\": [\"none\"]}", "patch-net", "eth0",
		      "--egress", "none");
	ASSERT_REFUSED("unknown option '--bw'", "patch-net", "eth0", "--bw", "1:1");
	ASSERT_REFUSED("patch-net: --rx-bw: bad rate limit", "patch-net", "eth0", "--rx-bw", "1");
	ASSERT_REFUSED("unexpected argument", "patch-net", "eth0", "tap0", "--rx-bw", "1:1");
}

Test(vmmctl_request, snapshots)
{
	ASSERT_BUILDS("PUT", "/snapshot/create",
		      "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"/s/state\","
		      " \"mem_file_path\": \"/s/memory\"}",
		      "snapshot-create", "/s/state", "/s/memory");
	ASSERT_BUILDS("PUT", "/snapshot/create",
		      "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"a\","
		      " \"mem_file_path\": \"b\"}",
		      "snapshot-create", "a", "b", "--type", "diff");
	ASSERT_BUILDS("PUT", "/snapshot/load",
		      "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"resume_vm\": false}",
		      "snapshot-load", "a", "b");
	ASSERT_BUILDS("PUT", "/snapshot/load",
		      "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"resume_vm\": true,"
		      " \"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\":"
		      " \"tap7\", \"guest_mac\": \"52:54:00:00:00:07\"}, {\"iface_id\": \"net1\","
		      " \"guest_mac\": \"52:54:00:00:00:08\"}]}",
		      "snapshot-load", "a", "b", "--resume", "--net",
		      "net0,tap=tap7,mac=52:54:00:00:00:07", "--net=net1,mac=52:54:00:00:00:08");
	/* ",," is a comma in the value (base/options.h) */
	ASSERT_BUILDS("PUT", "/snapshot/load",
		      "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"resume_vm\": false,"
		      " \"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\":"
		      " \"t,7\"}]}",
		      "snapshot-load", "a", "b", "--net", "net0,tap=t,,7");
	ASSERT_REFUSED("--type wants Full or Diff, not 'Half'", "snapshot-create", "a", "b",
		       "--type", "Half");
	ASSERT_REFUSED("missing argument", "snapshot-create", "a");
	ASSERT_REFUSED("takes no value", "snapshot-load", "a", "b", "--resume=no");
	ASSERT_BUILDS("PUT", "/snapshot/load",
		      "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"resume_vm\": true,"
		      " \"clock_realtime\": true}",
		      "snapshot-load", "a", "b", "--resume", "--clock-realtime");
	ASSERT_BUILDS("PUT", "/snapshot/load",
		      "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"resume_vm\": true,"
		      " \"working_set\": \"record\", \"working_set_record_ms\": 2500}",
		      "snapshot-load", "a", "b", "--resume", "--working-set", "record",
		      "--working-set-ms", "2500");
	ASSERT_REFUSED("--working-set-ms wants 1-3600000, not '0'", "snapshot-load", "a", "b",
		       "--working-set-ms", "0");
	ASSERT_BUILDS("PUT", "/snapshot/load",
		      "{\"snapshot_path\": \"a\", \"mem_backend\": {\"backend_type\": \"Uffd\","
		      " \"backend_path\": \"/run/uffd.sock\"}, \"resume_vm\": true}",
		      "snapshot-load", "a", "/run/uffd.sock", "--uffd", "--resume");
	ASSERT_REFUSED("takes no value", "snapshot-load", "a", "b", "--uffd=yes");
}

Test(vmmctl_request, bad_network_overrides)
{
	static const char *const bad[] = {
	    "net0",	 "net0,",  "net0,tap", "net0,tap=",	"net0,foo=bar",
	    "a/b,tap=t", ",tap=t", "tap=t",    "net0,mac=m,,,", "net0,tap=a,tap=b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_REFUSED("snapshot-load: --net", "snapshot-load", "a", "b", "--net", bad[i]);
	ASSERT_REFUSED("tap= given twice", "snapshot-load", "a", "b", "--net", "net0,tap=a,tap=b");
	ASSERT_REFUSED("at most 4 --net", "snapshot-load", "a", "b", "--net", "net0,tap=a", "--net",
		       "net1,tap=b", "--net", "net2,tap=c", "--net", "net3,tap=d", "--net",
		       "net4,tap=e");
	char long_spec[200];
	memset(long_spec, 'x', sizeof(long_spec) - 1);
	long_spec[sizeof(long_spec) - 1] = '\0';
	ASSERT_REFUSED("too long", "snapshot-load", "a", "b", "--net", long_spec);
}

Test(vmmctl_request, migration)
{
	ASSERT_BUILDS("PUT", "/vmm/send-migration",
		      "{\"destination_url\": \"unix:/run/d.sock\", \"local\": true}", "migrate",
		      "unix:/run/d.sock", "--local");
	ASSERT_BUILDS("PUT", "/vmm/send-migration",
		      "{\"destination_url\": \"tcp:10.0.0.2:6000\", \"local\": false, "
		      "\"max_downtime_ms\": 50}",
		      "migrate", "tcp:10.0.0.2:6000", "--max-downtime-ms", "50");
	ASSERT_BUILDS("PUT", "/vmm/migration/cancel", "{}", "migrate-cancel");
	ASSERT_BUILDS("PUT", "/vmm/receive-migration", "{\"receiver_url\": \"unix:/run/r\"}",
		      "receive-migration", "unix:/run/r");
	ASSERT_REFUSED("--max-downtime-ms wants 1-60000", "migrate", "unix:/x", "--max-downtime-ms",
		       "0");
	ASSERT_BUILDS("PUT", "/vmm/send-migration",
		      "{\"destination_url\": \"unix:/d\", \"local\": false, \"max_rounds\": 3, "
		      "\"max_bandwidth_bytes_per_s\": 8388608}",
		      "migrate", "unix:/d", "--max-rounds", "3", "--max-bandwidth", "8M");
	ASSERT_BUILDS("PUT", "/vmm/send-migration",
		      "{\"destination_url\": \"unix:/d\", \"local\": false, "
		      "\"max_bandwidth_bytes_per_s\": 65536}",
		      "migrate", "unix:/d", "--max-bandwidth", "65536");
	ASSERT_BUILDS("PUT", "/vmm/send-migration",
		      "{\"destination_url\": \"unix:/d\", \"local\": false, "
		      "\"max_bandwidth_bytes_per_s\": 1099511627776}",
		      "migrate", "unix:/d", "--max-bandwidth", "1024G");
	ASSERT_REFUSED("--max-rounds wants 1-1000", "migrate", "unix:/x", "--max-rounds", "0");
	ASSERT_REFUSED("--max-rounds wants 1-1000", "migrate", "unix:/x", "--max-rounds", "1001");
	ASSERT_REFUSED("--max-bandwidth wants bytes per second from 64K", "migrate", "unix:/x",
		       "--max-bandwidth", "63K");
	ASSERT_REFUSED("not '1025G'", "migrate", "unix:/x", "--max-bandwidth", "1025G");
	ASSERT_REFUSED("not 'M'", "migrate", "unix:/x", "--max-bandwidth", "M");
	ASSERT_REFUSED("not '8m'", "migrate", "unix:/x", "--max-bandwidth", "8m");
	ASSERT_REFUSED("not ''", "migrate", "unix:/x", "--max-bandwidth", "");
	ASSERT_REFUSED("not '-8M'", "migrate", "unix:/x", "--max-bandwidth", "-8M");
	ASSERT_REFUSED("not '99999999999999999999'", "migrate", "unix:/x", "--max-bandwidth",
		       "99999999999999999999");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("migration"), 0, "%s", err);
	assert_req("GET", "/vmm/migration", VIEW_RAW);
}

Test(vmmctl_request, device_hotplug)
{
	/* an add prints the VMM's answer, PciDeviceInfo */
	cr_assert_eq(BUILD("add-disk", "/srv/d.img"), 0, "%s", err);
	assert_req("PUT", "/vmm/vm.add-disk", VIEW_RAW);
	assert_body("{\"path\": \"/srv/d.img\"}");
	teardown();
	cr_assert_eq(BUILD("add-disk", "/d", "--ro", "--direct", "--serial", "S", "--id", "hp0",
			   "--num-queues", "2"),
		     0, "%s", err);
	assert_body("{\"path\": \"/d\", \"readonly\": true, \"direct\": true, \"serial\": "
		    "\"S\", \"id\": \"hp0\", \"num_queues\": 2}");
	teardown();
	cr_assert_eq(BUILD("add-net", "tap1", "--mac", "52:54:00:00:00:02", "--id", "n1",
			   "--num-queues", "4"),
		     0, "%s", err);
	assert_req("PUT", "/vmm/vm.add-net", VIEW_RAW);
	assert_body("{\"tap\": \"tap1\", \"mac\": \"52:54:00:00:00:02\", \"id\": \"n1\", "
		    "\"num_queues\": 4}");
	teardown();
	ASSERT_BUILDS("PUT", "/vmm/vm.remove-device", "{\"id\": \"hp0\"}", "remove-device", "hp0");
	ASSERT_BUILDS("PUT", "/vmm/vm.remove-device", "{\"id\": \"hp0\", \"timeout_ms\": 500}",
		      "remove-device", "hp0", "--timeout-ms", "500");
	ASSERT_REFUSED("--num-queues wants 1-8", "add-disk", "/d", "--num-queues", "9");
	ASSERT_REFUSED("--timeout-ms wants 1-600000", "remove-device", "x", "--timeout-ms", "0");
	cr_assert_eq(BUILD("add-vsock", "3", "/run/v.sock", "--id", "vs0"), 0, "%s", err);
	assert_req("PUT", "/vmm/vm.add-vsock", VIEW_RAW);
	assert_body("{\"cid\": 3, \"socket\": \"/run/v.sock\", \"id\": \"vs0\"}");
	teardown();
	ASSERT_REFUSED("CID wants 3-4294967294", "add-vsock", "2", "/run/v.sock");
	cr_assert_eq(
	    BUILD("add-pmem", "/srv/p.img", "--size", "4194304", "--discard-writes", "--id", "pm0"),
	    0, "%s", err);
	assert_req("PUT", "/vmm/vm.add-pmem", VIEW_RAW);
	assert_body("{\"file\": \"/srv/p.img\", \"size\": 4194304, \"discard_writes\": true, "
		    "\"id\": \"pm0\"}");
	teardown();
	ASSERT_REFUSED("--size wants bytes", "add-pmem", "/p", "--size", "0");
	cr_assert_eq(BUILD("add-fs", "share", "/run/fs.sock", "--id", "fs0", "--num-queues", "2",
			   "--queue-size", "512"),
		     0, "%s", err);
	assert_req("PUT", "/vmm/vm.add-fs", VIEW_RAW);
	assert_body("{\"tag\": \"share\", \"socket\": \"/run/fs.sock\", \"queue_size\": 512, "
		    "\"id\": \"fs0\", \"num_queues\": 2}");
	teardown();
	ASSERT_REFUSED("--queue-size wants 2-1024", "add-fs", "t", "/s", "--queue-size", "1");
	ASSERT_REFUSED("--num-queues wants 1-16", "add-fs", "t", "/s", "--num-queues", "17");
	cr_assert_eq(BUILD("add-device", "/sys/bus/pci/devices/0000:01:00.0", "--id", "nic0"), 0,
		     "%s", err);
	assert_req("PUT", "/vmm/vm.add-device", VIEW_RAW);
	assert_body("{\"path\": \"/sys/bus/pci/devices/0000:01:00.0\", \"id\": \"nic0\"}");
	teardown();
}

Test(vmmctl_request, resize)
{
	ASSERT_BUILDS("PUT", "/vmm/vm.resize", "{\"desired_vcpus\": 2}", "resize", "--vcpus", "2");
	ASSERT_BUILDS("PUT", "/vmm/vm.resize", "{\"desired_vcpus\": 1, \"timeout_ms\": 500}",
		      "resize", "--vcpus", "1", "--timeout-ms", "500");
	ASSERT_REFUSED("--vcpus N is required", "resize");
	ASSERT_REFUSED("--vcpus wants 1-64", "resize", "--vcpus", "0");
	ASSERT_REFUSED("--vcpus wants 1-64", "resize", "--vcpus", "65");
	ASSERT_REFUSED("--timeout-ms wants 1-600000", "resize", "--vcpus", "2", "--timeout-ms",
		       "0");
}
