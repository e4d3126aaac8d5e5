/* --vsock's record (vmm/descriptors/dev_vsock.c, device_record.h): the option written as items
 * and read back on both transports, a socket path with a comma, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_vsock.h"

/* The two blocks field by field. */
static void same_vsock(const struct dev_vsock_cfg *a, const struct dev_vsock_cfg *b,
		       const char *form)
{
	cr_assert(a && b, "%s: no block", form);
	cr_assert_eq(a->opts.cid, b->opts.cid, "%s: cid", form);
	cr_assert_str_eq(a->opts.uds, b->opts.uds, "%s: uds", form);
	cr_assert_str_eq(a->opts.id, b->opts.id, "%s: id", form);
	cr_assert_eq(a->transport, b->transport, "%s: transport", form);
	cr_assert_eq(a->hotplug_slot, b->hotplug_slot, "%s: hotplug-slot", form);
}

Test(record_vsock, each_form_comes_back_the_same)
{
	static const char *const forms[] = {
	    "cid=3,uds=/tmp/v.sock",
	    "uds=/run/vm/vsock,cid=4294967294,id=vs0",
	    "cid=7,uds=/tmp/hp.sock,id=hpv,hotplug-slot=3",
	};
	const enum virtio_transport ts[] = {TRANSPORT_PCI, TRANSPORT_MMIO};
	for (size_t t = 0; t < 2; t++) {
		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
			struct roundtrip rt;
			roundtrip_run(&rt, ts[t], "vsock", (const char *const[]){forms[i], NULL});
			same_vsock(device_cfg_find(&rt.a, &device_vsock),
				   device_cfg_find(&rt.b, &device_vsock), forms[i]);
			cr_assert_eq(
			    ((const struct dev_vsock_cfg *)device_cfg_find(&rt.b, &device_vsock))
				->transport,
			    ts[t], "%s: the record's transport", forms[i]);
			roundtrip_free(&rt);
		}
	}
}

Test(record_vsock, the_record_holds_what_the_option_said)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_MMIO, "vsock",
		      (const char *const[]){"cid=9,uds=/tmp/v.sock,id=v1", NULL});
	const json_t *rec = roundtrip_instance(&rt, "vsock", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "mmio");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "cid")), "9");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "uds")), "/tmp/v.sock");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "v1");
	cr_assert_null(json_object_get(rec, "hotplug-slot"));
	roundtrip_free(&rt);
}

Test(record_vsock, a_socket_path_with_a_comma_comes_through)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_vsock, "{\"cid\": 5, \"uds\": \"/tmp/a,b.sock\"}", err,
				     sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_vsock_cfg *c = device_cfg_find(&cfg, &device_vsock);
	cr_assert_eq(c->opts.cid, 5);
	cr_assert_str_eq(c->opts.uds, "/tmp/a,b.sock");
	json_t *doc = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(doc, "vsock"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "uds")), "/tmp/a,b.sock");
	json_decref(doc);
	device_cfg_free_all(&cfg);
}

Test(record_vsock, bad_records_are_refused_and_leave_nothing)
{
	static const char *const bad[][2] = {
	    {"{}", "no options in ''"},
	    {"{\"cid\": 2, \"uds\": \"/a\"}", "bad cid '2'"},
	    {"{\"uds\": \"/a\"}", "missing cid in 'uds=/a'"},
	    {"{\"cid\": 3, \"id\": \"v\"}", "missing uds in 'cid=3,id=v'"},
	    {"{\"cid\": 3, \"uds\": \"/a\", \"id\": \"x/y\"}", "x/y"},
	    {"{\"cid\": 3, \"uds\": \"/a\", \"hotplug-slot\": 3}", "a hot-added vsock has an id="},
	    {"{\"cid\": 3, \"uds\": \"/a\", \"id\": \"v\", \"hotplug-slot\": 40}", "1..31"},
	    {"{\"cid\": 3, \"uds\": \"/a\", \"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"cid\": [3, 4], \"uds\": \"/a\"}", "option 'cid' given twice"},
	    {"{\"cid\": 3.5, \"uds\": \"/a\"}", "member 'cid': expected"},
	    {"{\"cid\": 3, \"uds\": \"/a\", \"transport\": 1}", "member 'transport': expected"},
	};
	records_refused(&device_vsock, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(record_vsock, a_second_vsock_is_refused_and_the_first_stays)
{
	struct vm_config cfg;
	char err[256] = "";
	json_t *doc = json_pack("{s:[{s:i, s:s}, {s:i, s:s}]}", "vsock", "cid", 3, "uds", "/a",
				"cid", 4, "uds", "/b");
	vm_config_init(&cfg);
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "vsock[1]: only one vsock device"), "%s", err);
	const struct dev_vsock_cfg *c = device_cfg_find(&cfg, &device_vsock);
	cr_assert(c && c->opts.cid == 3 && !strcmp(c->opts.uds, "/a"));
	json_decref(doc);
	device_cfg_free_all(&cfg);
}
