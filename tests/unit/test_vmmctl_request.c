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
	cr_assert_eq(BUILD("put-net", "eth0", "tap0", "--mac", "52:54:00:00:00:01"), 0);
	assert_req("PUT", "/network-interfaces/eth0", VIEW_NONE);
	assert_body("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
		    " \"guest_mac\": \"52:54:00:00:00:01\"}");
	vmmctl_request_free(&req);
	cr_assert_eq(BUILD("set-metrics", "/m.json"), 0);
	assert_req("PUT", "/metrics", VIEW_NONE);
	assert_body("{\"metrics_path\": \"/m.json\"}");
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
