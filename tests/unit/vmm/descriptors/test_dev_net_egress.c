/* A NIC's "egress" rules through the config file / API body (vmm/descriptors/dev_net_api.c):
 * checked with a 400's message, kept in canonical form, and in the NIC's record a snapshot
 * saves. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_model.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"

static struct api_model m;

static void setup(void)
{
	api_model_init(&m);
}

static void teardown(void)
{
	api_model_free(&m);
}

TestSuite(dev_net_egress, .init = setup, .fini = teardown);

static int load_nic(const char *egress, char *err, size_t errlen)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"user\","
		 " \"egress\": %s}]}",
		 egress);
	json_t *root = json_loads(text, 0, NULL);
	cr_assert_not_null(root, "test JSON: %s", text);
	int r = api_model_load(&m, root, err, errlen);
	json_decref(root);
	return r;
}

Test(dev_net_egress, rules_reach_the_nic_and_its_record)
{
	struct vm_config cfg;
	char err[512] = "", *append = NULL;
	int index[API_MAX_DRIVES];

	cr_assert_eq(load_nic("[\"10.0.2.2/32:tcp:8000-8080\", \"dns=10.0.2.3\", "
			      "\"2001:db8::/32:udp:53\"]",
			      err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct virtio_net_opts *o = dev_net_opts(&cfg, 0);
	cr_assert(o->egress.on);
	cr_assert_eq(o->egress.n, 3);
	/* the snapshot's record of the NIC carries the rules, in canonical form */
	json_t *rec = device_record_instance(&cfg, &device_net, 0);
	char *rules = json_dumps(json_object_get(rec, "egress"), JSON_COMPACT);
	cr_assert_str_eq(
	    rules, "[\"10.0.2.2/32:tcp:8000-8080\",\"dns=10.0.2.3\",\"[2001:db8::]/32:udp:53\"]");
	free(rules);
	json_decref(rec);
	cli_free(&cfg);
	free(append);
}

Test(dev_net_egress, none_and_empty_turn_the_policy_on)
{
	struct vm_config cfg;
	char err[512] = "", *append = NULL;
	int index[API_MAX_DRIVES];

	cr_assert_eq(load_nic("[]", err, sizeof(err)), 0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(dev_net_opts(&cfg, 0)->egress.on);
	cr_assert_eq(dev_net_opts(&cfg, 0)->egress.n, 0);
	cli_free(&cfg);
	free(append);
}

Test(dev_net_egress, a_bad_rule_is_refused_with_its_reason)
{
	char err[512] = "";

	cr_assert_neq(
	    load_nic("[\"10.0.2.2/32:tcp:80\", \"10.0.2.2:tcp:80,id=x\"]", err, sizeof(err)), 0);
	cr_assert(strstr(err, "egress[1]: egress rule '10.0.2.2:tcp:80,id=x'"), "%s", err);
	cr_assert_neq(load_nic("[7]", err, sizeof(err)), 0);
	cr_assert(strstr(err, "egress[0]: expected a rule as a string"), "%s", err);
	cr_assert_neq(load_nic("\"10.0.2.2\"", err, sizeof(err)), 0);
	cr_assert(strstr(err, "egress"), "%s", err);
}

/* 256 rules (the most a NIC takes) in one --net argument of several KiB: the argument is parsed
 * whole (a 1 KiB copy once cut it, and a --disk, short), and a 257th rule is refused. */
Test(dev_net_egress, the_command_line_takes_a_nic_of_256_rules)
{
	size_t len = 32 + 257 * 24;
	char *arg = malloc(len), err[512] = "";
	cr_assert_not_null(arg);
	int n = snprintf(arg, len, "user,egress=");
	for (int i = 0; i < 256; i++)
		n += snprintf(arg + n, len - (size_t)n, "%s10.%d.%d.0/24:tcp:443", i ? ";" : "",
			      i / 200, i % 200);
	cr_assert_gt(n, 4096);
	const struct device_option *net = device_table_option("net", arg);
	cr_assert_not_null(net);
	struct vm_config cfg;
	vm_config_init(&cfg);
	cr_assert_eq(net->parse(&cfg, arg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(dev_net_opts(&cfg, 0)->egress.n, 256);
	cli_free(&cfg);
	snprintf(arg + n, len - (size_t)n, ";192.168.1.1");
	vm_config_init(&cfg);
	cr_assert_neq(net->parse(&cfg, arg, err, sizeof(err)), 0);
	cr_assert(strstr(err, "256"), "%s", err);
	cli_free(&cfg);
	free(arg);
}
