/* The configuration following run-time changes (vmm/descriptors/dev_live.h): each change is made
 * to the device's block, so its record (what a snapshot saves, vmm/descriptors/device_record.h)
 * says it and adding the records again (what a restore does) builds the VM as it was changed,
 * and the model of that configuration (GET /vm/config after a restore) shows the drive's id,
 * its limits and the balloon as they were at the snapshot. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "model_docs.h"
#include "vmm/api/api_model.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_record.h"

static struct vm_config cfg, replayed;
static json_t *records; /* the last device_records(&cfg) */
static char err[256];

static void setup(void)
{
	vm_config_init(&cfg);
	vm_config_init(&replayed);
}

static void teardown(void)
{
	cli_free(&cfg);
	cli_free(&replayed);
	json_decref(records);
	records = NULL;
}

TestSuite(live_config, .init = setup, .fini = teardown);

static void apply(const char *name, const char *arg)
{
	cr_assert_eq(cli_apply(&cfg, name, arg, err, sizeof(err)), 0, "--%s %s: %s", name, arg,
		     err);
}

/* Member `key` of instance `nth` of device `name` in the records of `cfg` (written anew), as
 * compact JSON ("\"7:1000:0\"", "true", "[...]"), or "-" when the record has no such member. */
static const char *member(const char *name, int nth, const char *key)
{
	static char text[512];
	json_decref(records);
	records = device_records(&cfg);
	const json_t *rec = json_array_get(json_object_get(records, name), (size_t)nth);
	cr_assert(rec, "no %s[%d] in the records", name, nth);
	const json_t *v = json_object_get(rec, key);
	char *dump = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	snprintf(text, sizeof(text), "%s", dump ? dump : "-");
	free(dump);
	return text;
}

/* What a snapshot restore builds from the records. */
static void replay(void)
{
	cli_free(&replayed);
	vm_config_init(&replayed);
	json_decref(records);
	records = device_records(&cfg);
	cr_assert_eq(device_records_load(&replayed, records, err, sizeof(err)), 0, "%s", err);
}

Test(live_config, a_drives_limits_and_id_survive_the_replay)
{
	struct rate_limiter_cfg rl = {.ops = {7, 0, 1000}};
	struct api_model m;

	apply("disk", "/root.img");
	apply("disk", "/d.img,ro,bw=1:2:3,id=data,ops=4:5");
	cr_assert_eq(dev_disk_live_record_limits(&cfg, 1, &rl), 0);
	cr_assert_str_eq(member("disk", 1, "ops"), "\"7:1000:0\"");
	cr_assert_str_eq(member("disk", 1, "bw"), "-");
	cr_assert_str_eq(member("disk", 1, "id"), "\"data\"");
	cr_assert_str_eq(member("disk", 0, "ops"), "-", "the other disk is left alone");
	cr_assert_eq(dev_disk_opts(&cfg, 1)->rl.ops.size, 7, "the parsed value follows");
	cr_assert_eq(dev_disk_opts(&cfg, 1)->rl.bw.size, 0);
	replay();
	cr_assert_eq(dev_disk_count(&replayed), 2);
	cr_assert_str_eq(dev_disk_opts(&replayed, 1)->id, "data");
	cr_assert_eq(dev_disk_opts(&replayed, 1)->rl.ops.size, 7);
	cr_assert(dev_disk_opts(&replayed, 1)->ro);
	cr_assert_eq(api_model_from_config(&m, &replayed), 0);
	cr_assert_str_eq(drive_str(&m, 0, "drive_id"), "drive0", "no id=: named by its place");
	cr_assert_str_eq(drive_str(&m, 1, "drive_id"), "data");
	cr_assert_eq(drive_rl(&m, 1).ops.refill_ms, 1000);
	api_model_free(&m);
}

Test(live_config, the_root_drive_and_its_io_engine_survive_the_replay)
{
	struct api_model m;

	apply("disk", "/data.img,aio=io_uring");
	apply("disk", "/root.img,root,aio=sync,id=rootfs");
	replay();
	cr_assert(dev_disk_opts(&replayed, 1)->root);
	cr_assert_not(dev_disk_opts(&replayed, 0)->root);
	cr_assert_eq(api_model_from_config(&m, &replayed), 0);
	cr_assert(drive_bool(&m, 1, "is_root_device"), "is_root_device after a restore");
	cr_assert_not(drive_bool(&m, 0, "is_root_device"));
	cr_assert_str_eq(drive_str(&m, 1, "io_engine"), "Sync");
	cr_assert_str_eq(drive_str(&m, 0, "io_engine"), "Async");
	api_model_free(&m);
}

Test(live_config, a_second_root_disk_is_refused)
{
	apply("disk", "/root.img,root");
	cr_assert_eq(cli_apply(&cfg, "disk", "/other.img,root", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "root device already"), "%s", err);
}

Test(live_config, the_path_is_never_taken_for_a_key)
{
	struct rate_limiter_cfg rl = {.bw = {10, 0, 5}};

	apply("disk", "/x/bw=1,ops=2:3");
	cr_assert_eq(dev_disk_live_record_limits(&cfg, 0, &rl), 0);
	cr_assert_str_eq(member("disk", 0, "path"), "\"/x/bw=1\"");
	cr_assert_str_eq(member("disk", 0, "bw"), "\"10:5:0\"");
	cr_assert_str_eq(member("disk", 0, "ops"), "-");
	rl = (struct rate_limiter_cfg){0};
	cr_assert_eq(dev_disk_live_record_limits(&cfg, 0, &rl), 0);
	cr_assert_str_eq(member("disk", 0, "bw"), "-", "no limits: no keys");
	cr_assert_eq(dev_disk_live_record_path(&cfg, 0, "/new,one.img"), 0);
	cr_assert_str_eq(member("disk", 0, "path"), "\"/new,one.img\"", "a comma is a character");
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/new,one.img");
	replay();
	cr_assert_str_eq(dev_disk_opts(&replayed, 0)->path, "/new,one.img");
	cr_assert_eq(dev_disk_live_record_path(&cfg, 0, "/new.img"), 0);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, "/new.img");
	replay();
	cr_assert_str_eq(dev_disk_opts(&replayed, 0)->path, "/new.img");
}

Test(live_config, a_new_path_keeps_the_options)
{
	apply("disk", "/a.img,id=data,bw=1M:1000");
	cr_assert_eq(dev_disk_live_record_path(&cfg, 0, "/b.img"), 0);
	cr_assert_str_eq(member("disk", 0, "path"), "\"/b.img\"");
	cr_assert_str_eq(member("disk", 0, "id"), "\"data\"");
	cr_assert_str_eq(member("disk", 0, "bw"), "\"1048576:1000:0\"");
}

Test(live_config, a_nics_limits_survive_the_replay)
{
	struct rate_limiter_cfg rx = {.ops = {5, 0, 10}}, tx = {0};

	apply("net", "tap=tap0,rx-bw=1:1,mac=52:54:00:00:00:01,tx-ops=2:2");
	cr_assert_eq(dev_net_live_record_limits(&cfg, 0, &rx, &tx), 0);
	cr_assert_str_eq(member("net", 0, "rx-ops"), "\"5:10:0\"");
	cr_assert_str_eq(member("net", 0, "rx-bw"), "-");
	cr_assert_str_eq(member("net", 0, "tx-ops"), "-");
	cr_assert_str_eq(member("net", 0, "mac"), "\"52:54:00:00:00:01\"");
	replay();
	cr_assert_eq(dev_net_opts(&replayed, 0)->rx_rl.ops.size, 5);
	cr_assert_eq(dev_net_opts(&replayed, 0)->rx_rl.bw.size, 0);
	cr_assert_eq(dev_net_opts(&replayed, 0)->tx_rl.ops.size, 0);
	cr_assert(dev_net_opts(&replayed, 0)->has_mac);
}

/* A NIC's egress policy replaced at run time: its record has the new rules, one egress item
 * each, which the restore parses back to the same rules. */
Test(live_config, a_nics_egress_policy_survives_the_replay)
{
	static struct egress_rules rules;
	char why[256];

	apply("net", "tap=tap0,egress=10.0.0.0/8,mac=52:54:00:00:00:01,egress=dns=10.0.2.3");
	cr_assert_eq(egress_rules_add(&rules, "10.0.2.2/32:tcp:80;serve=tcp:22", why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(dev_net_live_record_egress(&cfg, 0, &rules), 0);
	cr_assert_str_eq(member("net", 0, "egress"), "[\"10.0.2.2/32:tcp:80\",\"serve=tcp:22\"]");
	cr_assert_eq(dev_net_opts(&cfg, 0)->egress.n, 2, "the parsed value follows");
	replay();
	cr_assert(dev_net_opts(&replayed, 0)->egress.on);
	cr_assert_eq(dev_net_opts(&replayed, 0)->egress.n, 2);
	cr_assert_eq(
	    memcmp(dev_net_opts(&replayed, 0)->egress.rule, rules.rule, 2 * sizeof(rules.rule[0])),
	    0);
	memset(&rules, 0, sizeof(rules));
	rules.on = true;
	cr_assert_eq(dev_net_live_record_egress(&cfg, 0, &rules), 0);
	cr_assert_str_eq(member("net", 0, "egress"), "\"none\"");
}

Test(live_config, the_balloon_survives_the_replay)
{
	const struct dev_balloon_cfg *b;

	apply("balloon", "size=8M");
	apply("balloon", "size=16,stats=1,deflate-on-oom=on"); /* the last one wins */
	cr_assert_eq(dev_balloon_live_record_target(&cfg, 32), 0);
	cr_assert_eq(dev_balloon_live_record_stats(&cfg, 5), 0);
	cr_assert_str_eq(member("balloon", 0, "deflate-on-oom"), "\"on\"", "the one that won");
	b = device_cfg_find(&cfg, &device_balloon);
	cr_assert_eq(b->opts.target_mib, 32, "the parsed value follows");
	replay();
	b = device_cfg_find(&replayed, &device_balloon);
	cr_assert_not_null(b);
	cr_assert_eq(b->opts.target_mib, 32);
	cr_assert_eq(b->opts.stats_interval_s, 5);
	cr_assert(b->opts.deflate_on_oom);
	cr_assert_not(b->opts.free_page_reporting);
}

Test(live_config, nothing_recorded_is_enoent)
{
	struct rate_limiter_cfg rl = {0};

	cr_assert_eq(dev_disk_live_record_limits(&cfg, 0, &rl), -ENOENT);
	cr_assert_eq(dev_disk_live_record_path(&cfg, 0, "/x"), -ENOENT);
	cr_assert_eq(dev_net_live_record_limits(&cfg, 0, &rl, &rl), -ENOENT);
	cr_assert_eq(dev_balloon_live_record_target(&cfg, 1), -ENOENT);
	cr_assert_eq(dev_balloon_live_record_stats(&cfg, 1), -ENOENT);
	apply("disk", "/a.img");
	cr_assert_eq(dev_disk_live_record_limits(&cfg, 1, &rl), -ENOENT);
}
