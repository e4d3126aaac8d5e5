/* vhost-user disks and NICs in the API model and the config file (vmm/api/api_model.c): a
 * drive's "socket" (Firecracker's vhost-user-block) and a NIC's "socket" (Cloud Hypervisor's),
 * what they accept and refuse, GET /vm/config, and the configuration InstanceStart builds
 * (control_build_config()): the same --disk / --net vhost-user= parser as the command line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model_docs.h"
#include "vmm/api/api_model.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/device_record.h"

static struct api_model m;

static void setup(void)
{
	api_model_init(&m);
}

static void teardown(void)
{
	api_model_free(&m);
}

TestSuite(api_vhost_user, .init = setup, .fini = teardown);

static char err[256];

static int put(int (*fn)(struct api_model *, const char *, const json_t *, char *, size_t),
	       const char *id, const char *text)
{
	json_t *b = json_loads(text, 0, NULL);
	cr_assert_not_null(b, "test JSON: %s", text);
	err[0] = '\0';
	int r = fn(&m, id, b, err, sizeof(err));
	json_decref(b);
	return r;
}

static int put_drive(const char *id, const char *text)
{
	return put(put_drive_doc, id, text);
}

static int put_nic(const char *id, const char *text)
{
	return put(put_nic_doc, id, text);
}

/* The body is refused with a message holding `want`. */
static void refused(int r, const char *want)
{
	cr_assert_eq(r, -EINVAL, "refused (%d): %s", r, err);
	cr_assert(strstr(err, want), "`%s` lacks `%s`", err, want);
}

static int load(const char *text)
{
	json_t *root = json_loads(text, 0, NULL);
	cr_assert_not_null(root, "test JSON: %s", text);
	err[0] = '\0';
	int r = api_model_load(&m, root, err, sizeof(err));
	json_decref(root);
	return r;
}

/* Member `name` of GET /vm/config's section[index], as a JSON text ("-" when absent). */
static void shown(const char *section, size_t index, const char *name, const char *want)
{
	json_t *j = api_model_json(&m);
	json_t *v = json_object_get(json_array_get(json_object_get(j, section), index), name);
	char *text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	cr_assert_str_eq(text ? text : "-", want, "%s[%zu].%s", section, index, name);
	free(text);
	json_decref(j);
}

Test(api_vhost_user, a_drive_with_a_socket_is_a_vhost_user_disk)
{
	cr_assert_eq(put_drive("v0", "{\"drive_id\": \"v0\", \"socket\": \"/run/blk.sock\", "
				     "\"is_root_device\": false, \"num_queues\": 2, "
				     "\"queue_size\": 128}"),
		     0, "%s", err);
	cr_assert(drive_is_vhost_user(&m, 0));
	cr_assert_str_eq(drive_path(&m, 0), "/run/blk.sock");
	char spec[256];
	cr_assert_eq(drive_option(&m, 0, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "vhost-user=/run/blk.sock,num-queues=2,queue-size=128,id=v0");
	/* GET /vm/config: as it was given */
	shown("drives", 0, "socket", "\"/run/blk.sock\"");
	shown("drives", 0, "path_on_host", "-");
	shown("drives", 0, "num_queues", "2");
	shown("drives", 0, "queue_size", "128");
	shown("drives", 0, "is_read_only", "-");
	/* Cloud Hypervisor's vhost_user flag, is_read_only false and nulls are fine */
	cr_assert_eq(put_drive("v1", "{\"drive_id\": \"v1\", \"socket\": \"/run/b2.sock\", "
				     "\"vhost_user\": true, \"is_root_device\": false, "
				     "\"is_read_only\": false, \"cache_type\": null}"),
		     0, "%s", err);
	cr_assert_eq(drive_option(&m, 1, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "vhost-user=/run/b2.sock,id=v1");
	shown("drives", 1, "num_queues", "-");
	/* a file drive may replace it, and the other way round */
	cr_assert_eq(put_drive("v1", "{\"drive_id\": \"v1\", \"path_on_host\": \"/d.img\", "
				     "\"is_root_device\": false}"),
		     0, "%s", err);
	cr_assert_not(drive_is_vhost_user(&m, 1));
	shown("drives", 1, "path_on_host", "\"/d.img\"");
	shown("drives", 1, "socket", "-");
}

Test(api_vhost_user, a_drive_needs_exactly_one_backend)
{
	refused(put_drive("d",
			  "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"socket\": \"/s\", "
			  "\"is_root_device\": false}"),
		"give exactly one of path_on_host (a file) and socket (a vhost-user back-end)");
	refused(put_drive("d", "{\"drive_id\": \"d\", \"is_root_device\": false}"),
		"give exactly one of path_on_host");
	refused(put_drive("d", "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", "
			       "\"vhost_user\": true, \"is_root_device\": false}"),
		"vhost_user true needs socket");
	refused(put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"/s\", \"vhost_user\": false, "
			       "\"is_root_device\": false}"),
		"vhost_user false contradicts socket");
	refused(put_drive("d", "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"num_queues\": 2, "
			       "\"is_root_device\": false}"),
		"num_queues and queue_size are for a vhost-user device (socket)");
	cr_assert_eq(ndrives(&m), 0, "a refused body changes nothing");
}

Test(api_vhost_user, what_a_vhost_user_disk_cannot_honour_is_refused)
{
	static const char *const cases[][2] = {
	    {"\"is_read_only\": true", "is_read_only true cannot be honoured with socket"},
	    {"\"cache_type\": \"Unsafe\"", "cache_type cannot be honoured with socket"},
	    {"\"cache_type\": \"Writeback\"", "VIRTIO_BLK_F_FLUSH"},
	    {"\"io_engine\": \"Async\"", "io_engine cannot be honoured with socket"},
	    {"\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}",
	     "rate_limiter cannot be honoured with socket"},
	};
	char body[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"drive_id\": \"d\", \"socket\": \"/s\", \"is_root_device\": false, %s}",
			 cases[i][0]);
		refused(put_drive("d", body), cases[i][1]);
	}
	refused(
	    put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"\", \"is_root_device\": false}"),
	    "socket must name");
	char long_body[400], path[200];
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	snprintf(long_body, sizeof(long_body),
		 "{\"drive_id\": \"d\", \"socket\": \"/%s\", \"is_root_device\": false}", path);
	refused(put_drive("d", long_body), "1 to 107 bytes");
	cr_assert_eq(ndrives(&m), 0);
	cr_assert_eq(put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"/a,b\", "
				    "\"is_root_device\": false}"),
		     0, "a comma is the socket's: %s", err);
}

Test(api_vhost_user, the_command_lines_parser_judges_the_queues_and_the_sockets)
{
	/* ranges are the option parser's (vu_opts.c), with its words */
	refused(put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"/s\", \"num_queues\": 99, "
			       "\"is_root_device\": false}"),
		"num-queues must be 1 to 16");
	cr_assert(strstr(err, "--disk vhost-user=/s,num-queues=99,id=d"), "%s", err);
	refused(put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"/s\", \"num_queues\": 0, "
			       "\"is_root_device\": false}"),
		"num-queues must be 1 to 16");
	refused(put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"/s\", \"queue_size\": 100, "
			       "\"is_root_device\": false}"),
		"queue-size must be a power of two");
	refused(put_drive("d", "{\"drive_id\": \"d\", \"socket\": \"/s\", "
			       "\"queue_size\": 9223372036854775807, \"is_root_device\": false}"),
		"queue-size must be a power of two");
	/* one back-end connection serves one device: a socket given twice */
	cr_assert_eq(put_drive("a", "{\"drive_id\": \"a\", \"socket\": \"/s\", "
				    "\"is_root_device\": false}"),
		     0, "%s", err);
	refused(put_drive("b", "{\"drive_id\": \"b\", \"socket\": \"/s\", "
			       "\"is_root_device\": false}"),
		"uses that socket already");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"socket\": \"/s\"}"),
		"uses that socket already");
	/* a drive replaced by its own id keeps its socket */
	cr_assert_eq(put_drive("a", "{\"drive_id\": \"a\", \"socket\": \"/s\", "
				    "\"is_root_device\": false, \"queue_size\": 64}"),
		     0, "%s", err);
	cr_assert_eq(ndrives(&m), 1);
	cr_assert_eq(nnics(&m), 0);
}

Test(api_vhost_user, a_vhost_user_disk_cannot_be_patched)
{
	int index;
	const char *path;
	cr_assert_eq(put_drive("v", "{\"drive_id\": \"v\", \"socket\": \"/s\", "
				    "\"is_root_device\": false}"),
		     0, "%s", err);
	json_t *b = json_loads("{\"drive_id\": \"v\", \"path_on_host\": \"/x\"}", 0, NULL);
	cr_assert_eq(api_model_check_patch_drive(&m, "v", b, &index, &path, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "drive `v` is a vhost-user disk (socket)"), "%s", err);
	json_decref(b);
}

Test(api_vhost_user, a_nic_with_a_socket_is_a_vhost_user_nic)
{
	cr_assert_eq(put_nic("vn", "{\"iface_id\": \"vn\", \"socket\": \"/run/net.sock\", "
				   "\"vhost_user\": true, \"guest_mac\": \"02:00:00:00:00:01\", "
				   "\"num_queues\": 2, \"queue_size\": 512}"),
		     0, "%s", err);
	cr_assert_str_eq(nic_str(&m, 0, "socket"), "/run/net.sock");
	cr_assert_str_eq(nic_str(&m, 0, "host_dev_name"), "");
	char spec[256];
	cr_assert_eq(nic_option(&m, 0, spec, sizeof(spec)), 0);
	cr_assert_str_eq(
	    spec,
	    "vhost-user=/run/net.sock,mac=02:00:00:00:00:01,num-queues=2,queue-size=512,id=vn");
	shown("network-interfaces", 0, "socket", "\"/run/net.sock\"");
	shown("network-interfaces", 0, "guest_mac", "\"02:00:00:00:00:01\"");
	shown("network-interfaces", 0, "host_dev_name", "-");
	shown("network-interfaces", 0, "mtu", "-");
	cr_assert_eq(put_nic("vn", "{\"iface_id\": \"vn\", \"socket\": \"/run/net.sock\"}"), 0,
		     "%s", err);
	cr_assert_eq(nic_option(&m, 0, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "vhost-user=/run/net.sock,id=vn");
}

Test(api_vhost_user, what_a_vhost_user_nic_cannot_honour_is_refused)
{
	refused(
	    put_nic("n", "{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\", \"socket\": \"/s\"}"),
	    "give exactly one of host_dev_name (a tap) and socket (a vhost-user back-end)");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"vhost_user\": true}"),
		"give exactly one of host_dev_name");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\", \"vhost_user\": "
			     "true}"),
		"vhost_user true needs socket");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"socket\": \"/s\", \"mtu\": 1500}"),
		"mtu cannot be honoured with socket");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"socket\": \"/s\", \"rx_rate_limiter\": "
			     "{\"ops\": {\"size\": 10, \"refill_time\": 100}}}"),
		"rx_rate_limiter cannot be honoured with socket");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"socket\": \"/s\", \"tx_rate_limiter\": {}}"),
		"tx_rate_limiter cannot be honoured with socket");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"socket\": \"/s\", \"guest_mac\": "
			     "\"01:00:00:00:00:01\"}"),
		"not a unicast MAC address");
	refused(put_nic("n", "{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\", \"queue_size\": "
			     "256}"),
		"num_queues and queue_size are for a vhost-user device (socket)");
	/* the parser's: one queue pair */
	refused(put_nic("n", "{\"iface_id\": \"n\", \"socket\": \"/s\", \"num_queues\": 4}"),
		"num-queues must be 2");
	cr_assert_eq(nnics(&m), 0);
}

Test(api_vhost_user, mmds_cannot_answer_on_a_vhost_user_nic)
{
	cr_assert_eq(put_nic("tap", "{\"iface_id\": \"tap\", \"host_dev_name\": \"tap0\"}"), 0);
	cr_assert_eq(put_nic("vu", "{\"iface_id\": \"vu\", \"socket\": \"/s\"}"), 0, "%s", err);
	json_t *b = json_loads("{\"network_interfaces\": [\"vu\"]}", 0, NULL);
	cr_assert_eq(api_model_put_mmds_config(&m, b, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "network interface `vu` is a vhost-user NIC: MMDS cannot answer"),
		  "%s", err);
	json_decref(b);
	cr_assert_not(m.mmds_set);
	/* the other way round: a NIC that mmds-config names cannot become a vhost-user one */
	b = json_loads("{\"network_interfaces\": [\"tap\"]}", 0, NULL);
	cr_assert_eq(api_model_put_mmds_config(&m, b, err, sizeof(err)), 0, "%s", err);
	json_decref(b);
	refused(put_nic("tap", "{\"iface_id\": \"tap\", \"socket\": \"/t\"}"),
		"mmds-config names `tap`: MMDS cannot answer on a vhost-user NIC");
	/* in a config file, mmds-config comes after the NICs it names */
	api_model_free(&m);
	refused(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		     " \"network-interfaces\": [{\"iface_id\": \"vu\", \"socket\": \"/s\"}],"
		     " \"mmds-config\": {\"network_interfaces\": [\"vu\"]}}"),
		"mmds-config");
	cr_assert(strstr(err, "vhost-user NIC"), "%s", err);
}

Test(api_vhost_user, a_vhost_user_nic_has_no_rate_limiters_to_patch)
{
	int index;
	struct rate_limiter_patch rx, tx;
	cr_assert_eq(put_nic("vu", "{\"iface_id\": \"vu\", \"socket\": \"/s\"}"), 0, "%s", err);
	json_t *b = json_loads("{\"iface_id\": \"vu\", \"rx_rate_limiter\": {\"ops\": {\"size\": "
			       "10, \"refill_time\": 100}}}",
			       0, NULL);
	cr_assert_eq(api_model_check_patch_nic(&m, "vu", b, &index, &rx, &tx, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "`vu` is a vhost-user NIC (socket)"), "%s", err);
	json_decref(b);
}

/* A config file with both kinds of each: InstanceStart's configuration has them where the
 * command line would put them, through the same parser, recorded for a snapshot. */
Test(api_vhost_user, a_config_file_reaches_the_command_lines_parser)
{
	struct vm_config cfg;
	char *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"a=1\"},"
		 " \"drives\": [{\"drive_id\": \"data\", \"path_on_host\": \"/d\","
		 " \"is_root_device\": false},"
		 " {\"drive_id\": \"root\", \"socket\": \"/blk.sock\", \"is_root_device\": "
		 "true, \"num_queues\": 2}],"
		 " \"network-interfaces\": [{\"iface_id\": \"vu\", \"socket\": \"/net.sock\","
		 " \"guest_mac\": \"02:00:00:00:00:07\"},"
		 " {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap7\"}]}"),
	    0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	/* the vhost-user disk comes after the file: /dev/vdb */
	cr_assert(strstr(append, "root=/dev/vdb rw"), "%s", append);
	cr_assert_eq(dev_disk_count(&cfg), 1);
	cr_assert_eq(index[0], 0);
	cr_assert_eq(index[1], -1, "no in-process device to patch");
	const struct dev_vu_cfg *blk = device_cfg_find(&cfg, &device_vu_blk);
	cr_assert_not_null(blk);
	cr_assert_eq(blk->n, 1);
	cr_assert_str_eq(blk->dev[0].opts.socket, "/blk.sock");
	cr_assert_str_eq(blk->dev[0].opts.id, "root");
	cr_assert_eq(blk->dev[0].opts.num_queues, 2);
	const struct dev_vu_cfg *net = device_cfg_find(&cfg, &device_vu_net);
	cr_assert_not_null(net);
	cr_assert_eq(net->n, 1);
	cr_assert_str_eq(net->dev[0].opts.socket, "/net.sock");
	cr_assert(net->dev[0].opts.has_mac);
	cr_assert_eq(dev_net_count(&cfg), 1);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "tap7");
	cr_assert(device_table_shares_memory(&cfg), "guest RAM is shared with the back-ends");
	json_t *rec = device_record_instance(&cfg, &device_vu_blk, 0);
	char *text = json_dumps(rec, JSON_SORT_KEYS);
	cr_assert_str_eq(text,
			 "{\"id\": \"root\", \"num-queues\": \"2\", \"transport\": \"mmio\", "
			 "\"vhost-user\": \"/blk.sock\"}",
			 "its record, what a snapshot saves");
	free(text);
	json_decref(rec);
	cli_free(&cfg);
	free(append);
}

Test(api_vhost_user, a_failed_build_takes_the_vhost_user_devices_back)
{
	struct vm_config cfg;
	char *append = NULL, why[200];
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"drives\": [{\"drive_id\": \"v\", \"socket\": \"/blk.sock\","
		 " \"is_root_device\": false}],"
		 " \"network-interfaces\": [{\"iface_id\": \"n\", \"socket\": \"/fs.sock\"}]}"),
	    0, "%s", err);
	/* the command line's --fs has the NIC's socket: found when the NIC is added */
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "fs", "tag=t,socket=/fs.sock", why, sizeof(why)), 0,
		     "%s", why);
	int nrec = cfg.nrecorded;
	cr_assert_neq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0);
	cr_assert(strstr(err, "n: ") && strstr(err, "uses that socket already"), "%s", err);
	cr_assert_null(device_cfg_find(&cfg, &device_vu_blk), "the disk is taken back");
	cr_assert_eq(dev_vu_count(&cfg, &device_vu_net), 0);
	cr_assert_eq(cfg.nrecorded, nrec, "the boot options recorded are taken back too");
	cr_assert_null(append);
	cli_free(&cfg);
}

Test(api_vhost_user, the_model_of_a_command_line_shows_the_sockets)
{
	struct vm_config cfg;
	char why[200];
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "disk", "/a.img", why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(
	    cli_device_option(&cfg, "disk", "vhost-user=/b.sock,id=fast", why, sizeof(why)), 0,
	    "%s", why);
	cr_assert_eq(cli_device_option(&cfg, "disk", "vhost-user=/c.sock", why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_eq(cli_device_option(&cfg, "net", "vhost-user=/n.sock,mac=02:00:00:00:00:09", why,
				       sizeof(why)),
		     0, "%s", why);
	api_model_free(&m);
	cr_assert_eq(api_model_from_config(&m, &cfg), 0);
	cr_assert_eq(ndrives(&m), 3);
	cr_assert_str_eq(drive_str(&m, 1, "drive_id"), "fast");
	cr_assert_str_eq(drive_str(&m, 2, "drive_id"), "drive2");
	shown("drives", 1, "socket", "\"/b.sock\"");
	shown("drives", 1, "num_queues", "1");
	shown("drives", 1, "queue_size", "256");
	shown("network-interfaces", 0, "iface_id", "\"net0\"");
	shown("network-interfaces", 0, "socket", "\"/n.sock\"");
	shown("network-interfaces", 0, "guest_mac", "\"02:00:00:00:00:09\"");
	/* its model's options are the command line's again */
	char spec[256];
	cr_assert_eq(drive_option(&m, 1, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "vhost-user=/b.sock,num-queues=1,queue-size=256,id=fast");
	cli_free(&cfg);
}
