/* The API's VM model (vmm/api/api_model.c): a whole config file, its errors, the model of a
 * command line; and the configuration built from a model (control_build_config()): the root
 * drive first, the kernel command line, the device parsers of the command line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "model_docs.h"
#include "vmm/api/api_model.h"
#include "vmm/api/api_router.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_rng.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/descriptors/dev_vsock_test.h"
#include "vmm/descriptors/device_record.h"

#include "tests/unit/fixtures/config_replay.h"

static struct api_model m;

static void setup(void)
{
	api_model_init(&m);
}

static void teardown(void)
{
	api_model_free(&m);
}

TestSuite(api_model, .init = setup, .fini = teardown);

static int load(const char *text, char *err, size_t errlen)
{
	json_t *root = json_loads(text, 0, NULL);
	cr_assert_not_null(root, "test JSON: %s", text);
	int r = api_model_load(&m, root, err, errlen);
	json_decref(root);
	return r;
}

Test(api_model, defaults)
{
	cr_assert_eq(m.vcpus, 1);
	cr_assert_eq(m.mem_mib, 128, "Firecracker's DEFAULT_MEM_SIZE_MIB");
	cr_assert_null(m.kernel);
}

Test(api_model, a_whole_file)
{
	char err[256] = "";
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\","
		 " \"boot_args\": \"quiet\"},"
		 " \"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 1024},"
		 " \"drives\": [{\"drive_id\": \"data\", \"path_on_host\": \"/d\","
		 " \"is_root_device\": false},"
		 " {\"drive_id\": \"root\", \"path_on_host\": \"/r\", \"is_root_device\": true,"
		 " \"is_read_only\": true}],"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		 "\"tap7\"}],"
		 " \"metrics\": {\"metrics_path\": \"/m\"}}",
		 err, sizeof(err)),
	    0, "%s", err);
	cr_assert_str_eq(m.kernel, "/k");
	cr_assert_str_eq(m.initrd, "/i");
	cr_assert_eq(m.vcpus, 4);
	cr_assert_eq(m.mem_mib, 1024);
	cr_assert_eq(ndrives(&m), 2);
	cr_assert(drive_bool(&m, 1, "is_root_device") && drive_bool(&m, 1, "is_read_only"));
	cr_assert_eq(nnics(&m), 1);
	cr_assert_str_eq(m.metrics_path, "/m");
	json_t *back = api_model_json(&m);
	cr_assert_eq(json_array_size(json_object_get(back, "drives")), 2);
	json_decref(back);
}

Test(api_model, file_errors_name_the_place)
{
	char err[256] = "";
	cr_assert_neq(load("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}", err,
			   sizeof(err)),
		      0);
	cr_assert(strstr(err, "boot-source"), "%s", err);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": {}}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "drives"), "%s", err);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			   "\"network-interfaces\": [{\"iface_id\": \"n\"}]}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "network-interfaces[0]") && strstr(err, "host_dev_name"), "%s", err);
	cr_assert_neq(load("[]", err, sizeof(err)), 0);
}

Test(api_model, the_model_of_a_command_line)
{
	struct vm_config cfg;
	char err[256];
	vm_config_init(&cfg);
	cfg.kernel = "/vmlinux";
	cfg.append = "console=ttyS0";
	cfg.ncpus = 2;
	cr_assert_eq(cli_device_option(&cfg, "disk", "/a.img,ro", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    cli_device_option(&cfg, "net", "tap=tap3,mac=52:54:00:00:00:09", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(api_model_from_config(&m, &cfg), 0);
	cr_assert_str_eq(m.kernel, "/vmlinux");
	cr_assert_eq(m.vcpus, 2);
	cr_assert_str_eq(drive_str(&m, 0, "drive_id"), "drive0");
	cr_assert(drive_bool(&m, 0, "is_read_only"));
	cr_assert_str_eq(nic_str(&m, 0, "host_dev_name"), "tap3");
	cr_assert_str_eq(nic_str(&m, 0, "guest_mac"), "52:54:00:00:00:09");
	cli_free(&cfg);
}

Test(api_model, a_configuration_from_the_model)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"a=1\"},"
		 " \"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 300},"
		 " \"drives\": [{\"drive_id\": \"data\", \"path_on_host\": \"/d\","
		 " \"is_root_device\": false, \"io_engine\": \"Sync\"},"
		 " {\"drive_id\": \"root\", \"path_on_host\": \"/r\", \"is_root_device\": true,"
		 " \"is_read_only\": true}],"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		 "\"tap7\", \"guest_mac\": \"52:54:00:00:00:01\"}]}",
		 err, sizeof(err)),
	    0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(cfg.kernel, "/k");
	cr_assert_eq(cfg.ncpus, 3);
	cr_assert_eq(cfg.mem_size, 300ull << 20);
	cr_assert_str_eq(append, "a=1 root=/dev/vda ro");
	cr_assert_eq(dev_disk_count(&cfg), 2);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/r", "the root drive is /dev/vda");
	cr_assert(dev_disk_opts(&cfg, 0)->ro);
	cr_assert_eq(dev_disk_opts(&cfg, 1)->aio, VIRTIO_BLK_AIO_SYNC);
	cr_assert_eq(index[0], 1);
	cr_assert_eq(index[1], 0);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->id, "root",
			 "the drive's id goes with its --disk option");
	cr_assert_str_eq(dev_disk_opts(&cfg, 1)->id, "data");
	cr_assert_eq(dev_net_count(&cfg), 1);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "tap7");
	/* what a snapshot's restore builds: the drives keep their ids */
	struct api_model restored;
	cr_assert_eq(api_model_from_config(&restored, &cfg), 0);
	cr_assert_str_eq(drive_str(&restored, 0, "drive_id"), "root");
	cr_assert_str_eq(drive_str(&restored, 1, "drive_id"), "data");
	api_model_free(&restored);
	cli_free(&cfg);
	free(append);
}

Test(api_model, cache_type_reaches_the_disk_and_survives_a_restore)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": ["
		 "{\"drive_id\": \"u\", \"path_on_host\": \"/u\", \"is_root_device\": false,"
		 " \"cache_type\": \"Unsafe\"},"
		 "{\"drive_id\": \"w\", \"path_on_host\": \"/w\", \"is_root_device\": false,"
		 " \"cache_type\": \"Writeback\"},"
		 "{\"drive_id\": \"n\", \"path_on_host\": \"/n\", \"is_root_device\": false,"
		 " \"partuuid\": null}]}",
		 err, sizeof(err)),
	    0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(dev_disk_opts(&cfg, 0)->no_flush, "Unsafe: no FLUSH offered, as in Firecracker");
	cr_assert_not(dev_disk_opts(&cfg, 1)->no_flush);
	cr_assert_not(dev_disk_opts(&cfg, 2)->no_flush, "not given: flushes kept");
	struct api_model restored;
	cr_assert_eq(api_model_from_config(&restored, &cfg), 0);
	cr_assert_str_eq(drive_str(&restored, 0, "cache_type"), "Unsafe");
	cr_assert_str_eq(drive_str(&restored, 1, "cache_type"), "Writeback");
	cr_assert_str_eq(drive_str(&restored, 2, "cache_type"), "Writeback");
	api_model_free(&restored);
	cli_free(&cfg);
	free(append);
}

Test(api_model, an_id_with_a_comma_is_refused)
{
	char err[256] = "";
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			   " \"drives\": [{\"drive_id\": \"a,ro\", \"path_on_host\": \"/d\","
			   " \"is_root_device\": false}]}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "not allowed"), "%s", err);
}

Test(api_model, a_failed_build_leaves_nothing_added)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\","
			  " \"is_root_device\": true}]}",
			  err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	for (int i = 0; i < VM_MAX_DISKS; i++) /* the command line filled every disk slot */
		cr_assert_eq(cli_device_option(&cfg, "disk", "/cli.img", err, sizeof(err)), 0);
	cr_assert_neq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0);
	cr_assert(strstr(err, "a:"), "names the drive: %s", err);
	cr_assert_eq(dev_disk_count(&cfg), VM_MAX_DISKS);
	cr_assert_str_eq(dev_disk_opts(&cfg, VM_MAX_DISKS - 1)->path, "/cli.img",
			 "the disks put back own their paths");
	cr_assert_null(append);
	cr_assert_null(cfg.kernel);
	cli_free(&cfg);
}

/* A start that fails after the build (vm_create()) puts the command line's disks and NICs back
 * from the copy device_cfg_save() made (device_desc.cfg_copy: the copy owns its paths), and one
 * that goes through drops that copy; the sanitizer run of the unit tests finds any leak, double
 * free or use after free of the paths. */
Test(api_model, a_failed_start_puts_the_disks_and_nics_back)
{
	struct vm_config cfg;
	struct device_cfg_saved saved;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"drives\": [{\"drive_id\": \"api\", \"path_on_host\": \"/api.img\","
			  " \"is_root_device\": false}],"
			  " \"network-interfaces\": [{\"iface_id\": \"eth1\","
			  " \"host_dev_name\": \"tap8\"}]}",
			  err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "disk", "/cli.img,id=cli", err, sizeof(err)), 0);
	cr_assert_eq(cli_device_option(&cfg, "net", "tap=tap7", err, sizeof(err)), 0);
	cr_assert_eq(device_cfg_save(&cfg, &saved), 0);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(dev_disk_count(&cfg), 2);
	cr_assert_eq(dev_net_count(&cfg), 2);
	device_cfg_restore(&cfg, &saved);
	cr_assert_eq(dev_disk_count(&cfg), 1);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/cli.img");
	cr_assert_eq(dev_net_count(&cfg), 1);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "tap7");
	free(append);

	cr_assert_eq(device_cfg_save(&cfg, &saved), 0);
	device_cfg_saved_free(&saved); /* the start went through */
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/cli.img");
	cli_free(&cfg);
}

Test(api_model, rate_limiters_reach_the_device_options_and_the_records)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/d\","
		 " \"is_root_device\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": 2097152,"
		 " \"one_time_burst\": 4096, \"refill_time\": 1000},"
		 " \"ops\": {\"size\": 0, \"refill_time\": 1000}}}],"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap7\","
		 " \"rx_rate_limiter\": {\"ops\": {\"size\": 500, \"refill_time\": 1000}},"
		 " \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 10}}}]}",
		 err, sizeof(err)),
	    0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(dev_disk_opts(&cfg, 0)->rl.bw.size, 2097152);
	cr_assert_eq(dev_disk_opts(&cfg, 0)->rl.bw.one_time_burst, 4096);
	cr_assert_eq(dev_disk_opts(&cfg, 0)->rl.bw.refill_ms, 1000);
	cr_assert_eq(dev_disk_opts(&cfg, 0)->rl.ops.size, 0, "size 0: no limit");
	cr_assert_eq(dev_net_opts(&cfg, 0)->rx_rl.ops.size, 500);
	cr_assert_eq(dev_net_opts(&cfg, 0)->rx_rl.bw.size, 0);
	cr_assert_eq(dev_net_opts(&cfg, 0)->tx_rl.bw.refill_ms, 10);
	/* a snapshot saves the devices' records: the limits are in them */
	record_member_is(&cfg, &device_disk, 0, "bw", "2097152:1000:4096");
	record_member_is(&cfg, &device_net, 0, "rx-ops", "500:1000:0");
	record_member_is(&cfg, &device_net, 0, "tx-bw", "1000:10:0");
	cli_free(&cfg);
	free(append);
}

/* host_dev_name "user" is user-mode networking (what GET /vm/config shows for a libslirp NIC),
 * so MMDS can be set on a NIC without a tap (tests/integration/linux/test_linux_mmds_slirp.py). */
Test(api_model, a_user_nic_is_user_mode_networking)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		 "\"user\", \"guest_mac\": \"52:54:00:00:00:09\"}],"
		 " \"mmds-config\": {\"version\": \"V1\", \"network_interfaces\": [\"eth0\"]}}",
		 err, sizeof(err)),
	    0, "%s", err);
	char spec[128];
	cr_assert_eq(nic_option(&m, 0, spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "user,mac=52:54:00:00:00:09,id=eth0");
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(dev_net_count(&cfg), 1);
	cr_assert_eq(dev_net_opts(&cfg, 0)->kind, VIRTIO_NET_USER);
	cli_free(&cfg);
	free(append);
}

Test(api_model, bad_rate_limiters_are_refused)
{
	char err[256] = "";
	cr_assert_neq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/d\","
		 " \"is_root_device\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": "
		 "1125899906842625, \"refill_time\": 1}}}]}",
		 err, sizeof(err)),
	    0);
	cr_assert(strstr(err, "rate_limiter"), "%s", err);
	cr_assert_neq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\","
		 " \"tx_rate_limiter\": {\"ops\": {\"size\": 5,"
		 " \"refill_time\": 86400001}}}]}",
		 err, sizeof(err)),
	    0);
	cr_assert(strstr(err, "tx_rate_limiter"), "%s", err);
}

/* Firecracker's rule: a bucket with size 0 or refill_time 0 is no limit, whatever else it has. */
Test(api_model, a_bucket_of_size_or_refill_time_0_is_no_limit)
{
	char err[256] = "";
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\","
		 " \"rx_rate_limiter\": {\"bandwidth\": {\"size\": 100, \"refill_time\": 0}},"
		 " \"tx_rate_limiter\": {\"ops\": {\"size\": 0, \"one_time_burst\": 5,"
		 " \"refill_time\": 1}}}]}",
		 err, sizeof(err)),
	    0, "%s", err);
	cr_assert_not(rate_limiter_cfg_active((struct rate_limiter_cfg[1]){nic_rx(&m, 0)}));
	cr_assert_not(rate_limiter_cfg_active((struct rate_limiter_cfg[1]){nic_tx(&m, 0)}));
	cr_assert_eq(nic_tx(&m, 0).ops.one_time_burst, 0, "nothing of it kept");
}

/* PATCH bodies name the buckets to change; what they do not name is left alone. */
Test(api_model, patch_bodies_name_the_buckets_to_change)
{
	char err[256] = "";
	struct rate_limiter_patch rx, tx;
	int index = -1;
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\":"
			  " \"t\"}]}",
			  err, sizeof(err)),
		     0, "%s", err);
	json_t *b = json_loads("{\"iface_id\": \"e\", \"tx_rate_limiter\": {\"ops\": {\"size\":"
			       " 0, \"refill_time\": 0}, \"bandwidth\": {\"size\": 9,"
			       " \"refill_time\": 3}}}",
			       0, NULL);
	cr_assert_eq(api_model_check_patch_nic(&m, "e", b, &index, &rx, &tx, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(index, 0);
	cr_assert_not(rate_limiter_patch_any(&rx), "rx not in the body: nothing named");
	cr_assert(tx.has_ops && tx.has_bw);
	cr_assert_eq(tx.cfg.ops.size, 0, "named with size 0: to be removed");
	cr_assert_eq(tx.cfg.bw.size, 9);
	json_decref(b);

	struct rate_limiter_patch p;
	b = json_loads("{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\": {\"size\": 1,"
		       " \"refill_time\": 1}}}",
		       0, NULL);
	cr_assert(api_model_patch_drive_rate_limiter(b, &p));
	cr_assert(p.has_bw);
	cr_assert_not(p.has_ops);
	json_decref(b);
	b = json_loads("{\"drive_id\": \"d\", \"rate_limiter\": {}}", 0, NULL);
	cr_assert_not(api_model_patch_drive_rate_limiter(b, &p), "{}: nothing to change");
	json_decref(b);
	b = json_loads("{\"drive_id\": \"d\", \"path_on_host\": \"/x\"}", 0, NULL);
	cr_assert_not(api_model_patch_drive_rate_limiter(b, &p), "no rate_limiter");
	json_decref(b);
}

Test(api_model, a_vsock_from_the_file_reaches_the_device_option_and_the_record)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"vsock\": {\"vsock_id\": \"vs\", \"guest_cid\": 42,"
			  " \"uds_path\": \"/tmp/vm.vsock\"}}",
			  err, sizeof(err)),
		     0, "%s", err);
	json_t *back = api_model_json(&m);
	json_t *v = json_object_get(back, "vsock");
	cr_assert_eq(json_integer_value(json_object_get(v, "guest_cid")), 42);
	cr_assert_str_eq(json_string_value(json_object_get(v, "uds_path")), "/tmp/vm.vsock");
	cr_assert_str_eq(json_string_value(json_object_get(v, "vsock_id")), "vs");
	json_decref(back);

	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct dev_vsock_cfg *c = device_cfg_find(&cfg, &device_vsock);
	cr_assert_not_null(c);
	cr_assert_eq(c->opts.cid, 42);
	cr_assert_str_eq(c->opts.uds, "/tmp/vm.vsock");
	record_member_is(&cfg, &device_vsock, 0, "id", "vs"); /* a snapshot saves it */

	/* and the model of that configuration (GET /vm/config after a restore) has it too; the
	 * configuration borrows m's strings (the kernel path), so m lives until cfg is gone */
	struct api_model again;
	cr_assert_eq(api_model_from_config(&again, &cfg), 0);
	back = api_model_json(&again);
	v = json_object_get(back, "vsock");
	cr_assert_eq(json_integer_value(json_object_get(v, "guest_cid")), 42);
	cr_assert_str_eq(json_string_value(json_object_get(v, "uds_path")), "/tmp/vm.vsock");
	cr_assert_str_eq(json_string_value(json_object_get(v, "vsock_id")), "vs",
			 "the client's vsock_id survives");
	json_decref(back);
	api_model_free(&again);
	cli_free(&cfg);
	free(append);
}

/* Firecracker's "entropy" is --rng: its bandwidth bucket becomes the device's bw= bucket,
 * recorded as the option (a snapshot replays it) and shown again from that configuration. */
Test(api_model, entropy_from_the_file_reaches_the_rng_option_and_comes_back)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 2048,"
			  " \"refill_time\": 500}}}}",
			  err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct dev_rng_cfg *c = device_cfg_find(&cfg, &device_rng);
	cr_assert_not_null(c);
	cr_assert_eq(c->opts.rl.bw.size, 2048, "2048 bytes every 500 ms");
	cr_assert_eq(c->opts.rl.bw.refill_ms, 500);
	record_member_is(&cfg, &device_rng, 0, "bw", "2048:500:0");

	struct api_model again;
	cr_assert_eq(api_model_from_config(&again, &cfg), 0);
	json_t *back = api_model_json(&again);
	json_t *bw = json_object_get(
	    json_object_get(json_object_get(back, "entropy"), "rate_limiter"), "bandwidth");
	cr_assert_eq(json_integer_value(json_object_get(bw, "size")), 2048);
	cr_assert_eq(json_integer_value(json_object_get(bw, "refill_time")), 500);
	json_decref(back);
	api_model_free(&again);
	cli_free(&cfg);
	free(append);
}

Test(api_model, entropy_in_the_file_beside_rng_on_the_command_line_is_refused)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"entropy\": {}}",
			  err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "rng", NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0);
	cr_assert(strstr(err, "only one rng"), "%s", err);
	cli_free(&cfg);
	free(append);
}

/* --rng with a rate and no burst: the device's bucket holds one second of bytes, and the
 * entropy document says so (size = rate, refill_time 1000 ms), never a size of 0. */
Test(api_model, rng_rate_without_burst_is_shown_as_one_second_bucket)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "rng", "rate=2000", err, sizeof(err)), 0, "%s", err);
	struct api_model again;
	cr_assert_eq(api_model_from_config(&again, &cfg), 0);
	json_t *back = api_model_json(&again);
	json_t *bw = json_object_get(
	    json_object_get(json_object_get(back, "entropy"), "rate_limiter"), "bandwidth");
	cr_assert_eq(json_integer_value(json_object_get(bw, "size")), 2000);
	cr_assert_eq(json_integer_value(json_object_get(bw, "refill_time")), 1000);
	json_decref(back);
	api_model_free(&again);
	cli_free(&cfg);
}

Test(api_model, a_vsock_on_the_command_line_and_in_the_file_is_refused_and_undone)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/b\"}}",
			  err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "vsock", "cid=9,uds=/tmp/a", err, sizeof(err)), 0);
	int nrec = cfg.nrecorded;
	cr_assert_neq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0);
	cr_assert(strstr(err, "vsock"), "%s", err);
	cr_assert_eq(cfg.nrecorded, nrec);
	const struct dev_vsock_cfg *c = device_cfg_find(&cfg, &device_vsock);
	cr_assert_eq(c->opts.cid, 9, "the command line's vsock stays");
	cli_free(&cfg);

	/* without one on the command line, a failed start (device_cfg_restore()) leaves none */
	vm_config_init(&cfg);
	struct device_cfg_saved saved;
	cr_assert_eq(device_cfg_save(&cfg, &saved), 0);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(dev_vsock_configured(&cfg));
	device_cfg_restore(&cfg, &saved);
	cr_assert(!dev_vsock_configured(&cfg));
	cli_free(&cfg);
	free(append);
}

Test(api_model, bad_vsock_members_name_the_place)
{
	char err[256] = "";
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			   " \"vsock\": {\"guest_cid\": 1, \"uds_path\": \"/v\"}}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "vsock: guest_cid"), "%s", err);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"vsock\": []}", err,
			   sizeof(err)),
		      0);
	cr_assert(strstr(err, "vsock"), "%s", err);
	char body[400];
	snprintf(body, sizeof(body),
		 "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/%0100d\"}}",
		 0);
	cr_assert_neq(load(body, err, sizeof(err)), 0, "the path is longer than 96 bytes");
}

/* ---- Firecracker's fields (issue 27) ---- */

static int put_mc(const char *text, char *err, size_t errlen)
{
	json_t *b = json_loads(text, 0, NULL);
	cr_assert_not_null(b, "test JSON: %s", text);
	int r = api_model_put_machine_config(&m, b, err, errlen);
	json_decref(b);
	return r;
}

Test(api_model, machine_config_fields_honoured_or_refused_with_a_reason)
{
	char err[256] = "";
	cr_assert_eq(put_mc("{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"huge_pages\": "
			    "\"Transparent\", \"smt\": false, \"cpu_template\": \"None\"}",
			    err, sizeof(err)),
		     0, "%s", err);
	cr_assert(m.hugepages);
	cr_assert_not(m.smt);
	cr_assert_eq(put_mc("{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": true, "
			    "\"huge_pages\": \"Transparent\"}",
			    err, sizeof(err)),
		     0, "%s", err);
	cr_assert(m.smt, "smt: two threads per core");
	json_t *mc = api_model_machine_config_json(&m);
	cr_assert(json_is_true(json_object_get(mc, "smt")));
	json_decref(mc);
	cr_assert_eq(put_mc("{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": true, "
			    "\"huge_pages\": \"Transparent\"}",
			    err, sizeof(err)),
		     0, "%s", err);
	cr_assert_neq(
	    put_mc("{\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true}", err, sizeof(err)),
	    0);
	cr_assert(strstr(err, "smt"), "%s", err);
	cr_assert_eq(m.vcpus, 1, "a refused body changes nothing");
	cr_assert_neq(put_mc("{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"huge_pages\": \"2M\"}",
			     err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "hugetlbfs"), "%s", err);
	cr_assert_neq(put_mc("{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"huge_pages\": \"1G\"}",
			     err, sizeof(err)),
		      0);
	cr_assert_neq(
	    put_mc("{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"cpu_template\": \"V1N1\"}", err,
		   sizeof(err)),
	    0);
	cr_assert(strstr(err, "aarch64"), "%s", err);
	cr_assert(m.hugepages, "a refused body changes nothing");
	cr_assert_eq(put_mc("{\"vcpu_count\": 2, \"mem_size_mib\": 64}", err, sizeof(err)), 0);
	cr_assert_not(m.hugepages, "absent is the default (None)");
}

/* Firecracker's sample vm_config.json shape: every unset optional field null. */
#define FC_SAMPLE(EXTRA)                                                                           \
	"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\", "     \
	"\"initrd_path\": null}, \"drives\": [{\"drive_id\": \"rootfs\", \"partuuid\": null, "     \
	"\"is_root_device\": true, \"cache_type\": \"Unsafe\", \"is_read_only\": false, "          \
	"\"path_on_host\": \"/r\", \"io_engine\": \"Sync\", \"rate_limiter\": null, "              \
	"\"socket\": null}], \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024, "     \
	"\"smt\": false, \"track_dirty_pages\": false, \"huge_pages\": \"None\"}, "                \
	"\"cpu-config\": null, \"balloon\": null, \"network-interfaces\": [], \"vsock\": null, "   \
	"\"logger\": null, \"metrics\": null, \"mmds-config\": null, \"entropy\": null, "          \
	"\"pmem\": [], \"memory-hotplug\": null" EXTRA "}"

Test(api_model, firecrackers_sample_config_file_loads)
{
	char err[256] = "";
	cr_assert_eq(load(FC_SAMPLE(""), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m.vcpus, 2);
	cr_assert_eq(m.mem_mib, 1024);
	cr_assert_null(m.initrd);
	cr_assert_eq(ndrives(&m), 1);
	cr_assert(drive_bool(&m, 0, "is_root_device"));
}

Test(api_model, config_sections_we_lack_are_refused_when_set)
{
	char err[256] = "";
	api_model_free(&m);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"cpu-config\": "
			   "{\"cpuid_modifiers\": [{\"leaf\": \"1\"}]}}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "cpu-config"), "%s", err);
	api_model_free(&m);
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"cpu-config\": "
			  "{\"kvm_capabilities\": [\"171\"]}}",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_not_null(m.cpu_config);
	api_model_free(&m);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"serial\": "
			   "{\"rate_limiter\": {\"size\": 1}}}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "rate_limiter"), "%s", err);
	api_model_free(&m);
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"serial\": "
			  "{\"rate_limiter\": {\"size\": 1, \"refill_time\": 1}}}",
			  err, sizeof(err)),
		     0, "Firecracker 1.17's serial TokenBucket: %s", err);
	api_model_free(&m);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"pmem\": [{}]}",
			   err, sizeof(err)),
		      0);
	api_model_free(&m);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"logger\": "
			   "{\"level\": \"Loud\"}}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "logger: level"), "%s", err);
}

static int put_json(int (*put)(struct api_model *, const char *, const json_t *, char *, size_t),
		    const char *id, const char *text, char *err, size_t errlen)
{
	json_t *b = json_loads(text, 0, NULL);
	cr_assert_not_null(b, "test JSON: %s", text);
	int r = put(&m, id, b, err, errlen);
	json_decref(b);
	return r;
}

Test(api_model, partuuid_mtu_and_socket)
{
	char err[256] = "";
	cr_assert_eq(put_json(put_drive_doc, "r",
			      "{\"drive_id\": \"r\", \"path_on_host\": \"/r\", \"is_root_device\": "
			      "true, \"partuuid\": \"1234abcd-01\"}",
			      err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(drive_str(&m, 0, "partuuid"), "1234abcd-01");
	cr_assert_neq(put_json(put_drive_doc, "r",
			       "{\"drive_id\": \"r\", \"path_on_host\": \"/r\", "
			       "\"is_root_device\": true, \"partuuid\": \"x y\"}",
			       err, sizeof(err)),
		      0);
	cr_assert_neq(put_json(put_drive_doc, "v",
			       "{\"drive_id\": \"v\", \"path_on_host\": \"/r\", "
			       "\"is_root_device\": false, \"socket\": \"/vhost.sock\"}",
			       err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "vhost-user"), "%s", err);
	cr_assert_eq(
	    put_json(put_nic_doc, "eth0",
		     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 1500}", err,
		     sizeof(err)),
	    0, "%s", err);
	/* Firecracker's range, 68 to 65535 */
	cr_assert_eq(
	    put_json(put_nic_doc, "eth0",
		     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 9000}", err,
		     sizeof(err)),
	    0, "%s", err);
	cr_assert_neq(put_json(put_nic_doc, "eth0",
			       "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 67}",
			       err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "mtu 67: from 68 to 65535"), "%s", err);
	cr_assert_neq(
	    put_json(put_nic_doc, "eth0",
		     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 65536}", err,
		     sizeof(err)),
	    0);
}

/* mtu reaches the NIC's option (mtu=, what the device advertises) and comes back in the
 * document a restore builds; without it, none is shown (Firecracker's null). */
Test(api_model, mtu_reaches_the_device_options)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\":"
			  " \"tap7\", \"mtu\": 9000}, {\"iface_id\": \"eth1\", \"host_dev_name\":"
			  " \"tap8\"}]}",
			  err, sizeof(err)),
		     0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(dev_net_opts(&cfg, 0)->mtu, 9000);
	cr_assert_eq(dev_net_opts(&cfg, 1)->mtu, 0);
	struct api_model restored;
	cr_assert_eq(api_model_from_config(&restored, &cfg), 0);
	json_t *nics = api_model_json(&restored);
	json_t *list = json_object_get(nics, "network-interfaces");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(list, 0), "mtu")), 9000);
	cr_assert_null(json_object_get(json_array_get(list, 1), "mtu"));
	json_decref(nics);
	api_model_free(&restored);
	cli_free(&cfg);
	free(append);
}

Test(api_model, partuuid_names_the_root_on_the_kernel_command_line)
{
	char err[256] = "", *append = NULL;
	struct vm_config cfg;
	int disk_index[API_MAX_DRIVES];
	vm_config_init(&cfg);
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": "
			  "\"quiet\"}, \"drives\": [{\"drive_id\": \"r\", \"path_on_host\": "
			  "\"/dev/null\", \"is_root_device\": true, \"is_read_only\": true, "
			  "\"partuuid\": \"abcd-02\"}]}",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(control_build_config(&cfg, &m, &append, disk_index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(append, "quiet root=PARTUUID=abcd-02 ro");
	free(append);
	cli_free(&cfg);
}

/* Firecracker's Metrics: metrics_path, emit_id, properties (a map of strings); nothing else. */
Test(api_model, metrics_bodies)
{
	char err[256] = "";
	const char *path;
	const json_t *props;
	bool emit_id;
	json_t *b = json_loads("{\"metrics_path\": \"/m\", \"emit_id\": true, "
			       "\"properties\": {\"customer_id\": \"1234\"}}",
			       0, NULL);
	cr_assert_eq(api_model_check_metrics(b, &path, &emit_id, &props, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(path, "/m");
	cr_assert(emit_id);
	cr_assert_str_eq(json_string_value(json_object_get(props, "customer_id")), "1234");
	json_decref(b);

	b = json_loads("{\"metrics_path\": \"/m\"}", 0, NULL);
	cr_assert_eq(api_model_check_metrics(b, &path, &emit_id, &props, err, sizeof(err)), 0);
	cr_assert_not(emit_id);
	cr_assert_null(props);
	json_decref(b);

	static const char *const bad[][2] = {
	    {"{\"metrics_path\": \"/m\", \"properties\": {\"n\": 1}}", "`n` must be a string"},
	    {"{\"metrics_path\": \"/m\", \"properties\": [\"a\"]}", "properties"},
	    {"{\"metrics_path\": \"/m\", \"emit_id\": \"yes\"}", "emit_id"},
	    {"{\"metrics_path\": \"/m\", \"period\": 5}", "period"},
	    {"{\"metrics_path\": \"\"}", "empty"},
	    {"{\"emit_id\": true}", "metrics_path"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = json_loads(bad[i][0], 0, NULL);
		cr_assert_eq(api_model_check_metrics(b, &path, &emit_id, &props, err, sizeof(err)),
			     -EINVAL, "%s", bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
		json_decref(b);
	}
}

/* The config file's "metrics" takes the same body, and GET /vm/config shows it back. */
Test(api_model, metrics_in_the_file_and_the_description)
{
	char err[256] = "";
	json_t *root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
				  "\"metrics\": {\"metrics_path\": \"/m\", \"emit_id\": true, "
				  "\"properties\": {\"a\": \"b\"}}}",
				  0, NULL);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	json_decref(root);
	cr_assert(m.metrics_emit_id);
	json_t *doc = api_model_json(&m);
	json_t *metrics = json_object_get(doc, "metrics");
	cr_assert_str_eq(json_string_value(json_object_get(metrics, "metrics_path")), "/m");
	cr_assert(json_is_true(json_object_get(metrics, "emit_id")));
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(metrics, "properties"), "a")), "b");
	json_decref(doc);
}

static int recorded(const struct vm_config *cfg, const char *name)
{
	int n = 0;
	for (int i = 0; i < cfg->nrecorded; i++)
		n += !strcmp(cfg->recorded[i].name, name);
	return n;
}

/* PUT /snapshot/load's track_dirty_pages and huge_pages change the configuration a snapshot
 * brings, its record too (what a snapshot of the restored VM will say); "as saved" keeps it. */
Test(api_model, snapshot_load_settings_change_the_replayed_configuration)
{
	struct vm_config cfg;
	char err[200] = "";
	struct api_snapshot_load p = {0};

	vm_config_init(&cfg);
	cr_assert_eq(cli_apply(&cfg, "mem", "64M", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_apply(&cfg, "track-dirty-pages", NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_apply(&cfg, "cpus", "2", err, sizeof(err)), 0, "%s", err);

	cr_assert_eq(control_apply_load_settings(&cfg, &p, err, sizeof(err)), 0, "as saved");
	cr_assert(cfg.track_dirty_pages);
	cr_assert_not(cfg.hugepages);
	cr_assert_eq(cfg.nrecorded, 3);

	p.track_dirty = API_LOAD_OFF; /* Firecracker: absent or false, no logging after the load */
	p.thp = API_LOAD_ON;
	cr_assert_eq(control_apply_load_settings(&cfg, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(cfg.track_dirty_pages);
	cr_assert(cfg.hugepages);
	cr_assert_eq(recorded(&cfg, "track-dirty-pages"), 0);
	cr_assert_eq(recorded(&cfg, "hugepages"), 1);
	cr_assert_eq(cfg.nrecorded, 3);
	cr_assert_str_eq(cfg.recorded[0].name, "mem", "the other records keep their order");
	cr_assert_str_eq(cfg.recorded[1].name, "cpus");

	p.track_dirty = API_LOAD_ON;
	p.thp = API_LOAD_OFF;
	cr_assert_eq(control_apply_load_settings(&cfg, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(control_apply_load_settings(&cfg, &p, err, sizeof(err)), 0, "twice: once");
	cr_assert(cfg.track_dirty_pages);
	cr_assert_not(cfg.hugepages);
	cr_assert_eq(recorded(&cfg, "track-dirty-pages"), 1);
	cr_assert_eq(recorded(&cfg, "hugepages"), 0);

	/* the record replays into the same settings (a snapshot of this VM) */
	struct vm_config again;
	cr_assert_eq(cli_replay(&again, cfg.recorded, cfg.nrecorded, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(again.track_dirty_pages);
	cr_assert_not(again.hugepages);
	cr_assert_eq(again.ncpus, 2);
	cli_free(&again);
	cli_free(&cfg);
}

/* ---- virtio-fs: only its descriptor knows it (issue 29, issue 26) ---- */

Test(api_model, an_fs_array_in_the_file_reaches_the_device_and_the_record)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"fs\": [{\"tag\": \"data\", \"socket\": \"/tmp/a.sock\"},"
			  " {\"id\": \"logs0\", \"tag\": \"logs\", \"socket\": \"/tmp/b.sock\","
			  " \"num_queues\": 1, \"queue_size\": 128}]}",
			  err, sizeof(err)),
		     0, "%s", err);
	json_t *back = api_model_json(&m);
	json_t *fs = json_object_get(back, "fs");
	cr_assert_eq(json_array_size(fs), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "id")), "data",
			 "an element without id is named by its tag");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 1), "id")), "logs0");
	json_decref(back);

	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct dev_fs_cfg *c = device_cfg_find(&cfg, &device_fs);
	cr_assert_not_null(c);
	cr_assert_eq(c->n, 2);
	cr_assert_str_eq(c->fs[1].opts.tag, "logs");
	cr_assert_str_eq(c->fs[1].opts.socket, "/tmp/b.sock");
	cr_assert_eq(c->fs[1].opts.queue_size, 128);
	record_member_is(&cfg, &device_fs, 0, "tag", "data"); /* what a snapshot saves */
	record_member_is(&cfg, &device_fs, 0, "socket", "/tmp/a.sock");

	struct api_model again; /* GET /vm/config of that configuration */
	cr_assert_eq(api_model_from_config(&again, &cfg), 0);
	back = api_model_json(&again);
	fs = json_object_get(back, "fs");
	cr_assert_eq(json_array_size(fs), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 1), "socket")),
			 "/tmp/b.sock");
	json_decref(back);
	api_model_free(&again);
	cli_free(&cfg);
	free(append);
}

Test(api_model, bad_fs_elements_name_the_place)
{
	char err[256] = "";
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"fs\": {}}", err,
			   sizeof(err)),
		      0);
	cr_assert(strstr(err, "`fs` must be an array"), "%s", err);
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			   " \"fs\": [{\"tag\": \"a\", \"socket\": \"/s\"},"
			   " {\"tag\": \"b\", \"socket\": \"/s\", \"queue_size\": 0}]}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "fs[1]: queue_size"), "%s", err);
	api_model_free(&m); /* the first element went in */
	cr_assert_neq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			   " \"fs\": [{\"id\": \"x\", \"tag\": \"a\", \"socket\": \"/s\"},"
			   " {\"id\": \"y\", \"tag\": \"a\", \"socket\": \"/t\"}]}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "fs[1]: y: tag a is given twice"), "%s", err);
}

/* A path is any text: the config file's documents become records (not option strings), so a
 * comma in a path, a socket or a tag reaches the device whole, and a snapshot's records keep it. */
Test(api_model, commas_in_paths_reach_the_devices_whole)
{
	struct vm_config cfg, back;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		 " \"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/img/a,ro\","
		 " \"is_root_device\": false, \"backing_files\": true,"
		 " \"backing_dirs\": \"/base,1:/base2\"},"
		 " {\"drive_id\": \"v\", \"socket\": \"/run/blk,id=x.sock\","
		 " \"is_root_device\": false}],"
		 " \"pmem\": [{\"id\": \"p\", \"path_on_host\": \"/img/p,root\"}],"
		 " \"serial\": {\"serial_out_path\": \"/log/com1,bw=1:1\"},"
		 " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/run/v,cid=9\"},"
		 " \"fs\": [{\"id\": \"f\", \"tag\": \"a,b\", \"socket\": \"/run/fs,1.sock\"}]}",
		 err, sizeof(err)),
	    0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/img/a,ro");
	cr_assert_not(dev_disk_opts(&cfg, 0)->ro, "no ro slipped in");
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->backing_dirs, "/base,1:/base2");
	const struct dev_vu_cfg *vu = device_cfg_find(&cfg, &device_vu_blk);
	cr_assert_str_eq(vu->dev[0].opts.socket, "/run/blk,id=x.sock");
	cr_assert_str_eq(vu->dev[0].opts.id, "v");
	const struct dev_pmem_cfg *pm = device_cfg_find(&cfg, &device_pmem);
	cr_assert_str_eq(pm->dev[0].opts.path, "/img/p,root");
	const struct dev_console_cfg *con = device_cfg_find(&cfg, &device_console);
	cr_assert_str_eq(con->path, "/log/com1,bw=1:1");
	cr_assert_eq(con->rate.size, 0, "no limit slipped in");
	const struct dev_vsock_cfg *vs = device_cfg_find(&cfg, &device_vsock);
	cr_assert_str_eq(vs->opts.uds, "/run/v,cid=9");
	cr_assert_eq(vs->opts.cid, 3);
	const struct dev_fs_cfg *fs = device_cfg_find(&cfg, &device_fs);
	cr_assert_str_eq(fs->fs[0].opts.tag, "a,b");
	cr_assert_str_eq(fs->fs[0].opts.socket, "/run/fs,1.sock");

	/* a snapshot's records make the same devices */
	json_t *records = device_records(&cfg);
	cr_assert_not_null(records);
	vm_config_init(&back);
	cr_assert_eq(device_records_load(&back, records, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(dev_disk_opts(&back, 0)->path, "/img/a,ro");
	pm = device_cfg_find(&back, &device_pmem);
	cr_assert_str_eq(pm->dev[0].opts.path, "/img/p,root");
	fs = device_cfg_find(&back, &device_fs);
	cr_assert_str_eq(fs->fs[0].opts.tag, "a,b");
	json_decref(records);
	cli_free(&back);
	cli_free(&cfg);
	free(append);
}
