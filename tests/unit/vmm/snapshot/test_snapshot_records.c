/* A snapshot's configuration of version 2 (vmm/snapshot/vm_snapshot.c, snapshot_records.c): the
 * core's options and the devices' records. snapshot_open() adds the records through the devices'
 * checks (a path with a comma is a path), applies the operator's overrides to the records (a
 * disk's file by its id, a NIC's tap and MAC), checks their host paths like any others, and
 * refuses what a version-2 file may not hold: a device's option among the options, "devices"
 * not an object, a record of no device, a passed-through device. No KVM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/snapshot_io.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/vm_snapshot.h"

static char dir[] = "/tmp/test_snapshot_records.XXXXXX", path[128];
static struct vm_config cfg;
static struct snapshot_load l;
static char err[512];

/* A state file whose configuration has `options` (a JSON array) and `devices` (JSON text). */
static void write_state(const char *options, const char *devices)
{
	struct snap_writer w;
	char config[2048];
	snprintf(config, sizeof(config),
		 "{\"version\": 2, \"mem_size\": 268435456, \"vcpus\": 1, \"options\": %s, "
		 "\"devices\": %s}",
		 options, devices);
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(snap_put(&w, SNAP_CONFIG, 0, config, strlen(config)), 0);
	cr_assert_eq(snap_put(&w, SNAP_INFO, 0, "{}", 2), 0);
	cr_assert_eq(snap_writer_save(&w, path, err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);
}

static int open_with(const struct snapshot_overrides *o)
{
	err[0] = '\0';
	return snapshot_open(&l, path, NULL, &cfg, o, err, sizeof(err));
}

static void setup(void)
{
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	vm_config_init(&cfg);
}

static void teardown(void)
{
	snapshot_close(&l);
	cli_free(&cfg);
	unlink(path);
	rmdir(dir);
}

TestSuite(snapshot_records, .init = setup, .fini = teardown);

Test(snapshot_records, the_devices_come_back_from_their_records)
{
	char devices[512];
	snprintf(devices, sizeof(devices),
		 "{\"disk\": [{\"path\": \"%s/a,1.img\", \"id\": \"data\", \"ro\": true, "
		 "\"transport\": \"pci\"}], \"rng\": [{\"rate\": \"4096\"}]}",
		 dir);
	write_state("[[\"mem\", \"256M\"]]", devices);
	cr_assert_eq(open_with(NULL), 0, "%s", err);
	cr_assert_eq(cfg.mem_size, 256ull << 20, "the core's options replayed");
	cr_assert_eq(dev_disk_count(&cfg), 1);
	char want[160];
	snprintf(want, sizeof(want), "%s/a,1.img", dir);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, want, "a comma is a character");
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->id, "data");
	cr_assert(dev_disk_opts(&cfg, 0)->ro);
	/* what a snapshot of the restored VM saves: the same records */
	json_t *again = device_records(&cfg);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(again, "disk"), 0), "path")),
			 want);
	cr_assert_not_null(json_object_get(again, "rng"));
	json_decref(again);
}

Test(snapshot_records, a_disk_override_finds_its_record_by_id_or_place)
{
	write_state("[]", "{\"disk\": [{\"path\": \"/elsewhere/a.img\", \"ro\": true}, "
			  "{\"path\": \"/elsewhere/b.img\", \"id\": \"data\"}]}");
	const struct snapshot_path_override p[] = {
	    {.option = "disk", .id = "data", .path = "/srv/b,copy.img"},
	    {.option = "disk", .id = NULL, .index = 0, .path = "/srv/a.img"}};
	const struct snapshot_overrides o = {.paths = p, .npaths = 2};
	cr_assert_eq(open_with(&o), 0, "%s", err);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/srv/a.img");
	cr_assert(dev_disk_opts(&cfg, 0)->ro, "the rest of the record stays");
	cr_assert_str_eq(dev_disk_opts(&cfg, 1)->path, "/srv/b,copy.img", "no comma ban");
	snapshot_close(&l);
	cli_free(&cfg);
	vm_config_init(&cfg);
	const struct snapshot_path_override none[] = {
	    {.option = "disk", .id = "nope", .path = "/srv/x.img"}};
	const struct snapshot_overrides n = {.paths = none, .npaths = 1};
	cr_assert_eq(open_with(&n), -EINVAL);
	cr_assert(strstr(err, "no drive `nope`"), "%s", err);
}

Test(snapshot_records, a_path_outside_the_folder_is_refused_as_in_an_option)
{
	write_state("[]", "{\"disk\": [{\"path\": \"/var/lib/other.img\", \"id\": \"root\"}]}");
	cr_assert_eq(open_with(NULL), -EACCES);
	cr_assert(strstr(err, "disk /var/lib/other.img (root)"), "%s", err);
	cr_assert(strstr(err, "outside its folder"), "%s", err);
}

Test(snapshot_records, nic_overrides_change_the_records)
{
	write_state("[]", "{\"net\": [{\"tap\": \"a0\", \"id\": \"eth0\"}, {\"tapfd\": \"5\"}]}");
	const struct snapshot_nic_override ov[] = {
	    {.id = "eth0", .spec = "tap=a1,mac=02:00:00:00:00:07"}, {.index = 1, .spec = "tap=b1"}};
	const struct snapshot_overrides o = {.nics = ov, .nnics = 2};
	cr_assert_eq(open_with(&o), 0, "%s", err);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "a1");
	cr_assert_eq(dev_net_opts(&cfg, 0)->mac[5], 7);
	cr_assert(l.mac_set[0]);
	cr_assert_eq(dev_net_opts(&cfg, 1)->kind, VIRTIO_NET_TAP, "a tap fd gave way to a tap");
	cr_assert_str_eq(dev_net_opts(&cfg, 1)->ifname, "b1");
	snapshot_close(&l);
	cli_free(&cfg);
	vm_config_init(&cfg);
	const struct snapshot_nic_override mac_only[] = {
	    {.index = 1, .spec = "mac=02:00:00:00:00:08"}, {.index = 0, .spec = "tap=a1"}};
	const struct snapshot_overrides m = {.nics = mac_only, .nnics = 2};
	cr_assert_eq(open_with(&m), -EINVAL);
	cr_assert(strstr(err, "NIC 1 used a tap fd: give it a tap"), "%s", err);
}

Test(snapshot_records, what_a_version_2_file_may_not_hold_is_refused)
{
	static const char *const bad[][3] = {
	    {"[[\"disk\", \"/x.img\"]]", "{}", "--disk is a device's option"},
	    {"[]", "[]", "\"devices\" is not an object"},
	    {"[]", "{\"toaster\": [{}]}", "toaster: no device of that name has a record"},
	    {"[]", "{\"disk\": [{\"ro\": true}]}", "devices: disk[0]: "},
	    {"[]", "{\"vfio\": [{\"vfio\": \"/sys/bus/pci/devices/0000:02:00.1\"}]}",
	     "a passed-through device (--device vfio=) cannot be restored"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_state(bad[i][0], bad[i][1]);
		cr_assert_neq(open_with(NULL), 0, "%s %s accepted", bad[i][0], bad[i][1]);
		cr_assert(strstr(err, bad[i][2]), "%s %s: '%s', want '%s'", bad[i][0], bad[i][1],
			  err, bad[i][2]);
		snapshot_close(&l);
		cli_free(&cfg);
		vm_config_init(&cfg);
	}
}
