/* --memory-hotplug's record (vmm/descriptors/dev_memhp.c, device_record.h): the option written as
 * items and read back on both transports, the defaults it fills in, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_memhp.h"

#define MIB (1ull << 20)

static void roundtrip_forms(enum virtio_transport t, const char *const *forms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct roundtrip rt;
		roundtrip_run(&rt, t, "memory-hotplug", (const char *const[]){forms[i], NULL});
		const struct dev_memhp_cfg *a = device_cfg_find(&rt.a, &device_memhp);
		const struct dev_memhp_cfg *b = device_cfg_find(&rt.b, &device_memhp);
		cr_assert(a && b, "%s: no block", forms[i]);
		cr_assert_eq(a->opts.total, b->opts.total, "%s: total", forms[i]);
		cr_assert_eq(a->opts.block_size, b->opts.block_size, "%s: block", forms[i]);
		cr_assert_eq(a->opts.slot_size, b->opts.slot_size, "%s: slot", forms[i]);
		cr_assert_eq(a->opts.requested, b->opts.requested, "%s: requested", forms[i]);
		cr_assert_eq(a->transport, b->transport, "%s: transport", forms[i]);
		cr_assert_eq(b->transport, t, "%s: the record's transport", forms[i]);
		cr_assert(!memcmp(a, b, sizeof(*a)), "%s: another block", forms[i]);
		roundtrip_free(&rt);
	}
}

Test(record_memhp, each_form_comes_back_the_same)
{
	static const char *const pci[] = {
	    "total=1G",
	    "total=512M,block=4M,slot=256M,requested=128M",
	    "total=2048,requested=0",
	    "slot=128M,block=2M,total=256M",
	};
	static const char *const mmio[] = {"total=4G,slot=1G,requested=2G", "total=128"};
	roundtrip_forms(TRANSPORT_PCI, pci, sizeof(pci) / sizeof(pci[0]));
	roundtrip_forms(TRANSPORT_MMIO, mmio, sizeof(mmio) / sizeof(mmio[0]));
}

Test(record_memhp, the_record_holds_sizes_in_mib_and_no_defaults)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "memory-hotplug",
		      (const char *const[]){"total=1G,block=2M,slot=512M,requested=64M", NULL});
	const json_t *rec = roundtrip_instance(&rt, "memory-hotplug", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "pci");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "total")), "1024M");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "slot")), "512M");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "requested")), "64M");
	cr_assert_null(json_object_get(rec, "block"), "the default block is not written");
	roundtrip_free(&rt);
}

Test(record_memhp, the_last_one_wins)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "memory-hotplug",
		      (const char *const[]){"total=1G,requested=2M", "total=256M", NULL});
	const struct dev_memhp_cfg *b = device_cfg_find(&rt.b, &device_memhp);
	cr_assert_eq(b->opts.total, 256 * MIB);
	cr_assert_eq(b->opts.requested, 0);
	cr_assert_eq(json_array_size(json_object_get(rt.doc, "memory-hotplug")), 1);
	roundtrip_free(&rt);
}

Test(record_memhp, a_hand_written_record_takes_numbers_and_is_checked)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_memhp, "{\"total\": 1024, \"requested\": \"64M\"}",
				     err, sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_memhp_cfg *c = device_cfg_find(&cfg, &device_memhp);
	cr_assert_eq(c->opts.total, 1024 * MIB);
	cr_assert_eq(c->opts.requested, 64 * MIB);
	cr_assert_eq(c->opts.block_size, VIRTIO_MEM_DEFAULT_BLOCK);
	cr_assert_eq(c->opts.slot_size, VIRTIO_MEM_DEFAULT_SLOT);
	device_cfg_free_all(&cfg);
	static const char *const bad[][2] = {
	    {"{}", "expected total=SIZE"},
	    {"{\"block\": \"4M\"}", "total= is missing"},
	    {"{\"total\": 0}", "bad total '0'"},
	    {"{\"total\": \"lots\"}", "bad total 'lots'"},
	    {"{\"total\": \"100M\"}", "total size must be a non-zero multiple of the slot size"},
	    {"{\"total\": \"1G\", \"block\": \"3M\"}", "block size must be a power of 2"},
	    {"{\"total\": \"1G\", \"slot\": \"64M\"}", "slot size must be a multiple"},
	    {"{\"total\": \"1G\", \"requested\": \"2G\"}", "requested size must be whole blocks"},
	    {"{\"total\": true}", "'total' needs a value"},
	    {"{\"total\": \"1G\", \"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"total\": [1024, 2048]}", "option 'total' given twice"},
	    {"{\"total\": null}", "member 'total': expected"},
	};
	records_refused(&device_memhp, bad, sizeof(bad) / sizeof(bad[0]));
}
