/* --device vfio=PATH[,id=ID] (vmm/descriptors/dev_vfio.c): what the parser takes and refuses,
 * that its claim stands beside RAM that comes and goes (kept in step, vm_vfio.h) and refuses
 * what cannot be done after start (snapshot, fork, migration: device_table_unsaveable()), also
 * for a device a hot-add recorded (and no more once it is forgotten). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_vfio.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/vm.h"

static void quiet(void)
{
	cr_redirect_stderr();
}

TestSuite(dev_vfio, .init = quiet);

static char err[256];

static int parse(struct dev_vfio_cfg *c, const char *arg)
{
	err[0] = '\0';
	return dev_vfio_parse(c, arg, err, sizeof(err));
}

Test(dev_vfio, takes_a_pci_device_path)
{
	struct dev_vfio_cfg c = {0};
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0/"), 0, "%s", err);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.path[0], "/sys/bus/pci/devices/0000:01:00.0", "one spelling kept");
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:02:00.1"), 0, "%s", err);
	cr_assert_eq(c.n, 2);
}

Test(dev_vfio, refuses_other_input)
{
	struct dev_vfio_cfg c = {0};
	cr_assert_eq(parse(&c, "/sys/bus/pci/devices/0000:01:00.0"), -EINVAL);
	cr_assert(strstr(err, "unknown device kind"), "%s", err);
	cr_assert_eq(parse(&c, "vfio=/dev/sda"), -EINVAL);
	cr_assert(strstr(err, "not a PCI device path"), "%s", err);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/../../../etc/passwd"), -EINVAL);
	cr_assert_eq(parse(&c, "vfio="), -EINVAL);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0"), 0);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0/"), -EINVAL);
	cr_assert(strstr(err, "given twice"), "%s", err);
	for (int i = 1; i < VM_VFIO_MAX_DEVICES; i++) {
		char arg[64];
		snprintf(arg, sizeof(arg), "vfio=/sys/bus/pci/devices/0000:0%d:00.0", i + 1);
		cr_assert_eq(parse(&c, arg), 0, "%s", err);
	}
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:09:00.0"), -EINVAL);
	cr_assert(strstr(err, "at most 4"), "%s", err);
}

static void apply(struct vm_config *cfg, const char *name, const char *arg)
{
	char e[256];
	cr_assert_eq(cli_apply(cfg, name, arg, e, sizeof(e)), 0, "--%s %s: %s", name, arg, e);
}

Test(dev_vfio, stands_beside_ram_that_comes_and_goes)
{
	const char *opts[][2] = {{"memory-hotplug", "total=1G"}, {"balloon", "size=64"}};
	for (int i = 0; i < 2; i++) {
		struct vm_config cfg;
		vm_config_init(&cfg);
		apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:01:00.0");
		apply(&cfg, opts[i][0], opts[i][1]);
		cr_assert_eq(device_table_claims_check(&cfg), 0, "--%s", opts[i][0]);
		cli_free(&cfg);
	}
}

Test(dev_vfio, takes_an_id)
{
	struct dev_vfio_cfg c = {0};
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0,id=nic0"), 0, "%s", err);
	cr_assert_str_eq(c.path[0], "/sys/bus/pci/devices/0000:01:00.0");
	cr_assert_str_eq(c.id[0], "nic0");
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:02:00.0,id=nic0"), -EINVAL);
	cr_assert(strstr(err, "id nic0 is given twice"), "%s", err);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:02:00.0,size=1"), -EINVAL);
	cr_assert(strstr(err, "unknown item"), "%s", err);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:02:00.0,id="), -EINVAL);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:02:00.0,id=a/b"), -EINVAL);
	cr_assert_eq(c.n, 1, "nothing half-parsed");
}

Test(dev_vfio, a_hot_added_one_forgotten)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:01:00.0,id=_vfio0");
	cr_assert(dev_vfio_has_id(&cfg, "_vfio0"));
	cr_assert_not(dev_vfio_has_id(&cfg, "other"));
	cr_assert_not_null(device_table_unsaveable(&cfg), "snapshots refused while it is there");
	dev_vfio_forget(&cfg, "_vfio0");
	cr_assert_not(dev_vfio_has_id(&cfg, "_vfio0"));
	cr_assert_null(device_table_unsaveable(&cfg), "and allowed once it went");
	cli_free(&cfg);
}

Test(dev_vfio, a_vm_with_one_cannot_be_saved)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	cr_assert_null(device_table_unsaveable(&cfg));
	apply(&cfg, "balloon", "size=64");
	cr_assert_null(device_table_unsaveable(&cfg));
	cli_free(&cfg);
	vm_config_init(&cfg);
	apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:01:00.0");
	cr_assert(strstr(device_table_unsaveable(&cfg), "passed-through device"));
	cli_free(&cfg);
}

/* PUT /vmm/vm.add-device: Cloud Hypervisor's body, checked as the option is, and the option it
 * stands for at InstanceStart. */
Test(dev_vfio, api_body)
{
	const char *id = "x";
	const struct device_desc *d = device_table_route("/vmm/vm.add-device", &id);
	cr_assert_eq(d, &device_vfio);
	cr_assert_null(id);
	cr_assert_eq(device_table_section("vfio"), &device_vfio);
	struct device_api_ctx ctx = {0};
	json_t *doc = NULL;
	const char *bad[][2] = {
	    {"{}", "path"},
	    {"{\"path\": \"/dev/sda\"}", "not a PCI device path"},
	    {"{\"path\": \"/sys/bus/pci/devices/0000:01:00.0\", \"iommu\": true}", "iommu"},
	    {"{\"path\": \"/sys/bus/pci/devices/0000:01:00.0\", \"pci_segment\": 1}", "segment"},
	    {"{\"path\": \"/sys/bus/pci/devices/0000:01:00.0\", \"x\": 1}", "unknown field"},
	    {"{\"path\": \"/sys/bus/pci/devices/0000:01:00.0\", \"id\": \"a b\"}", "id"},
	    {"{\"path\": \"/sys/bus/pci/devices/0000:01:00.0,id=x\"}", "not a PCI device"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *body = json_loads(bad[i][0], 0, NULL);
		cr_assert_eq(d->api->check(body, NULL, &ctx, &doc, err, sizeof(err)), -EINVAL, "%s",
			     bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
		json_decref(body);
	}
	json_t *body = json_loads(
	    "{\"path\": \"/sys/bus/pci/devices/0000:01:00.0/\", \"iommu\": false}", 0, NULL);
	cr_assert_eq(d->api->check(body, NULL, &ctx, &doc, err, sizeof(err)), 0, "%s", err);
	char arg[128];
	cr_assert_eq(device_record_doc_spec(d, doc, arg, sizeof(arg)), 0);
	cr_assert_str_eq(arg, "vfio=/sys/bus/pci/devices/0000:01:00.0");
	cr_assert_eq(device_record_doc_spec(d, doc, arg, 10), -ENAMETOOLONG);
	json_decref(doc);
	json_decref(body);
	body = json_loads("{\"path\": \"/sys/bus/pci/devices/0000:01:00.0\", \"id\": \"n1\"}", 0,
			  NULL);
	cr_assert_eq(d->api->check(body, NULL, &ctx, &doc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(device_record_doc_spec(d, doc, arg, sizeof(arg)), 0);
	cr_assert_str_eq(arg, "vfio=/sys/bus/pci/devices/0000:01:00.0,id=n1");
	json_decref(doc);
	json_decref(body);

	struct vm_config cfg;
	vm_config_init(&cfg);
	cr_assert_null(d->api->describe(&cfg));
	apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:02:00.0");
	doc = d->api->describe(&cfg);
	cr_assert_eq(json_array_size(doc), 1, "an array of every device");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(doc, 0), "path")),
			 "/sys/bus/pci/devices/0000:02:00.0");
	json_decref(doc);
	cli_free(&cfg);
}

/* A hot-add needs --vfio-hotplug (the threads' seccomp filters are fixed at start): without it
 * the request is refused before anything is opened, saying which option to start with. */
Test(dev_vfio, a_hot_add_needs_vfio_hotplug)
{
	struct vm_config cfg;
	struct vm vm = {0};
	int slot = -1;
	char why[256] = "";

	vm_config_init(&cfg);
	vm.cfg = &cfg;
	struct opt_items rec = {0};
	cr_assert_eq(opt_items_add(&rec, "vfio", "/sys/bus/pci/devices/0000:01:00.0"), 0);
	cr_assert_eq(dev_vfio_hot_add(&vm, &rec, "nic", &slot, why, sizeof(why)), -EPERM);
	opt_items_free(&rec);
	cr_assert(strstr(why, "--vfio-hotplug"), "the message names the option: %s", why);
	cr_assert_eq(slot, -1);
	cli_free(&cfg);
}
