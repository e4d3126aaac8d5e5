/* --fs's record (vmm/descriptors/dev_fs.c, device_record.h): every key of the option, its id= and
 * hotplug slot written as items and read back on both transports, a socket path with a comma
 * that only a record can give, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_fs.h"

/* Share i of `a` and `b` are the same, field by field. */
static void same_share(const struct vm_config *a, const struct vm_config *b, int i, const char *arg)
{
	const struct dev_fs_cfg *ca = device_cfg_find(a, &device_fs);
	const struct dev_fs_cfg *cb = device_cfg_find(b, &device_fs);
	cr_assert(ca && cb);
	cr_assert_eq(ca->n, cb->n, "%s: %d shares, then %d", arg, ca->n, cb->n);
	const struct virtio_fs_opts *oa = &ca->fs[i].opts, *ob = &cb->fs[i].opts;
	cr_assert_str_eq(oa->tag, ob->tag, "%s", arg);
	cr_assert_str_eq(oa->socket, ob->socket, "%s", arg);
	cr_assert_eq(oa->num_request_queues, ob->num_request_queues, "%s", arg);
	cr_assert_eq(oa->queue_size, ob->queue_size, "%s", arg);
	cr_assert_eq(ca->fs[i].transport, cb->fs[i].transport, "%s", arg);
	cr_assert_str_eq(ca->fs[i].id, cb->fs[i].id, "%s", arg);
	cr_assert_eq(ca->fs[i].hotplug_slot, cb->fs[i].hotplug_slot, "%s", arg);
}

static void each_form_on(enum virtio_transport t, const char *const *forms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct roundtrip rt;
		roundtrip_run(&rt, t, "fs", (const char *const[]){forms[i], NULL});
		same_share(&rt.a, &rt.b, 0, forms[i]);
		roundtrip_free(&rt);
	}
}

/* Every key: tag, socket, num-queues, queue-size, id; hotplug-slot on PCI below. */
static const char *const forms[] = {
    "tag=share,socket=/run/fs.sock",
    "tag=t2,socket=/run/t2.sock,num-queues=3,queue-size=256",
    "socket=/run/t3.sock,tag=t3,id=data,queue-size=1024,num-queues=1",
};

Test(record_fs, each_key_comes_back_the_same_on_mmio)
{
	each_form_on(TRANSPORT_MMIO, forms, sizeof(forms) / sizeof(forms[0]));
}

Test(record_fs, each_key_comes_back_the_same_on_pci)
{
	static const char *const pci[] = {"tag=hot,socket=/run/hot.sock,id=h,hotplug-slot=12"};
	each_form_on(TRANSPORT_PCI, forms, sizeof(forms) / sizeof(forms[0]));
	each_form_on(TRANSPORT_PCI, pci, 1);
}

Test(record_fs, several_shares_keep_their_order)
{
	static const char *const args[] = {"tag=a,socket=/s1", "tag=b,socket=/s2,id=bee",
					   "tag=c,socket=/s3,num-queues=2", NULL};
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_PCI, "fs", args);
	for (int i = 0; i < 3; i++)
		same_share(&rt.a, &rt.b, i, args[i]);
	roundtrip_free(&rt);
}

Test(record_fs, the_record_holds_typed_members)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_MMIO, "fs",
		      (const char *const[]){"tag=a,socket=/s,queue-size=128,id=x", NULL});
	const json_t *rec = roundtrip_instance(&rt, "fs", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "mmio");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "tag")), "a");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "socket")), "/s");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "queue-size")), "128");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "x");
	cr_assert_null(json_object_get(rec, "num-queues"), "the default is not written");
	cr_assert_eq(json_object_size(rec), 5);
	const struct dev_fs_cfg *b = device_cfg_find(&rt.b, &device_fs);
	cr_assert_eq(b->fs[0].transport, TRANSPORT_MMIO, "the record's transport, not the default");
	roundtrip_free(&rt);
}

Test(record_fs, a_socket_with_a_comma_is_kept)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(
	    record_load_one(&device_fs,
			    "{\"tag\": \"t\", \"socket\": \"/run/a,b.sock\", \"num-queues\": "
			    "2, \"transport\": \"pci\"}",
			    err, sizeof(err), &cfg),
	    0, "%s", err);
	const struct dev_fs_cfg *c = device_cfg_find(&cfg, &device_fs);
	cr_assert_str_eq(c->fs[0].opts.socket, "/run/a,b.sock");
	cr_assert_eq(c->fs[0].opts.num_request_queues, 2);
	cr_assert_eq(c->fs[0].transport, TRANSPORT_PCI);
	json_t *doc = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(doc, "fs"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "socket")), "/run/a,b.sock");
	json_decref(doc);
	device_cfg_free_all(&cfg);
}

Test(record_fs, bad_records_are_refused_and_leave_no_share)
{
	static const char *const bad[][2] = {
	    {"{}", "expected tag=NAME,socket=PATH"},
	    {"{\"tag\": \"a\"}", "tag and socket are both needed"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"colour\": \"red\"}",
	     "unknown option 'colour'"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"queue-size\": 3}", "queue-size must be"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"num-queues\": \"many\"}", "num-queues must"},
	    {"{\"tag\": \"\", \"socket\": \"/s\"}", "tag must have 1 to 36 bytes"},
	    {"{\"tag\": true, \"socket\": \"/s\"}", "needs a value"},
	    {"{\"tag\": {}, \"socket\": \"/s\"}", "member 'tag': expected"},
	    {"{\"tag\": [\"a\", \"b\"], \"socket\": \"/s\"}", "option 'tag' given twice"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"id\": \"\"}", "id: 1 to 63 bytes"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"id\": [\"x\", \"y\"]}", "id: given twice"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"hotplug-slot\": 3}", "has an id="},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"id\": \"x\", \"hotplug-slot\": 0}", "1..31"},
	    {"{\"tag\": \"a\", \"socket\": \"/s\", \"transport\": 1}", "\"pci\" or \"mmio\""},
	};
	records_refused(&device_fs, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(record_fs, the_option_checks_hold_for_records)
{
	struct vm_config cfg;
	char err[256] = "";
	json_t *doc = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "fs", "tag", "a", "socket", "/s",
				"tag", "a", "socket", "/t");
	vm_config_init(&cfg);
	cr_assert_neq(device_records_load(&cfg, doc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "fs[1]: tag a is given twice"), "%s", err);
	json_decref(doc);
	device_cfg_free_all(&cfg);
}
