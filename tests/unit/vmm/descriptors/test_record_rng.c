/* --rng's record (vmm/descriptors/dev_rng.c, device_record.h): the option written as items and
 * read back, each form of the limit, its slot, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_rng.h"

Test(record_rng, each_form_comes_back_the_same)
{
	static const char *const forms[] = {"rate=64K,burst=4K", "rate=1M",
					    "bw=1M:100:2M,ops=10:1000", "ops=5:10",
					    "hotplug-slot=7"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct roundtrip rt;
		roundtrip_run(&rt, TRANSPORT_PCI, "rng", (const char *const[]){forms[i], NULL});
		const struct dev_rng_cfg *a = device_cfg_find(&rt.a, &device_rng);
		const struct dev_rng_cfg *b = device_cfg_find(&rt.b, &device_rng);
		cr_assert(a && b);
		cr_assert(!memcmp(a, b, sizeof(*a)), "%s: another block", forms[i]);
		roundtrip_free(&rt);
	}
}

Test(record_rng, the_record_holds_typed_members)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_MMIO, "rng", (const char *const[]){"rate=1M", NULL});
	const json_t *rec = roundtrip_instance(&rt, "rng", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "mmio");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "rate")), "1048576");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "burst")), "1048576");
	const struct dev_rng_cfg *b = device_cfg_find(&rt.b, &device_rng);
	cr_assert_eq(b->transport, TRANSPORT_MMIO, "the record's transport, not the default");
	roundtrip_free(&rt);
}

Test(record_rng, a_hand_written_record_takes_numbers_and_is_checked)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_rng, "{\"rate\": 4096}", err, sizeof(err), &cfg), 0,
		     "%s", err);
	cr_assert_eq(((const struct dev_rng_cfg *)device_cfg_find(&cfg, &device_rng))->opts.rate,
		     4096);
	device_cfg_free_all(&cfg);
	static const char *const bad[][2] = {
	    {"{\"rate\": 0}", "bad rate '0'"},
	    {"{\"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"rate\": [1, 2]}", "option 'rate' given twice"},
	    {"{\"rate\": {}}", "member 'rate': expected"},
	    {"{\"transport\": \"isa\"}", "member 'transport': expected \"pci\" or \"mmio\""},
	    {"{\"transport\": \"mmio\", \"hotplug-slot\": \"3\"}", "a PCI slot is for a device"},
	    {"{\"transport\": \"pci\", \"hotplug-slot\": \"32\"}", "1..31"},
	    {"[]", "a device's record is an object"},
	};
	records_refused(&device_rng, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(record_rng, the_vms_records_are_refused_for_an_unknown_device)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	json_t *doc = json_pack("{s:[{}], s:[]}", "rng", "toaster");
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "toaster: no device of that name has a record"), "%s", err);
	cr_assert_null(device_cfg_find(&cfg, &device_rng), "nothing added before the check");
	json_decref(doc);
	doc = json_pack("{s:[{}, {}]}", "rng");
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "rng[1]: only one rng device"), "%s", err);
	json_decref(doc);
	device_cfg_free_all(&cfg);
}
