/* snapshot_open() (vmm/machine/vm_snapshot.h) on a state file written here: NIC overrides found by
 * the NIC's id (--net id=, or netN without one) or by position, an override that names no NIC
 * refused, and the saved MMDS state put in front of the NICs its configuration names. No KVM: only
 * the configuration part of a restore. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/base/snapshot_io.h"
#include "vmm/machine/dev_net.h"
#include "vmm/machine/vm_snapshot.h"
#include "vmm/mmds/mmds.h"
#include "vmm/snapshot/snap_format.h"

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
	cli_config_init(&cfg);
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
	err[0] = '\0';
	return snapshot_open(&l, path, NULL, &cfg, ov, n, err, sizeof(err));
}

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
	const struct snapshot_nic_override ov[] = {{.index = 1, .spec = "tap=b2"}};
	cr_assert_eq(open_with(ov, 1), 0, "%s", err);
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
	cli_config_init(&cfg);
	const struct snapshot_nic_override pos[] = {{.index = 2, .spec = "tap=x"}};
	cr_assert_eq(open_with(pos, 1), -EINVAL);
	cr_assert(strstr(err, "has 2 NICs"), "%s", err);
}

Test(snapshot_open, mmds_answers_on_the_nics_it_names)
{
	write_state(TWO_NICS, "{\"config\": {\"network_interfaces\": [\"net1\"], \"ipv4_address\": "
			      "\"169.254.1.2\"}, \"store\": {\"k\": \"v\"}}");
	cr_assert_eq(open_with(NULL, 0), 0, "%s", err);
	cr_assert_null(dev_net_opts(&cfg, 0)->mmds);
	cr_assert_eq(dev_net_opts(&cfg, 1)->mmds, &mmds);
	cr_assert_eq(dev_net_opts(&cfg, 1)->mmds_ipv4, 0xa9fe0102);
	cr_assert(l.mmds, "kept for snapshot_restore()");
}

Test(snapshot_open, a_bad_mmds_state_is_refused)
{
	write_state(TWO_NICS, "{\"config\": {\"network_interfaces\": [\"net1\"], \"ipv4_address\": "
			      "\"10.1.2.3\"}, \"store\": null}");
	cr_assert_eq(open_with(NULL, 0), -EINVAL);
	cr_assert(strstr(err, "snapshot MMDS configuration"), "%s", err);
	snapshot_close(&l);
	cli_free(&cfg);
	cli_config_init(&cfg);
	cfg.mmds = &mmds;
	write_state(TWO_NICS, "not json");
	cr_assert_eq(open_with(NULL, 0), -EINVAL);
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
