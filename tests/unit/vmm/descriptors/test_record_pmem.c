/* --pmem's record (vmm/descriptors/dev_pmem.c, device_record.h): every key of the option written
 * as items and read back on both transports, a hot-added device's slot and window, the id the
 * API derives, a path with a comma, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_pmem.h"

/* Every key at least once: path, ro, root, id, bw, ops, hotplug-slot, gpa. */
static const char *const devices[] = {
    "path=/img/root.ext4,ro,root,bw=1M:100:2M",
    "path=/data.img,id=data,ops=10:1000,ro=off",
    "path=/more.img,root=off,bw=4K:10,ops=5:10:1",
    "path=/hot.img,id=hot,hotplug-slot=5,gpa=6442450944",
    NULL,
};

static void same_blocks(const struct roundtrip *rt)
{
	const struct dev_pmem_cfg *a = device_cfg_find(&rt->a, &device_pmem);
	const struct dev_pmem_cfg *b = device_cfg_find(&rt->b, &device_pmem);
	cr_assert(a && b);
	cr_assert_eq(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		cr_assert_str_eq(a->dev[i].id, b->dev[i].id);
		cr_assert_str_eq(a->dev[i].opts.path, b->dev[i].opts.path);
		cr_assert_eq(a->dev[i].transport, b->dev[i].transport);
		cr_assert_eq(a->dev[i].hotplug_slot, b->dev[i].hotplug_slot);
		cr_assert_eq(a->dev[i].gpa, b->dev[i].gpa);
	}
	cr_assert(!memcmp(a, b, sizeof(*a)), "another block");
}

Test(record_pmem, every_key_comes_back_the_same_on_both_transports)
{
	enum virtio_transport ts[] = {TRANSPORT_PCI, TRANSPORT_MMIO};
	for (int k = 0; k < 2; k++) {
		struct roundtrip rt;
		roundtrip_run(&rt, ts[k], "pmem", devices);
		same_blocks(&rt);
		const struct dev_pmem_cfg *b = device_cfg_find(&rt.b, &device_pmem);
		cr_assert_eq(b->n, 4);
		cr_assert_str_eq(b->dev[0].id, "pmem0", "the derived id again");
		cr_assert_str_eq(b->dev[2].id, "pmem2");
		cr_assert(b->dev[0].opts.root && b->dev[0].opts.read_only);
		cr_assert_eq(b->dev[0].opts.rl.bw.one_time_burst, 2 << 20);
		cr_assert_eq(b->dev[2].opts.rl.ops.one_time_burst, 1);
		cr_assert_eq(b->dev[3].hotplug_slot, 5);
		cr_assert_eq(b->dev[3].transport, ts[k], "the record's transport");
		roundtrip_free(&rt);
	}
}

Test(record_pmem, the_record_holds_typed_members)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "pmem", devices);
	const json_t *rec = roundtrip_instance(&rt, "pmem", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "pci");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "path")), "/img/root.ext4");
	cr_assert(json_is_true(json_object_get(rec, "ro")));
	cr_assert(json_is_true(json_object_get(rec, "root")));
	cr_assert_null(json_object_get(rec, "id"), "pmem0 is derived again");
	rec = roundtrip_instance(&rt, "pmem", 3);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "hotplug-slot")), "5");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "gpa")), "6442450944");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "hot");
	roundtrip_free(&rt);
}

/* A device whose derived id is not its place's (pmem1 given by id= and then replaced by the
 * next device without one): the record names it, so the ids come back. */
Test(record_pmem, an_id_not_its_place_is_written)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "pmem",
		      (const char *const[]){"path=/a,id=pmem1", "path=/b", NULL});
	const struct dev_pmem_cfg *b = device_cfg_find(&rt.b, &device_pmem);
	cr_assert_eq(b->n, 1);
	cr_assert_str_eq(b->dev[0].id, "pmem1");
	cr_assert_str_eq(b->dev[0].opts.path, "/b");
	roundtrip_free(&rt);
}

Test(record_pmem, a_path_with_a_comma_is_kept)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_pmem,
				     "{\"path\": \"/img,1.raw\", \"ro\": true, \"root\": false, "
				     "\"transport\": \"mmio\"}",
				     err, sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_pmem_cfg *c = device_cfg_find(&cfg, &device_pmem);
	cr_assert_str_eq(c->dev[0].opts.path, "/img,1.raw");
	cr_assert(c->dev[0].opts.read_only && !c->dev[0].opts.root);
	cr_assert_eq(c->dev[0].transport, TRANSPORT_MMIO);
	json_t *again = device_record_instance(&cfg, &device_pmem, 0);
	cr_assert_str_eq(json_string_value(json_object_get(again, "path")), "/img,1.raw");
	json_decref(again);
	device_cfg_free_all(&cfg);
}

Test(record_pmem, bad_records_are_refused_and_leave_nothing)
{
	static const char *const bad[][2] = {
	    {"{}", "expected path=FILE"},
	    {"{\"ro\": true}", "path= is missing"},
	    {"{\"path\": \"/a\", \"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"path\": \"/a\", \"ro\": \"maybe\"}", "bad ro 'maybe'"},
	    {"{\"path\": \"\"}", "bad path"},
	    {"{\"path\": [\"/a\", \"/b\"]}", "option 'path' given twice"},
	    {"{\"path\": {}}", "member 'path': expected"},
	    {"{\"path\": \"/a\", \"id\": \"a,b\"}", "id=a,b"},
	    {"{\"path\": \"/a\", \"bw\": \"1M\"}", "bad rate limit '1M'"},
	    {"{\"path\": \"/a\", \"hotplug-slot\": 5}", "has an id= and is no root"},
	    {"{\"path\": \"/a\", \"id\": \"h\", \"hotplug-slot\": 32}", "1..31"},
	    {"{\"path\": \"/a\", \"id\": \"h\", \"gpa\": 6442450944}", "gpa= is a hot-added"},
	    {"{\"path\": \"/a\", \"id\": \"h\", \"hotplug-slot\": 5, \"gpa\": 12345}",
	     "gpa=12345: a 2 MiB-aligned"},
	    {"{\"path\": \"/a\", \"id\": \"h\", \"hotplug-slot\": 5, \"gpa\": [4194304, 4194304]}",
	     "once"},
	    {"{\"path\": \"/a\", \"transport\": \"isa\"}", "member 'transport'"},
	};
	records_refused(&device_pmem, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(record_pmem, a_second_root_is_refused_by_the_vms_records)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	json_t *doc = json_pack("{s:[{s:s, s:b}, {s:s, s:b}]}", "pmem", "path", "/a", "root", 1,
				"path", "/b", "root", 1);
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "pmem[1]: 'pmem0' is the root device already"), "%s", err);
	json_decref(doc);
	device_cfg_free_all(&cfg);
}
