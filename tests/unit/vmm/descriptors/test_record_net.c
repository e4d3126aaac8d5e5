/* --net's record (vmm/descriptors/dev_net.c, device_record.h): each kind of NIC and every key
 * written as items and read back on both transports, a tap name with a comma, and a record's bad
 * members. */
#include "record_roundtrip.h"
#include "vmm/descriptors/dev_net.h"

/* The NICs' options field by field (the hostfwd rules have padding). */
static void expect_same_opts(const struct virtio_net_opts *a, const struct virtio_net_opts *b,
			     const char *what)
{
	cr_assert_eq(a->kind, b->kind, "%s: kind", what);
	cr_assert_str_eq(a->ifname, b->ifname, "%s: ifname", what);
	cr_assert_eq(a->tapfd, b->tapfd, "%s: tapfd", what);
	cr_assert_eq(a->has_mac, b->has_mac, "%s: has_mac", what);
	cr_assert(!memcmp(a->mac, b->mac, sizeof(a->mac)), "%s: mac", what);
	cr_assert_eq(a->nhostfwd, b->nhostfwd, "%s: nhostfwd", what);
	for (unsigned i = 0; i < a->nhostfwd; i++) {
		const struct virtio_net_hostfwd *x = &a->hostfwd[i], *y = &b->hostfwd[i];
		cr_assert(x->udp == y->udp && x->host_addr == y->host_addr &&
			      x->host_port == y->host_port && x->guest_addr == y->guest_addr &&
			      x->guest_port == y->guest_port,
			  "%s: hostfwd %u", what, i);
	}
	cr_assert(!memcmp(&a->rx_rl, &b->rx_rl, sizeof(a->rx_rl)), "%s: rx limits", what);
	cr_assert(!memcmp(&a->tx_rl, &b->tx_rl, sizeof(a->tx_rl)), "%s: tx limits", what);
	cr_assert_eq(a->queues, b->queues, "%s: queues", what);
	cr_assert_eq(a->mtu, b->mtu, "%s: mtu", what);
	cr_assert_eq(a->io_threads, b->io_threads, "%s: io_threads", what);
	cr_assert_eq(a->iothread_cpus.n, b->iothread_cpus.n, "%s: iothread-cpus", what);
	cr_assert(!memcmp(a->iothread_cpus.cpu, b->iothread_cpus.cpu,
			  a->iothread_cpus.n * sizeof(a->iothread_cpus.cpu[0])),
		  "%s: iothread-cpus", what);
	cr_assert_str_eq(a->id, b->id, "%s: id", what);
	cr_assert_eq(a->egress.on, b->egress.on, "%s: egress on", what);
	cr_assert_eq(a->egress.n, b->egress.n, "%s: egress rules", what);
	cr_assert(!memcmp(a->egress.rule, b->egress.rule, a->egress.n * sizeof(a->egress.rule[0])),
		  "%s: egress rules", what);
	cr_assert(!a->mmds && !b->mmds && !a->mmds_ipv4 && !b->mmds_ipv4, "%s: mmds", what);
}

/* --net args on transport t, written, read back, and each NIC compared. */
static void roundtrip_nics(enum virtio_transport t, const char *const *args)
{
	struct roundtrip rt;
	roundtrip_run(&rt, t, "net", args);
	const struct dev_net_cfg *a = device_cfg_find(&rt.a, &device_net);
	const struct dev_net_cfg *b = device_cfg_find(&rt.b, &device_net);
	cr_assert(a && b);
	cr_assert_eq(a->n, b->n, "%s: NICs", args[0]);
	for (int i = 0; i < a->n; i++) {
		expect_same_opts(&a->nic[i].opts, &b->nic[i].opts, args[i]);
		cr_assert_eq(a->nic[i].transport, t, "%s: transport", args[i]);
		cr_assert_eq(b->nic[i].transport, t, "%s: transport", args[i]);
		cr_assert_eq(a->nic[i].hotplug_slot, b->nic[i].hotplug_slot, "%s: slot", args[i]);
	}
	roundtrip_free(&rt);
}

/* Together they use every key of --net. */
static const char *const nics[][5] = {
    {"tap=vmtap0", "tapfd=3", "user", NULL},
    {"tap=t0,mac=52:54:00:AB:cd:ef,mtu=9000,queues=4,io-threads=2,iothread-cpus=0:2-3:1,id=lan",
     "tapfd=7,mac=52:54:00:00:00:01,rx-bw=1M:1000:2M,rx-ops=100:10,tx-bw=64K:100,"
     "tx-ops=10:1000:5",
     "user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,egress=none,id=u0",
     "user,egress=10.0.2.2/32:tcp:8000-8080;dns=10.0.2.3,egress=192.168.0.0/16:udp,"
     "egress=serve=tcp:22",
     NULL},
    {"hotplug-slot=5,tap=hot0,id=hot", "tap=pin0,id=net1,hotplug-slot=9", NULL},
};

Test(record_net, every_key_comes_back_the_same_on_both_transports)
{
	for (size_t i = 0; i < sizeof(nics) / sizeof(nics[0]); i++) {
		roundtrip_nics(TRANSPORT_PCI, nics[i]);
		roundtrip_nics(TRANSPORT_MMIO, nics[i]);
	}
}

Test(record_net, the_record_holds_typed_members)
{
	struct roundtrip rt;
	roundtrip_run(&rt, TRANSPORT_MMIO, "net",
		      (const char *const[]){"user,hostfwd=tcp::2222-:22,hostfwd=udp::53-:53,"
					    "egress=dns=10.0.2.3;10.0.0.0/8",
					    "tap=t1,mac=52:54:00:12:34:56,hotplug-slot=3,id=x",
					    NULL});
	const json_t *user = roundtrip_instance(&rt, "net", 0);
	cr_assert_str_eq(json_string_value(json_object_get(user, "transport")), "mmio");
	cr_assert(json_is_true(json_object_get(user, "user")));
	const json_t *fwd = json_object_get(user, "hostfwd");
	cr_assert_eq(json_array_size(fwd), 2);
	cr_assert_str_eq(json_string_value(json_array_get(fwd, 1)), "udp::53-:53");
	const json_t *egress = json_object_get(user, "egress");
	cr_assert_eq(json_array_size(egress), 2, "a rule a value");
	const json_t *tap = roundtrip_instance(&rt, "net", 1);
	cr_assert_str_eq(json_string_value(json_object_get(tap, "tap")), "t1");
	cr_assert_str_eq(json_string_value(json_object_get(tap, "mac")), "52:54:00:12:34:56");
	cr_assert_str_eq(json_string_value(json_object_get(tap, "hotplug-slot")), "3");
	cr_assert_str_eq(json_string_value(json_object_get(tap, "id")), "x");
	roundtrip_free(&rt);
}

Test(record_net, a_record_names_its_kind_anywhere_and_keeps_commas)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(
	    record_load_one(&device_net,
			    "{\"mtu\": 1400, \"hostfwd\": \"tcp::80-:80\", \"user\": true}", err,
			    sizeof(err), &cfg),
	    0, "%s", err);
	const struct virtio_net_opts *o = dev_net_opts(&cfg, 0);
	cr_assert(o && o->kind == VIRTIO_NET_USER && o->mtu == 1400 && o->nhostfwd == 1);
	device_cfg_free_all(&cfg);
	cr_assert_eq(record_load_one(&device_net, "{\"tap\": \"tap,0\"}", err, sizeof(err), &cfg),
		     0, "%s", err);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "tap,0", "the comma kept");
	json_t *again = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(again, "net"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "tap")), "tap,0");
	json_decref(again);
	device_cfg_free_all(&cfg);
}

Test(record_net, bad_records_are_refused_with_the_options_message)
{
	static const char *const bad[][2] = {
	    {"{\"user\": true, \"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"tap\": \"t0\", \"mtu\": 67}", "mtu=67: from 68 to 65535"},
	    {"{\"tap\": \"t0\", \"mac\": {}}", "member 'mac': expected"},
	    {"{\"tap\": \"t0\", \"mtu\": [1500, 1500]}", "option 'mtu' given twice"},
	    {"{\"mac\": \"52:54:00:00:00:01\"}", "unknown network type 'mac=52:54:00:00:00:01'"},
	    {"{}", "empty option"},
	    {"{\"user\": \"yes\"}", "unknown network type 'user=yes'"},
	    {"{\"tap\": true}", "unknown network type 'tap'"},
	    {"{\"tap\": \"a/b\"}", "bad tap interface name 'a/b'"},
	    {"{\"tapfd\": \"-1\"}", "bad file descriptor '-1'"},
	    {"{\"user\": true, \"tap\": \"t0\"}", "unknown option 'tap'"},
	    {"{\"tap\": \"t0\", \"hostfwd\": \"tcp::1-:2\"}", "hostfwd needs user-mode"},
	    {"{\"user\": true, \"queues\": 2}", "queues=2 needs tap=IFNAME"},
	    {"{\"tap\": \"t0\", \"io-threads\": 2}", "more I/O threads than queue pairs"},
	    {"{\"user\": true, \"egress\": \"10.0.2.2:tcp:99999\"}", "bad port"},
	    {"{\"user\": true, \"hotplug-slot\": 3, \"id\": \"u\"}", "a hot-added NIC has a tap="},
	    {"{\"tap\": \"t0\", \"hotplug-slot\": 32, \"id\": \"t\"}", "1..31"},
	    {"{\"transport\": \"isa\", \"user\": true}", "member 'transport'"},
	};
	records_refused(&device_net, bad, sizeof(bad) / sizeof(bad[0]));
}

/* The command line's --net as before: its kind first (after a hotplug-slot=), at most 4. */
Test(record_net, the_option_string_parses_as_before)
{
	struct vm_config cfg;
	char err[512] = "";
	const struct device_option *net = device_table_option("net", "user");
	vm_config_init(&cfg);
	cr_assert_neq(net->parse(&cfg, "mac=52:54:00:00:00:01,tap=t0", err, sizeof(err)), 0);
	cr_assert(strstr(err, "unknown network type 'mac=52:54:00:00:00:01'"), "%s", err);
	cr_assert_neq(net->parse(&cfg, ",user", err, sizeof(err)), 0);
	cr_assert(strstr(err, "unknown network type ''"), "%s", err);
	cr_assert_neq(net->parse(&cfg, "hotplug-slot=3", err, sizeof(err)), 0);
	cr_assert(strstr(err, "empty option"), "%s", err);
	cr_assert_neq(net->parse(&cfg, "user,", err, sizeof(err)), 0);
	cr_assert(strstr(err, "empty option in 'user,'"), "%s", err);
	cr_assert_null(device_cfg_find(&cfg, &device_net), "no block for refused NICs");
	for (int i = 0; i < VM_MAX_NICS; i++)
		cr_assert_eq(net->parse(&cfg, "user", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(net->parse(&cfg, "user", err, sizeof(err)), -E2BIG);
	cr_assert(strstr(err, "at most 4 NICs"), "%s", err);
	cr_assert_eq(dev_net_count(&cfg), VM_MAX_NICS);
	device_cfg_free_all(&cfg);
}
