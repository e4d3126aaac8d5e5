/* A version-1 state's overrides find their device by the id its option string names, which the
 * device's descriptor reads (device_save_option_id(), vmm/descriptors/device_save.h), and never
 * by a device of the same option that has no such id: a vhost-user disk is skipped by a disk
 * override (neither matched nor counted), a vhost-user NIC is counted but never matched by id, a
 * hot-added vsock's option keeps its hotplug-slot item. No KVM: only the configuration part of
 * a restore. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/snapshot_io.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/vm_snapshot.h"

#include "tests/unit/fixtures/config_replay.h"

static char dir[] = "/tmp/test_snapshot_v1_ids.XXXXXX", path[128];
static struct vm_config cfg;
static struct snapshot_load l;
static char err[300];

/* A version-1 state file with the given configuration options (a JSON array). */
static void write_state(const char *options)
{
	struct snap_writer w;
	char config[1024];
	snprintf(config, sizeof(config),
		 "{\"version\": 1, \"mem_size\": 268435456, \"vcpus\": 1, \"options\": %s}",
		 options);
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(snap_put(&w, SNAP_CONFIG, 0, config, strlen(config)), 0);
	cr_assert_eq(snap_put(&w, SNAP_INFO, 0, "{}", 2), 0);
	cr_assert_eq(snap_writer_save(&w, path, err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);
}

static void setup(void)
{
	cr_redirect_stderr(); /* "carries no CPU model": these states have none */
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	vm_config_init(&cfg);
	cfg.landlock_rules = "/run:rw,/srv:rw"; /* what the test's options name */
}

static void teardown(void)
{
	snapshot_close(&l);
	cli_free(&cfg);
	unlink(path);
	rmdir(dir);
}

TestSuite(snapshot_v1_override_ids, .init = setup, .fini = teardown);

static int open_with(const struct snapshot_overrides *o)
{
	err[0] = '\0';
	return snapshot_open(&l, path, NULL, &cfg, o, err, sizeof(err));
}

Test(snapshot_v1_override_ids, a_disk_override_skips_a_vhost_user_disk)
{
	write_state("[[\"disk\", \"vhost-user=/run/vu.sock\"], [\"disk\", \"/srv/a.img\"], "
		    "[\"disk\", \"/srv/b.img,id=data\"]]");
	const struct snapshot_path_override p[] = {
	    {.option = "disk", .id = "drive0", .path = "/srv/a-copy.img"},
	    {.option = "disk", .id = "data", .path = "/srv/b-copy.img"}};
	const struct snapshot_overrides o = {.paths = p, .npaths = 2};
	cr_assert_eq(open_with(&o), 0, "%s", err);
	cr_assert_eq(dev_disk_count(&cfg), 2);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/srv/a-copy.img", "drive0: not the vu one");
	cr_assert_str_eq(dev_disk_opts(&cfg, 1)->path, "/srv/b-copy.img");
}

Test(snapshot_v1_override_ids, a_disk_override_by_position_counts_the_disks_only)
{
	write_state("[[\"disk\", \"vhost-user=/run/vu.sock\"], [\"disk\", \"/srv/a.img\"]]");
	const struct snapshot_path_override p[] = {
	    {.option = "disk", .index = 0, .path = "/srv/a-copy.img"}};
	const struct snapshot_overrides o = {.paths = p, .npaths = 1};
	cr_assert_eq(open_with(&o), 0, "%s", err);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/srv/a-copy.img");
}

Test(snapshot_v1_override_ids, a_disk_override_for_no_such_drive_is_refused)
{
	write_state("[[\"disk\", \"vhost-user=/run/vu.sock,id=vu\"], [\"disk\", \"/srv/a.img\"]]");
	const struct snapshot_path_override p[] = {
	    {.option = "disk", .id = "vu", .path = "/srv/x.img"}};
	const struct snapshot_overrides o = {.paths = p, .npaths = 1};
	cr_assert_eq(open_with(&o), -EINVAL);
	cr_assert(strstr(err, "disk override: the snapshot has no drive `vu`"), "%s", err);
}

Test(snapshot_v1_override_ids, a_hot_added_vsock_is_found_by_its_id)
{
	write_state("[[\"vsock\", \"cid=3,uds=/run/old.sock,id=v,hotplug-slot=4\"]]");
	const struct snapshot_path_override p[] = {
	    {.option = "vsock", .id = "v", .path = "/run/new.sock"}};
	const struct snapshot_overrides o = {.paths = p, .npaths = 1};
	cr_assert_eq(open_with(&o), 0, "%s", err);
	record_member_is(&cfg, &device_vsock, 0, "uds", "/run/new.sock");
}

Test(snapshot_v1_override_ids, a_nic_override_by_id_counts_a_vhost_user_nic)
{
	write_state("[[\"net\", \"vhost-user=/run/vn.sock\"], [\"net\", \"tap=a0,id=eth0\"]]");
	const struct snapshot_nic_override n[] = {{.id = "eth0", .spec = "tap=a1"}};
	const struct snapshot_overrides o = {.nics = n, .nnics = 1};
	cr_assert_eq(open_with(&o), 0, "%s", err);
	cr_assert_eq(dev_net_count(&cfg), 1);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "a1");
}

Test(snapshot_v1_override_ids, a_vhost_user_nic_is_not_found_by_its_position_name)
{
	write_state("[[\"net\", \"vhost-user=/run/vn.sock\"], [\"net\", \"tap=a0\"]]");
	const struct snapshot_nic_override n[] = {{.id = "net0", .spec = "tap=a1"}};
	const struct snapshot_overrides o = {.nics = n, .nnics = 1};
	cr_assert_eq(open_with(&o), -EINVAL);
	cr_assert(strstr(err, "no NIC `net0`"), "%s", err);
}
