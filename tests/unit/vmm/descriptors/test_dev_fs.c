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
