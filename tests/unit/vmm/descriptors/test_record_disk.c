/* --disk's record (vmm/descriptors/dev_disk.c, device_record.h): every key of the option written
 * as items and read back on both transports, a path with a comma that only a record can give,
 * and a record's bad members. */
#include <stdlib.h>

#include "record_roundtrip.h"
#include "vmm/descriptors/dev_disk.h"

/* Disk i of `a` and `b` are the same: path, every option, transport and hotplug slot. */
static void same_disk(const struct vm_config *a, const struct vm_config *b, int i, const char *arg)
{
	const struct dev_disk_cfg *ca = device_cfg_find(a, &device_disk);
	const struct dev_disk_cfg *cb = device_cfg_find(b, &device_disk);
	cr_assert(ca && cb);
	cr_assert_eq(ca->n, cb->n, "%s: %d disks, then %d", arg, ca->n, cb->n);
	struct virtio_blk_opts oa = ca->disk[i].opts, ob = cb->disk[i].opts;
	cr_assert_str_eq(oa.path, ob.path, "%s: the path", arg);
	oa.path = ob.path = NULL; /* each block's own copy */
	cr_assert(!memcmp(&oa, &ob, sizeof(oa)), "%s: other options", arg);
	cr_assert_eq(ca->disk[i].transport, cb->disk[i].transport, "%s: the transport", arg);
	cr_assert_eq(ca->disk[i].hotplug_slot, cb->disk[i].hotplug_slot, "%s: the slot", arg);
}

/* Together the forms use every key of --disk, hotplug-slot= (PCI) included. */
static const char *const forms[] = {
    "/img/root.raw,ro,root,serial=SN-0042,cache=none,flush=off,discard=on,aio=sync",
    "/img/b.qcow2,format=qcow2,backing_files=on,backing_dirs=/base:rel/dir,id=data",
    "/img/c.raw,bw=2M:1000:4M,ops=500:1000,num-queues=4,iothread-cpus=0:2-3:1,format=raw",
    "/img/d.raw,serial=,aio=io_uring,discard=off,flush=on,cache=writeback,backing_files=off",
    "/img/e.raw",
};

static void each_form_on(enum virtio_transport t)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct roundtrip rt;
		roundtrip_run(&rt, t, "disk", (const char *const[]){forms[i], NULL});
		same_disk(&rt.a, &rt.b, 0, forms[i]);
		roundtrip_free(&rt);
	}
}

Test(record_disk, each_key_comes_back_the_same_on_mmio)
{
	each_form_on(TRANSPORT_MMIO);
}

Test(record_disk, each_key_comes_back_the_same_on_pci)
{
	each_form_on(TRANSPORT_PCI);
}

Test(record_disk, several_disks_keep_their_order_and_slots)
{
	static const char *const args[] = {"/img/a.raw,root", "/img/b.raw,id=hot,hotplug-slot=9",
					   "/img/c.raw,ro", NULL};
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "disk", args);
	for (int i = 0; i < 3; i++)
		same_disk(&rt.a, &rt.b, i, args[i]);
	const struct dev_disk_cfg *b = device_cfg_find(&rt.b, &device_disk);
	cr_assert_eq(b->disk[1].hotplug_slot, 9);
	cr_assert_str_eq(b->disk[2].opts.path, "/img/c.raw");
	roundtrip_free(&rt);
}

Test(record_disk, the_record_holds_typed_members)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_MMIO, "disk",
		      (const char *const[]){"/img/a.raw,ro,num-queues=2,id=x", NULL});
	const json_t *rec = roundtrip_instance(&rt, "disk", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "mmio");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "path")), "/img/a.raw");
	cr_assert(json_is_true(json_object_get(rec, "ro")));
	cr_assert_str_eq(json_string_value(json_object_get(rec, "num-queues")), "2");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "x");
	cr_assert_null(json_object_get(rec, "cache"), "a default is not written");
	cr_assert_eq(json_object_size(rec), 5);
	const struct dev_disk_cfg *b = device_cfg_find(&rt.b, &device_disk);
	cr_assert_eq(b->disk[0].transport, TRANSPORT_MMIO,
		     "the record's transport, not the default");
	roundtrip_free(&rt);
}

Test(record_disk, a_path_with_a_comma_is_kept)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_disk,
				     "{\"ro\": true, \"path\": \"/img,1.raw\", \"num-queues\": 2, "
				     "\"discard\": false}",
				     err, sizeof(err), &cfg),
		     0, "%s", err);
	const struct virtio_blk_opts *o = dev_disk_opts(&cfg, 0);
	cr_assert_str_eq(o->path, "/img,1.raw");
	cr_assert(o->ro);
	cr_assert_eq(o->num_queues, 2);
	cr_assert_not(o->discard);
	json_t *doc = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(doc, "disk"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "path")), "/img,1.raw");
	json_decref(doc);
	device_cfg_free_all(&cfg);
}

Test(record_disk, bad_records_are_refused_and_leave_no_disk)
{
	static const char *const bad[][2] = {
	    {"{}", "empty disk path"},
	    {"{\"path\": \"\"}", "empty disk path"},
	    {"{\"path\": true}", "empty disk path"},
	    {"{\"path\": \"/d\", \"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"path\": \"/d\", \"cache\": \"directsync\"}", "cache=directsync"},
	    {"{\"path\": \"/d\", \"ro\": \"yes\"}", "takes no value"},
	    {"{\"path\": \"/d\", \"serial\": true}", "needs a value"},
	    {"{\"path\": \"/d\", \"serial\": {}}", "member 'serial': expected"},
	    {"{\"path\": \"/d\", \"id\": [\"a\", \"b\"]}", "option 'id' given twice"},
	    {"{\"path\": \"/d\", \"num-queues\": 9}", "num-queues=9"},
	    {"{\"path\": \"/d\", \"backing_dirs\": \"/b\"}", "without backing_files=on"},
	    {"{\"path\": \"/d\", \"backing_files\": \"on\", \"backing_dirs\": \"/a::/b\"}",
	     "no empty one"},
	    {"{\"path\": \"/d\", \"hotplug-slot\": 3}", "a hot-added disk has an id="},
	    {"{\"path\": \"/d\", \"id\": \"x\", \"hotplug-slot\": 32}", "1..31"},
	    {"{\"path\": \"/d\", \"transport\": \"isa\"}", "expected \"pci\" or \"mmio\""},
	};
	records_refused(&device_disk, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(record_disk, the_option_checks_hold_for_records)
{
	struct vm_config cfg;
	char err[256] = "";
	json_t *doc = json_pack("{s:[{s:s, s:b, s:s}, {s:s, s:s}]}", "disk", "path", "/a", "root",
				1, "id", "x", "path", "/b", "id", "x");
	vm_config_init(&cfg);
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "disk[1]: id=x: disk 0 has that id already"), "%s", err);
	json_decref(doc);
	device_cfg_free_all(&cfg);
	doc = json_pack("{s:[{s:s, s:b}, {s:s, s:b}]}", "disk", "path", "/a", "root", 1, "path",
			"/b", "root", 1);
	vm_config_init(&cfg);
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "root: disk 0 is the root device already"), "%s", err);
	json_decref(doc);
	device_cfg_free_all(&cfg);
}
