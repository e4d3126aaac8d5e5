/* snapshot_open() (vmm/snapshot/vm_snapshot.h) on a state file written here: NIC overrides found by
 * the NIC's id (--net id=, or netN without one) or by position, an override that names no NIC
 * refused, and the saved MMDS state put in front of the NICs its configuration names; disk and
 * vsock path overrides, and the paths and taps the configuration names checked against what the
 * operator allowed (vmm/snapshot/restore_paths.h). No KVM: only the configuration part of a
 * restore. */
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
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/mmds/mmds.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/vm_snapshot.h"

#include "tests/unit/fixtures/config_replay.h"

static char dir[] = "/tmp/test_snapshot_open.XXXXXX", path[128];
static struct mmds mmds;
static struct vm_config cfg;
static struct snapshot_load l;
static char err[300];

static void put_text(struct snap_writer *w, uint32_t tag, const char *text)
{
	cr_assert_eq(snap_put(w, tag, 0, text, strlen(text)), 0);
}

/* A state file with the given configuration options (a JSON array) and MMDS state (or none). */
static void write_state(const char *options, const char *mmds_state)
{
	struct snap_writer w;
	char config[1024];
	snprintf(config, sizeof(config),
		 "{\"version\": 1, \"mem_size\": 268435456, \"vcpus\": 1, "
		 "\"options\": %s}",
		 options);
	cr_assert_eq(snap_writer_init(&w), 0);
	put_text(&w, SNAP_CONFIG, config);
	put_text(&w, SNAP_INFO, "{}");
	if (mmds_state)
		put_text(&w, SNAP_MMDS, mmds_state);
	cr_assert_eq(snap_writer_save(&w, path, err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);
}

static void setup(void)
{
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	cr_assert_eq(mmds_init(&mmds, MMDS_DEFAULT_SIZE_LIMIT), 0);
	vm_config_init(&cfg);
	cfg.mmds = &mmds;
}

static void teardown(void)
{
	snapshot_close(&l);
	cli_free(&cfg);
	mmds_destroy(&mmds);
	unlink(path);
	rmdir(dir);
}

TestSuite(snapshot_open, .init = setup, .fini = teardown);

#define TWO_NICS "[[\"mem\", \"256M\"], [\"net\", \"tap=a0,id=eth0\"], [\"net\", \"tap=b0\"]]"

static int open_with(const struct snapshot_nic_override *ov, int n)
{
	const struct snapshot_overrides o = {.nics = ov, .nnics = n};
	err[0] = '\0';
	return snapshot_open(&l, path, NULL, &cfg, &o, err, sizeof(err));
}

/* Both NICs of TWO_NICS confirmed with their own taps. */
static const struct snapshot_nic_override both_taps[] = {{.index = 0, .spec = "tap=a0"},
							 {.index = 1, .spec = "tap=b0"}};

Test(snapshot_open, overrides_find_their_nic_by_id)
{
	write_state(TWO_NICS, NULL);
	const struct snapshot_nic_override ov[] = {
	    {.id = "net1", .spec = "tap=b1"},
	    {.id = "eth0", .spec = "tap=a1,mac=02:00:00:00:00:07"}};
	cr_assert_eq(open_with(ov, 2), 0, "%s", err);
	cr_assert_eq(dev_net_count(&cfg), 2);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "a1");
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->id, "eth0");
	cr_assert(dev_net_opts(&cfg, 0)->has_mac);
	cr_assert_eq(dev_net_opts(&cfg, 0)->mac[5], 7);
	cr_assert_str_eq(dev_net_opts(&cfg, 1)->ifname, "b1");
	cr_assert(l.mac_set[0]);
	cr_assert_not(l.mac_set[1]);
}

Test(snapshot_open, overrides_by_position)
{
	write_state(TWO_NICS, NULL);
	const struct snapshot_nic_override ov[] = {{.index = 1, .spec = "tap=b2"},
						   {.index = 0, .spec = "mac=02:00:00:00:00:01"}};
	/* NIC 0 keeps the snapshot's tap, which nobody confirmed */
	cr_assert_eq(open_with(ov, 2), -EACCES);
	cr_assert(strstr(err, "tap a0 (eth0)"), "%s", err);
	snapshot_close(&l);
	cli_free(&cfg);
	vm_config_init(&cfg);
	const struct snapshot_nic_override ok[] = {{.index = 1, .spec = "tap=b2"},
						   {.index = 0, .spec = "tap=a0"}};
	cr_assert_eq(open_with(ok, 2), 0, "%s", err);
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "a0");
	cr_assert_str_eq(dev_net_opts(&cfg, 1)->ifname, "b2");
}

Test(snapshot_open, an_override_for_no_nic_is_refused)
{
	write_state(TWO_NICS, NULL);
	/* eth0 has an id: net0 no longer names it */
	const struct snapshot_nic_override ov[] = {{.id = "net0", .spec = "tap=x"}};
	cr_assert_eq(open_with(ov, 1), -EINVAL);
	cr_assert(strstr(err, "no NIC `net0`"), "%s", err);
	snapshot_close(&l);
	cli_free(&cfg);
	vm_config_init(&cfg);
	const struct snapshot_nic_override pos[] = {{.index = 2, .spec = "tap=x"}};
	cr_assert_eq(open_with(pos, 1), -EINVAL);
	cr_assert(strstr(err, "has 2 NICs"), "%s", err);
}

Test(snapshot_open, mmds_answers_on_the_nics_it_names)
{
	write_state(TWO_NICS, "{\"config\": {\"network_interfaces\": [\"net1\"], \"ipv4_address\": "
			      "\"169.254.1.2\"}, \"store\": {\"k\": \"v\"}}");
	cr_assert_eq(open_with(both_taps, 2), 0, "%s", err);
	cr_assert_null(dev_net_opts(&cfg, 0)->mmds);
	cr_assert_eq(dev_net_opts(&cfg, 1)->mmds, &mmds);
	cr_assert_eq(dev_net_opts(&cfg, 1)->mmds_ipv4, 0xa9fe0102);
	cr_assert(l.mmds, "kept for snapshot_restore()");
}

Test(snapshot_open, a_bad_mmds_state_is_refused)
{
	write_state(TWO_NICS, "{\"config\": {\"network_interfaces\": [\"net1\"], \"ipv4_address\": "
			      "\"10.1.2.3\"}, \"store\": null}");
	cr_assert_eq(open_with(both_taps, 2), -EINVAL);
	cr_assert(strstr(err, "snapshot MMDS configuration"), "%s", err);
	snapshot_close(&l);
	cli_free(&cfg);
	vm_config_init(&cfg);
	cfg.mmds = &mmds;
	write_state(TWO_NICS, "not json");
	cr_assert_eq(open_with(both_taps, 2), -EINVAL);
	cr_assert(strstr(err, "MMDS"), "%s", err);
}

/* A migration's destination: the configuration from the source's HELLO first, the state later;
 * a state whose configuration is not HELLO's (changed meanwhile) is refused. */
static char hello_config[1024], state_config[1024];
static struct snap_reader parsed;
static uint8_t *image;

static void parse_state(const char *config)
{
	struct snap_writer w;
	const uint8_t *bytes;
	size_t len;
	cr_assert_eq(snap_writer_init(&w), 0);
	put_text(&w, SNAP_CONFIG, config);
	put_text(&w, SNAP_INFO, "{}");
	cr_assert_eq(snap_writer_finish(&w, &bytes, &len), 0);
	image = malloc(len);
	memcpy(image, bytes, len);
	snap_writer_free(&w);
	cr_assert_eq(snap_parse(&parsed, image, len, err, sizeof(err)), 0, "%s", err);
}

#define CONFIG(opts) "{\"version\":1,\"mem_size\":268435456,\"vcpus\":1,\"options\":" opts "}"

Test(snapshot_open, a_migration_replays_hello_then_checks_the_state_against_it)
{
	snprintf(hello_config, sizeof(hello_config), CONFIG("[[\"mem\",\"256M\"],[\"rng\",null]]"));
	cr_assert_eq(snapshot_open_config(&l, hello_config, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.mem_size, 256ull << 20);
	/* the same configuration, serialised otherwise: the same JSON */
	snprintf(state_config, sizeof(state_config),
		 "{\"vcpus\": 1, \"version\": 1, \"mem_size\": 268435456, "
		 "\"options\": [[\"mem\", \"256M\"], [\"rng\", null]]}");
	parse_state(state_config);
	cr_assert_eq(snapshot_attach_state(&l, &parsed, hello_config, &cfg, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_null(parsed.secs, "the reader is the load's now");
	cr_assert_not_null(snap_get(&l.reader, SNAP_INFO, 0, NULL));
	snapshot_close(&l);
	free(image);
}

Test(snapshot_open, a_state_whose_configuration_changed_is_refused)
{
	snprintf(hello_config, sizeof(hello_config), CONFIG("[[\"mem\",\"256M\"]]"));
	cr_assert_eq(snapshot_open_config(&l, hello_config, &cfg, err, sizeof(err)), 0, "%s", err);
	parse_state(CONFIG("[[\"mem\",\"256M\"],[\"balloon\",\"target=64\"]]"));
	cr_assert_eq(snapshot_attach_state(&l, &parsed, hello_config, &cfg, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "configuration changed during the migration"), "%s", err);
	snapshot_close(&l);
	free(image);
}

/* ---- what the configuration names on the host: checked before anything is opened ---- */

static int open_paths(const struct snapshot_path_override *p, int n)
{
	const struct snapshot_overrides o = {.paths = p, .npaths = n};
	err[0] = '\0';
	return snapshot_open(&l, path, NULL, &cfg, &o, err, sizeof(err));
}

static void reopen(void)
{
	snapshot_close(&l);
	cli_free(&cfg);
	vm_config_init(&cfg);
}

Test(snapshot_open, a_disk_outside_the_folder_is_refused_by_name)
{
	write_state("[[\"disk\", \"/var/lib/other.img,id=root\"]]", NULL);
	cr_assert_eq(open_paths(NULL, 0), -EACCES);
	cr_assert(strstr(err, "disk /var/lib/other.img (root)"), "%s", err);
	cr_assert(strstr(err, "outside its folder"), "%s", err);
	cr_assert(strstr(err, "--landlock-rules /var/lib:rw"), "%s", err);
}

Test(snapshot_open, a_disk_in_the_folder_is_taken)
{
	char opts[512];
	snprintf(opts, sizeof(opts), "[[\"disk\", \"%s/disk.img\"], [\"disk\", \"%s/./sub//d2\"]]",
		 dir, dir);
	write_state(opts, NULL);
	cr_assert_eq(open_paths(NULL, 0), 0, "%s", err);
	/* but not with a `..` in it, even one that stays inside */
	reopen();
	snprintf(opts, sizeof(opts), "[[\"disk\", \"%s/sub/../disk.img\"]]", dir);
	write_state(opts, NULL);
	cr_assert_eq(open_paths(NULL, 0), -EACCES);
	cr_assert(strstr(err, "`..`"), "%s", err);
}

Test(snapshot_open, a_disk_override_replaces_and_allows_the_file)
{
	write_state(
	    "[[\"disk\", \"/elsewhere/a.img,ro\"], [\"disk\", \"/elsewhere/b.img,id=data\"]]",
	    NULL);
	const struct snapshot_path_override p[] = {
	    {.option = "disk", .id = "data", .path = "/srv/b-copy.img"},
	    {.option = "disk", .id = NULL, .index = 0, .path = "/srv/a.img"}};
	cr_assert_eq(open_paths(p, 2), 0, "%s", err);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/srv/a.img");
	cr_assert(dev_disk_opts(&cfg, 0)->ro, "the options after the path stay");
	cr_assert_str_eq(dev_disk_opts(&cfg, 1)->path, "/srv/b-copy.img");
	record_member_is(&cfg, &device_disk, 1, "path", "/srv/b-copy.img"); /* a later snapshot's */
	cr_assert_eq(cfg.nrecorded, 0, "version 1's device options are records now, not twice");
	/* by the API's drive_id: drive0 is the first disk without an id= */
	reopen();
	const struct snapshot_path_override q[] = {
	    {.option = "disk", .id = "drive0", .path = "/srv/a.img"}};
	cr_assert_eq(open_paths(q, 1), -EACCES, "data still names /elsewhere");
	cr_assert(strstr(err, "/elsewhere/b.img (data)"), "%s", err);
	reopen();
	const struct snapshot_path_override none[] = {
	    {.option = "disk", .id = "nope", .path = "/srv/x.img"}};
	cr_assert_eq(open_paths(none, 1), -EINVAL);
	cr_assert(strstr(err, "no drive `nope`"), "%s", err);
}

Test(snapshot_open, landlock_rules_allow_with_the_access_the_device_needs)
{
	write_state("[[\"disk\", \"/images/a.img,ro\"], [\"disk\", \"/images/b.img\"]]", NULL);
	cfg.landlock_rules = "/images:ro";
	cr_assert_eq(open_paths(NULL, 0), -EACCES, "b.img is written");
	cr_assert(strstr(err, "/images/b.img (drive1)"), "%s", err);
	reopen();
	cfg.landlock_rules = "/tmp:rw,/images:rw";
	cr_assert_eq(open_paths(NULL, 0), 0, "%s", err);
	cr_assert_str_eq(cfg.landlock_rules, "/tmp:rw,/images:rw", "the process's, not the file's");
}

Test(snapshot_open, every_kind_of_path_is_checked)
{
	static const char *const each[] = {
	    "[[\"console\", \"file:/etc/cron.d/x\"]]",
	    "[[\"screenshot\", \"/root/shot.png\"]]",
	    "[[\"input-script\", \"/etc/shadow\"]]",
	    "[[\"vsock\", \"cid=3,uds=/run/other.sock\"]]",
	    "[[\"pmem\", \"path=/dev/shm/p\"]]",
	    "[[\"fs\", \"tag=t,socket=/run/fs.sock\"]]",
	    "[[\"disk\", \"vhost-user=/run/vu.sock\"]]",
	    "[[\"net\", \"vhost-user=/run/vn.sock\"]]",
	};
	static const char *const named[] = {"/etc/cron.d/x",   "/root/shot.png", "/etc/shadow",
					    "/run/other.sock", "/dev/shm/p",	 "/run/fs.sock",
					    "/run/vu.sock",    "/run/vn.sock"};
	for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++) {
		write_state(each[i], NULL);
		cr_assert_eq(open_paths(NULL, 0), -EACCES, "%s: %s", each[i], err);
		cr_assert(strstr(err, named[i]), "%s: %s", each[i], err);
		reopen();
	}
}

Test(snapshot_open, a_vsock_override_replaces_its_socket)
{
	write_state("[[\"vsock\", \"cid=3,uds=/run/old.sock,id=v\"]]", NULL);
	const struct snapshot_path_override p[] = {
	    {.option = "vsock", .id = "", .path = "/run/clone7.sock"}};
	cr_assert_eq(open_paths(p, 1), 0, "%s", err);
	record_member_is(&cfg, &device_vsock, 0, "uds", "/run/clone7.sock");
	cr_assert_eq(cfg.nrecorded, 0, "the vsock is its record, not a recorded option");
}

/* A version-1 file's option strings never held ",," (it was refused then); an override's path
 * or tap name with a comma goes into the saved option as ",," (base/options.h), so the device
 * gets it whole and the options after it stay its own. */
Test(snapshot_open, a_version_1_override_may_hold_a_comma)
{
	write_state(
	    "[[\"disk\", \"/elsewhere/a.img,ro\"], [\"vsock\", \"cid=3,uds=/run/old.sock\"], "
	    "[\"net\", \"tapfd=9,id=eth0\"]]",
	    NULL);
	const struct snapshot_path_override p[] = {
	    {.option = "disk", .id = NULL, .index = 0, .path = "/srv/a,id=x.img"},
	    {.option = "vsock", .id = "", .path = "/run/c,7.sock"}};
	char spec[64];
	cr_assert_eq(snapshot_nic_override_spec("t,1", "02:00:00:00:00:07", spec, sizeof(spec)), 0);
	cr_assert_str_eq(spec, "tap=t,,1,mac=02:00:00:00:00:07");
	const struct snapshot_nic_override ov[] = {{.id = "eth0", .spec = spec}};
	const struct snapshot_overrides o = {.nics = ov, .nnics = 1, .paths = p, .npaths = 2};
	cr_assert_eq(snapshot_open(&l, path, NULL, &cfg, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/srv/a,id=x.img");
	cr_assert(dev_disk_opts(&cfg, 0)->ro, "the options after the path stay");
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->id, "", "id=x is the path's");
	record_member_is(&cfg, &device_vsock, 0, "uds", "/run/c,7.sock");
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->ifname, "t,1");
	cr_assert_str_eq(dev_net_opts(&cfg, 0)->id, "eth0");
	cr_assert_eq(dev_net_opts(&cfg, 0)->mac[5], 7);
	reopen();
	write_state("[[\"disk\", \"/elsewhere/a.img,ro\"]]", NULL);
	const struct snapshot_path_override empty[] = {{.option = "disk", .index = 0, .path = ""}};
	cr_assert_eq(open_paths(empty, 1), -EINVAL);
	cr_assert(strstr(err, "want a disk's or the vsock's path"), "%s", err);
}

Test(snapshot_open, a_migration_takes_paths_only_from_the_destinations_rules)
{
	snprintf(hello_config, sizeof(hello_config),
		 CONFIG("[[\"disk\",\"/images/a.img\"],[\"net\",\"tap=t0\"]]"));
	cr_assert_eq(snapshot_open_config(&l, hello_config, &cfg, err, sizeof(err)), -EACCES);
	cr_assert(strstr(err, "/images/a.img"), "%s", err);
	cr_assert(strstr(err, "did not allow"), "%s", err);
	reopen();
	cfg.landlock_rules = "/images:rw";
	cr_assert_eq(snapshot_open_config(&l, hello_config, &cfg, err, sizeof(err)), 0, "%s", err);
}
