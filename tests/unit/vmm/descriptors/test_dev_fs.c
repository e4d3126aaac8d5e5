/* --fs on the command line (vmm/descriptors/dev_fs.c): repeated shares with their transports, bad
 * values as usage errors, and guest RAM shared only when a share is configured. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/device_table.h"

#include "tests/unit/fixtures/cli_args.h"

Test(dev_fs, shares_with_their_transports)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s1", "--transport", "pci", "--fs",
			   "tag=b,socket=/s2,num-queues=2,queue-size=128"),
		     CLI_RUN);
	const struct dev_fs_cfg *fs = device_cfg_find(&c, &device_fs);
	cr_assert_not_null(fs);
	cr_assert_eq(fs->n, 2);
	cr_assert_str_eq(fs->fs[0].opts.tag, "a");
	cr_assert_eq(fs->fs[0].transport, TRANSPORT_MMIO);
	cr_assert_str_eq(fs->fs[1].opts.socket, "/s2");
	cr_assert_eq(fs->fs[1].opts.num_request_queues, 2);
	cr_assert_eq(fs->fs[1].opts.queue_size, 128);
	cr_assert_eq(fs->fs[1].transport, TRANSPORT_PCI);
	cr_assert(device_table_shares_memory(&c), "a share makes guest RAM a shared memfd");
	cli_free(&c);

	cr_assert_eq(PARSE(&c, "-k", "x", "--rng"), CLI_RUN);
	cr_assert_not(device_table_shares_memory(&c), "no share, private RAM");
	cli_free(&c);
}

Test(dev_fs, bad_values_are_usage_errors, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a"), CLI_EXIT_USAGE);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s,queue-size=3"), CLI_EXIT_USAGE);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s", "--fs", "tag=a,socket=/t"),
		     CLI_EXIT_USAGE, "a tag twice");
	cli_free(&c);
}

Test(dev_fs, the_socket_must_exist_before_the_vm, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/nonexistent/fs.sock"), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/dev/null"), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0, "not a socket");
	cli_free(&c);
}

/* How a hot-added share is recorded (PUT /vmm/vm.add-fs): id= names it in the API, its
 * hotplug-slot=N puts it in that slot; a remove forgets it by its id. */
Test(dev_fs, ids_and_hotplug_slots, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s1", "--fs",
			   "tag=b,id=fs1,socket=/s2,hotplug-slot=5", "--fs",
			   "tag=c,socket=/s3,id=fs2"),
		     CLI_RUN);
	const struct dev_fs_cfg *fs = device_cfg_find(&c, &device_fs);
	cr_assert_eq(fs->n, 3);
	cr_assert_str_eq(fs->fs[0].id, "");
	cr_assert_eq(fs->fs[0].hotplug_slot, 0);
	cr_assert_str_eq(fs->fs[1].id, "fs1");
	cr_assert_str_eq(fs->fs[1].opts.socket, "/s2");
	cr_assert_eq(fs->fs[1].hotplug_slot, 5);
	cr_assert_str_eq(fs->fs[2].id, "fs2");
	cr_assert_str_eq(fs->fs[2].opts.socket, "/s3", "id= last: the socket stays whole");
	cr_assert_eq(dev_fs_find(&c, "a"), 0, "without id=, the tag names it");
	cr_assert_eq(dev_fs_find(&c, "fs1"), 1);
	cr_assert_eq(dev_fs_find(&c, "b"), -1, "with id=, the id does");
	cr_assert_eq(dev_fs_find_tag(&c, "b"), 1);
	cr_assert_eq(dev_fs_count(&c), 3);
	dev_fs_forget(&c, "fs1");
	cr_assert_eq(dev_fs_count(&c), 2);
	cr_assert_eq(dev_fs_find(&c, "fs2"), 1);
	dev_fs_forget(&c, "nope");
	cr_assert_eq(dev_fs_count(&c), 2);
	cli_free(&c);

	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s,hotplug-slot=3"), CLI_EXIT_USAGE,
		     "a slot without an id");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s,id=x,id=y"), CLI_EXIT_USAGE);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s,id="), CLI_EXIT_USAGE);
	cli_free(&c);
	cr_assert_eq(
	    PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s,id=x", "--fs", "tag=b,socket=/t,id=x"),
	    CLI_EXIT_USAGE, "an id twice");
	cli_free(&c);
}
