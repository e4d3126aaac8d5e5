/* --device vfio=PATH[,id=ID]'s record (vmm/descriptors/dev_vfio.c, device_record.h): each key
 * written as items and read back, the path in its one spelling, and a record's bad members.
 * Neither the path (a sysfs PCI path) nor the id (the API's) may hold a comma: a record saying
 * one is refused by the device's own rules. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_vfio.h"

#define DEV "/sys/bus/pci/devices/"

static const char *const devices[] = {
    "vfio=" DEV "0000:01:00.0/",
    "vfio=" DEV "0000:02:00.1,id=nic0",
    "vfio=" DEV "0000:03:00.0,id=_vfio0",
    NULL,
};

Test(record_vfio, every_key_comes_back_the_same)
{
	enum virtio_transport ts[] = {TRANSPORT_PCI, TRANSPORT_MMIO};
	for (int k = 0; k < 2; k++) {
		struct roundtrip rt;
		roundtrip_run(&rt, ts[k], "device", devices);
		const struct dev_vfio_cfg *a = device_cfg_find(&rt.a, &device_vfio);
		const struct dev_vfio_cfg *b = device_cfg_find(&rt.b, &device_vfio);
		cr_assert(a && b);
		cr_assert_eq(b->n, 3);
		cr_assert(!memcmp(a, b, sizeof(*a)), "another block");
		cr_assert_str_eq(b->path[0], DEV "0000:01:00.0", "the one spelling");
		cr_assert_str_eq(b->id[1], "nic0");
		const json_t *rec = roundtrip_instance(&rt, "vfio", 1);
		cr_assert_str_eq(json_string_value(json_object_get(rec, "vfio")),
				 DEV "0000:02:00.1");
		cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "nic0");
		cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "pci",
				 "a passed-through device is on PCI whatever the VM's transport");
		cr_assert_null(json_object_get(roundtrip_instance(&rt, "vfio", 0), "id"));
		roundtrip_free(&rt);
	}
}

Test(record_vfio, a_hand_written_record_in_any_order)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_vfio,
				     "{\"id\": \"gpu\", \"vfio\": \"" DEV "0000:04:00.0/\"}", err,
				     sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_vfio_cfg *c = device_cfg_find(&cfg, &device_vfio);
	cr_assert_eq(c->n, 1);
	cr_assert_str_eq(c->path[0], DEV "0000:04:00.0");
	cr_assert_str_eq(c->id[0], "gpu");
	device_cfg_free_all(&cfg);
}

Test(record_vfio, bad_records_are_refused_and_leave_nothing)
{
	static const char *const bad[][2] = {
	    {"{}", "unknown device kind"},
	    {"{\"id\": \"x\"}", "unknown device kind"},
	    {"{\"vfio\": \"/dev/sda\"}", "not a PCI device path"},
	    {"{\"vfio\": \"" DEV "0000:01:00.0,x\"}", "not a PCI device path"},
	    {"{\"vfio\": \"" DEV "0000:01:00.0\", \"id\": \"a,b\"}", "without ','"},
	    {"{\"vfio\": \"" DEV "0000:01:00.0\", \"id\": \"\"}", "1 to 63 characters"},
	    {"{\"vfio\": \"" DEV "0000:01:00.0\", \"colour\": \"red\"}", "unknown item colour=red"},
	    {"{\"vfio\": \"" DEV "0000:01:00.0\", \"id\": [\"a\", \"b\"]}", "unknown item id=b"},
	    {"{\"vfio\": {}}", "member 'vfio': expected"},
	    {"{\"vfio\": true}", "unknown item vfio"},
	    {"[]", "a device's record is an object"},
	};
	records_refused(&device_vfio, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(record_vfio, the_vms_records_keep_the_options_limits)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	json_t *doc = json_pack("{s:[{s:s}, {s:s}]}", "vfio", "vfio", DEV "0000:01:00.0", "vfio",
				DEV "0000:01:00.0/");
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "vfio[1]: 0000:01:00.0 is given twice"), "%s", err);
	json_decref(doc);
	device_cfg_free_all(&cfg);
	vm_config_init(&cfg);
	doc = json_array();
	for (int i = 0; i < VM_VFIO_MAX_DEVICES + 1; i++) {
		char path[64];
		snprintf(path, sizeof(path), DEV "0000:0%d:00.0", i + 1);
		json_array_append_new(doc, json_pack("{s:s}", "vfio", path));
	}
	json_t *all = json_pack("{s:o}", "vfio", doc);
	cr_assert_neq(device_records_load(&cfg, all, err, sizeof(err)), 0);
	cr_assert(strstr(err, "vfio[4]: at most 4 passed-through devices"), "%s", err);
	cr_assert_eq(((const struct dev_vfio_cfg *)device_cfg_find(&cfg, &device_vfio))->n, 4);
	json_decref(all);
	device_cfg_free_all(&cfg);
}
