/* The records of --disk vhost-user= and --net vhost-user= (vmm/descriptors/dev_vhost_user.c,
 * device_record.h): every key written as items and read back on both transports, a socket path
 * with a comma, and a record's bad members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_vhost_user.h"

/* --OPTION args on transport t, written, read back, and each device of `d` compared. */
static void roundtrip_vu(enum virtio_transport t, const char *option, const struct device_desc *d,
			 const char *const *args)
{
	struct roundtrip rt;
	roundtrip_run(&rt, t, option, args);
	const struct dev_vu_cfg *a = device_cfg_find(&rt.a, d);
	const struct dev_vu_cfg *b = device_cfg_find(&rt.b, d);
	cr_assert(a && b);
	cr_assert_eq(a->n, b->n, "%s: devices", args[0]);
	for (int i = 0; i < a->n; i++) {
		const struct vu_opts *x = &a->dev[i].opts, *y = &b->dev[i].opts;
		cr_assert_str_eq(x->socket, y->socket, "%s: socket", args[i]);
		cr_assert_eq(x->num_queues, y->num_queues, "%s: num-queues", args[i]);
		cr_assert_eq(x->queue_size, y->queue_size, "%s: queue-size", args[i]);
		cr_assert_eq(x->has_mac, y->has_mac, "%s: has_mac", args[i]);
		cr_assert(!memcmp(x->mac, y->mac, sizeof(x->mac)), "%s: mac", args[i]);
		cr_assert_str_eq(x->id, y->id, "%s: id", args[i]);
		cr_assert_eq(a->dev[i].transport, t, "%s: transport", args[i]);
		cr_assert_eq(b->dev[i].transport, t, "%s: transport", args[i]);
	}
	roundtrip_free(&rt);
}

Test(record_vhost_user, every_key_comes_back_the_same_on_both_transports)
{
	static const char *const disks[] = {"vhost-user=/run/vu0.sock",
					    "vhost-user=/run/vu1.sock,num-queues=4,queue-size=64,"
					    "id=data",
					    NULL};
	static const char *const nics[] = {"vhost-user=/run/n0.sock",
					   "vhost-user=/run/n1.sock,mac=52:54:00:AB:cd:ef,"
					   "num-queues=2,queue-size=1024,id=uplink",
					   NULL};
	for (int t = 0; t < 2; t++) {
		enum virtio_transport tr = t ? TRANSPORT_MMIO : TRANSPORT_PCI;
		roundtrip_vu(tr, "disk", &device_vu_blk, disks);
		roundtrip_vu(tr, "net", &device_vu_net, nics);
	}
}

Test(record_vhost_user, the_record_holds_typed_members)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_MMIO, "disk",
		      (const char *const[]){"vhost-user=/run/b.sock,num-queues=2,id=b", NULL});
	const json_t *rec = roundtrip_instance(&rt, "vhost-user-blk", 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "mmio");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "vhost-user")), "/run/b.sock");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "num-queues")), "2");
	cr_assert_null(json_object_get(rec, "queue-size"), "a default is not written");
	cr_assert_str_eq(json_string_value(json_object_get(rec, "id")), "b");
	roundtrip_free(&rt);
}

Test(record_vhost_user, a_socket_path_keeps_its_comma)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_vu_net,
				     "{\"queue-size\": 128, \"vhost-user\": \"/run/vu,1.sock\"}",
				     err, sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_vu_cfg *c = device_cfg_find(&cfg, &device_vu_net);
	cr_assert_str_eq(c->dev[0].opts.socket, "/run/vu,1.sock");
	cr_assert_eq(c->dev[0].opts.queue_size, 128);
	cr_assert_eq(c->dev[0].opts.num_queues, 2, "a NIC's default");
	json_t *again = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(again, "vhost-user-net"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "vhost-user")), "/run/vu,1.sock");
	json_decref(again);
	device_cfg_free_all(&cfg);
}

Test(record_vhost_user, bad_records_are_refused_with_the_options_message)
{
	struct vm_config cfg;
	char err[512] = "";
	static const struct {
		const struct device_desc *d;
		const char *json, *want;
	} bad[] = {
	    {&device_vu_blk, "{\"num-queues\": 2}", "expected vhost-user=PATH"},
	    {&device_vu_blk, "{\"vhost-user\": \"/s\", \"mac\": \"52:54:00:00:00:01\"}",
	     "unknown option 'mac'"},
	    {&device_vu_blk, "{\"vhost-user\": \"/s\", \"num-queues\": 17}",
	     "num-queues must be 1 to 16"},
	    {&device_vu_net, "{\"vhost-user\": \"/s\", \"num-queues\": 4}", "num-queues must be 2"},
	    {&device_vu_net, "{\"vhost-user\": \"/s\", \"queue-size\": 100}",
	     "queue-size must be a power of two"},
	    {&device_vu_net, "{\"vhost-user\": \"\"}", "socket path must have 1 to"},
	    {&device_vu_net, "{\"vhost-user\": \"/s\", \"mac\": \"01:00:00:00:00:01\"}",
	     "bad MAC address"},
	    {&device_vu_net, "{\"vhost-user\": \"/s\", \"id\": {}}", "member 'id': expected"},
	    {&device_vu_net, "{\"vhost-user\": [\"/s\", \"/t\"]}",
	     "option 'vhost-user' given twice"},
	    {&device_vu_net, "{\"vhost-user\": \"/s\", \"colour\": 1}", "unknown option 'colour'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_neq(record_load_one(bad[i].d, bad[i].json, err, sizeof(err), &cfg), 0,
			      "%s accepted", bad[i].json);
		cr_assert(strstr(err, bad[i].want), "%s: '%s', want '%s'", bad[i].json, err,
			  bad[i].want);
		cr_assert_null(device_cfg_find(&cfg, bad[i].d), "%s: a block left", bad[i].json);
		device_cfg_free_all(&cfg);
	}
}

/* A socket serves one device and an id names one, a record's as the command line's. */
Test(record_vhost_user, a_records_socket_and_id_are_checked_against_the_others)
{
	struct vm_config cfg;
	char err[512] = "";
	const struct device_option *disk = device_table_option("disk", "vhost-user=/s");
	vm_config_init(&cfg);
	cr_assert_eq(disk->parse(&cfg, "vhost-user=/run/a.sock,id=a", err, sizeof(err)), 0, "%s",
		     err);
	json_t *rec = json_pack("{s:s}", "vhost-user", "/run/a.sock");
	cr_assert_neq(device_record_from_json(&cfg, &device_vu_net, rec, err, sizeof(err)), 0);
	cr_assert(strstr(err, "uses that socket already"), "%s", err);
	json_decref(rec);
	rec = json_pack("{s:s, s:s}", "vhost-user", "/run/b.sock", "id", "a");
	cr_assert_neq(device_record_from_json(&cfg, &device_vu_blk, rec, err, sizeof(err)), 0);
	cr_assert(strstr(err, "id=a is taken already"), "%s", err);
	json_decref(rec);
	cr_assert_null(device_cfg_find(&cfg, &device_vu_net));
	cr_assert_eq(dev_vu_count(&cfg, &device_vu_blk), 1);
	device_cfg_free_all(&cfg);
}
