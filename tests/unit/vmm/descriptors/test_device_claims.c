/* The devices' claims (device_table.h, "Claims"): the conflicts device_table.c finds between
 * descriptors that never name each other, with the messages the user has always seen, and the
 * answers the claims give (a shared option's parser, shared RAM, the region above the RAM). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_table.h"

static void quiet(void)
{
	cr_redirect_stderr();
}

TestSuite(device_claims, .init = quiet);

static void apply(struct vm_config *cfg, const char *name, const char *arg)
{
	char err[256];
	cr_assert_eq(cli_apply(cfg, name, arg, err, sizeof(err)), 0, "--%s %s: %s", name, arg, err);
}

/* The check refuses `cfg` with -EINVAL and a log line holding `want`. */
static void refused(const struct vm_config *cfg, const char *want)
{
	cr_assert_eq(device_table_claims_check(cfg), -EINVAL);
	cr_assert(strstr(log_last_error(), want), "%s", log_last_error());
}

Test(device_claims, a_root_disk_and_a_root_pmem_device)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	apply(&cfg, "disk", "/x/a.img,root");
	apply(&cfg, "pmem", "path=/x/p.img");
	cr_assert_eq(device_table_claims_check(&cfg), 0, "one root");
	apply(&cfg, "pmem", "path=/x/q.img,root");
	refused(&cfg,
		"disk /x/a.img and pmem /x/q.img are both marked root: one root device at most");
	cli_free(&cfg);
}

Test(device_claims, shared_ram_beside_memory_hotplug)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	apply(&cfg, "memory-hotplug", "total=1G");
	cr_assert_eq(device_table_claims_check(&cfg), 0);
	cr_assert_not(device_table_shares_memory(&cfg));
	apply(&cfg, "net", "vhost-user=/x/n.sock");
	cr_assert(device_table_shares_memory(&cfg));
	refused(&cfg, "--net vhost-user= cannot be combined with --memory-hotplug yet: hotplugged "
		      "memory is not shared with vhost-user back-ends");
	apply(&cfg, "fs", "tag=t,socket=/x/f.sock");
	refused(&cfg, "--fs cannot be combined with --memory-hotplug yet"); /* table order */
	cli_free(&cfg);
}

Test(device_claims, one_device_per_socket)
{
	struct vm_config cfg;
	char err[256];
	vm_config_init(&cfg);
	apply(&cfg, "fs", "tag=t,socket=/x/s.sock");
	cr_assert_eq(cli_apply(&cfg, "disk", "vhost-user=/x/s.sock", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--fs socket= uses that socket already"), "%s", err);
	cr_assert_eq(device_table_claims_check(&cfg), 0);
	cli_free(&cfg);

	vm_config_init(&cfg); /* the parser of a later --fs does not look: the check does */
	apply(&cfg, "disk", "vhost-user=/x/s.sock");
	apply(&cfg, "fs", "tag=t,socket=/x/s.sock");
	refused(&cfg, "the same vhost-user socket; a back-end connection serves one device");
	cli_free(&cfg);
}

Test(device_claims, drive_ids_across_descriptors)
{
	struct vm_config cfg;
	char err[256];
	struct device_claim c;
	vm_config_init(&cfg);
	apply(&cfg, "disk", "vhost-user=/x/b.sock,id=a");
	cr_assert(device_table_id_claimed(&cfg, "drive", "a", &c));
	cr_assert_str_eq(c.what, "a vhost-user disk");
	cr_assert_not(device_table_id_claimed(&cfg, "iface", "a", NULL), "another name space");
	cr_assert_not(device_table_id_claimed(&cfg, "drive", "", NULL), "\"\" is never taken");
	cr_assert_eq(cli_apply(&cfg, "disk", "/x/a.img,id=a", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "id=a: a vhost-user disk has that id already"), "%s", err);
	apply(&cfg, "disk", "/x/a.img,id=b");
	cr_assert_eq(cli_apply(&cfg, "disk", "vhost-user=/x/c.sock,id=b", err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "id=b is taken already"), "%s", err);
	cli_free(&cfg);
}

Test(device_claims, a_shared_option_finds_its_parser)
{
	const struct device_option *disk = device_table_option("disk", "/x/a.img");
	const struct device_option *vu = device_table_option("disk", "vhost-user=/x/b.sock");
	cr_assert_not_null(disk);
	cr_assert_not_null(vu);
	cr_assert_neq(disk, vu);
	cr_assert(strstr(vu->usage, "--disk vhost-user=PATH"));
	cr_assert_null(device_table_option("no-such-option", "x"));
}

Test(device_claims, the_region_above_the_ram)
{
	struct vm_config cfg;
	struct device_claim c;
	vm_config_init(&cfg);
	cr_assert_not(device_table_claim_find(&cfg, DEVICE_CLAIM_GUEST_RANGE, NULL, &c));
	apply(&cfg, "memory-hotplug", "total=1G");
	cr_assert(device_table_claim_find(&cfg, DEVICE_CLAIM_GUEST_RANGE, NULL, &c));
	cr_assert_eq(c.size, 1ull << 30);
	cr_assert_geq(c.base, cfg.mem_size);
	cli_free(&cfg);
}
