/* --console's record (vmm/descriptors/dev_console.c, device_record.h): KIND as the record's
 * "kind", each kind with its byte bucket and hvc0's slot written and read back, a file path with
 * a comma, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_console.h"

/* The two blocks field by field (the path by its text). */
static void same_console(const struct dev_console_cfg *a, const struct dev_console_cfg *b,
			 const char *form)
{
	cr_assert(a && b, "%s: no block", form);
	cr_assert_eq(a->mode, b->mode, "%s: mode", form);
	cr_assert_eq(!a->path, !b->path, "%s: path", form);
	if (a->path)
		cr_assert_str_eq(a->path, b->path, "%s: path", form);
	cr_assert_eq(a->rate.size, b->rate.size, "%s: bw size", form);
	cr_assert_eq(a->rate.refill_ms, b->rate.refill_ms, "%s: bw refill", form);
	cr_assert_eq(a->rate.one_time_burst, b->rate.one_time_burst, "%s: bw burst", form);
	cr_assert_eq(a->virtio, b->virtio, "%s: virtio", form);
	cr_assert_eq(a->transport, b->transport, "%s: transport", form);
	cr_assert_eq(a->hotplug_slot, b->hotplug_slot, "%s: hotplug-slot", form);
}

static void roundtrip_forms(enum virtio_transport t, const char *const *forms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct roundtrip rt;
		roundtrip_run(&rt, t, "console", (const char *const[]){forms[i], NULL});
		same_console(device_cfg_find(&rt.a, &device_console),
			     device_cfg_find(&rt.b, &device_console), forms[i]);
		roundtrip_free(&rt);
	}
}

Test(record_console, each_form_comes_back_the_same)
{
	static const char *const pci[] = {
	    "stdio",
	    "none",
	    "virtio",
	    "file:/tmp/console.log",
	    "stdio,bw=1K:100:4K",
	    "file:/tmp/o,bw=10:1",
	    "virtio,bw=64:10:0,hotplug-slot=5",
	};
	static const char *const mmio[] = {"virtio", "virtio,bw=1M:1000", "file:/tmp/m.log"};
	roundtrip_forms(TRANSPORT_PCI, pci, sizeof(pci) / sizeof(pci[0]));
	roundtrip_forms(TRANSPORT_MMIO, mmio, sizeof(mmio) / sizeof(mmio[0]));
}

Test(record_console, the_record_holds_the_kind_and_its_options)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "console",
		      (const char *const[]){"virtio,bw=2K:50:16,hotplug-slot=6", NULL});
	const json_t *rec = roundtrip_instance(&rt, "console", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "kind")), "virtio");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "pci");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "bw")), "2048:50:16");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "hotplug-slot")), "6");
	const struct dev_console_cfg *b = device_cfg_find(&rt.b, &device_console);
	cr_assert_eq(b->transport, TRANSPORT_PCI, "the record's transport, not the default");
	roundtrip_free(&rt);
}

Test(record_console, the_last_one_wins)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "console",
		      (const char *const[]){"file:/tmp/a,bw=1:1", "none", NULL});
	const struct dev_console_cfg *b = device_cfg_find(&rt.b, &device_console);
	cr_assert_eq(b->mode, CONSOLE_MODE_NONE);
	cr_assert_null(b->path);
	cr_assert_eq(b->rate.size, 0);
	cr_assert_eq(json_array_size(json_object_get(rt.doc, "console")), 1);
	roundtrip_free(&rt);
}

Test(record_console, a_file_path_with_a_comma_comes_through)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_console,
				     "{\"bw\": \"1K:100\", \"kind\": \"file:/tmp/a,b.log\"}", err,
				     sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_console_cfg *c = device_cfg_find(&cfg, &device_console);
	cr_assert_eq(c->mode, CONSOLE_MODE_FILE);
	cr_assert_str_eq(c->path, "/tmp/a,b.log");
	cr_assert_eq(c->rate.size, 1024);
	json_t *doc = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(doc, "console"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "kind")), "file:/tmp/a,b.log");
	json_decref(doc);
	device_cfg_free_all(&cfg);
}

Test(record_console, bad_records_are_refused_and_leave_nothing)
{
	static const char *const bad[][2] = {
	    {"{}", "expected stdio, virtio, none or file:PATH"},
	    {"{\"bw\": \"1:1\"}", "expected stdio, virtio, none or file:PATH"},
	    {"{\"kind\": \"serial:/dev/x\"}", "expected stdio, virtio, none or file:PATH"},
	    {"{\"kind\": \"file:\"}", "expected stdio, virtio, none or file:PATH"},
	    {"{\"kind\": true}", "expected stdio, virtio, none or file:PATH"},
	    {"{\"kind\": [\"stdio\", \"none\"]}", "option 'kind' given twice"},
	    {"{\"kind\": \"none\", \"bw\": \"1:1\"}", "none has none"},
	    {"{\"kind\": \"stdio\", \"bw\": \"x:1\"}", "bad rate limit 'x:1'"},
	    {"{\"kind\": \"file:/o\", \"bw\": [\"1:1\", \"2:2\"]}", "option 'bw' given twice"},
	    {"{\"kind\": \"stdio\", \"nope\": 1}", "unknown option 'nope'"},
	    {"{\"kind\": \"stdio\", \"bw\": {}}", "member 'bw': expected"},
	    {"{\"kind\": \"stdio\", \"transport\": \"pci\", \"hotplug-slot\": 3}",
	     "hotplug-slot=3: only virtio is a PCI device"},
	    {"{\"kind\": \"virtio\", \"transport\": \"mmio\", \"hotplug-slot\": 3}",
	     "a PCI slot is for a device"},
	    {"{\"kind\": \"virtio\", \"transport\": \"pci\", \"hotplug-slot\": \"x\"}", "1..31"},
	};
	records_refused(&device_console, bad, sizeof(bad) / sizeof(bad[0]));
}
