/* --balloon's record (vmm/descriptors/dev_balloon.c, device_record.h): the option written as
 * items and read back, its slot, the last one winning, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_balloon.h"

/* The two blocks field by field. */
static void same_balloon(const struct dev_balloon_cfg *a, const struct dev_balloon_cfg *b,
			 const char *form)
{
	cr_assert(a && b, "%s: no block", form);
	cr_assert_eq(a->opts.target_mib, b->opts.target_mib, "%s: size", form);
	cr_assert_eq(a->opts.stats_interval_s, b->opts.stats_interval_s, "%s: stats", form);
	cr_assert_eq(a->opts.deflate_on_oom, b->opts.deflate_on_oom, "%s: deflate-on-oom", form);
	cr_assert_eq(a->opts.free_page_reporting, b->opts.free_page_reporting,
		     "%s: free-page-reporting", form);
	cr_assert_eq(a->transport, b->transport, "%s: transport", form);
	cr_assert_eq(a->hotplug_slot, b->hotplug_slot, "%s: hotplug-slot", form);
}

static void roundtrip_forms(enum virtio_transport t, const char *const *forms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct roundtrip rt;
		roundtrip_run(&rt, t, "balloon", (const char *const[]){forms[i], NULL});
		same_balloon(device_cfg_find(&rt.a, &device_balloon),
			     device_cfg_find(&rt.b, &device_balloon), forms[i]);
		roundtrip_free(&rt);
	}
}

Test(record_balloon, each_form_comes_back_the_same)
{
	static const char *const pci[] = {
	    "size=0",
	    "size=512",
	    "size=2G,stats=5",
	    "stats=7s,deflate-on-oom=on,free-page-reporting=on",
	    "deflate-on-oom=off,free-page-reporting=off",
	    "size=64,hotplug-slot=9",
	};
	static const char *const mmio[] = {"size=1G,stats=1s,deflate-on-oom=on",
					   "free-page-reporting=on"};
	roundtrip_forms(TRANSPORT_PCI, pci, sizeof(pci) / sizeof(pci[0]));
	roundtrip_forms(TRANSPORT_MMIO, mmio, sizeof(mmio) / sizeof(mmio[0]));
}

Test(record_balloon, the_record_holds_what_the_option_said)
{
	struct roundtrip rt;
	roundtrip_run(
	    &rt, TRANSPORT_PCI, "balloon",
	    (const char *const[]){"size=1G,stats=5,deflate-on-oom=on,hotplug-slot=4", NULL});
	const json_t *rec = roundtrip_instance(&rt, "balloon", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "pci");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "size")), "1024");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "stats")), "5s");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "deflate-on-oom")), "on");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "hotplug-slot")), "4");
	cr_assert_null(json_object_get(rec, "free-page-reporting"), "a default is not written");
	roundtrip_free(&rt);
}

Test(record_balloon, the_last_one_wins)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "balloon",
		      (const char *const[]){"size=64,stats=3", "size=128", NULL});
	const struct dev_balloon_cfg *b = device_cfg_find(&rt.b, &device_balloon);
	cr_assert_eq(b->opts.target_mib, 128);
	cr_assert_eq(b->opts.stats_interval_s, 0);
	cr_assert_eq(json_array_size(json_object_get(rt.doc, "balloon")), 1);
	roundtrip_free(&rt);
}

Test(record_balloon, a_hand_written_record_takes_numbers_and_is_checked)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_balloon,
				     "{\"size\": 256, \"stats\": 2, \"transport\": \"mmio\"}", err,
				     sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_balloon_cfg *c = device_cfg_find(&cfg, &device_balloon);
	cr_assert_eq(c->opts.target_mib, 256);
	cr_assert_eq(c->opts.stats_interval_s, 2);
	cr_assert_eq(c->transport, TRANSPORT_MMIO);
	device_cfg_free_all(&cfg);
	static const char *const bad[][2] = {
	    {"{\"size\": \"1.5M\"}", "bad size (whole MiB) '1.5M'"},
	    {"{\"stats\": 86401}", "bad stats '86401'"},
	    {"{\"deflate-on-oom\": \"yes\"}", "bad deflate-on-oom 'yes'"},
	    {"{\"deflate-on-oom\": true}", "deflate-on-oom"},
	    {"{\"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"size\": [1, 2]}", "option 'size' given twice"},
	    {"{\"size\": 1.5}", "member 'size': expected"},
	    {"{\"transport\": \"mmio\", \"hotplug-slot\": 3}", "a PCI slot is for a device"},
	    {"{\"hotplug-slot\": \"0\"}", "1..31"},
	    {"[]", "a device's record is an object"},
	};
	records_refused(&device_balloon, bad, sizeof(bad) / sizeof(bad[0]));
}
