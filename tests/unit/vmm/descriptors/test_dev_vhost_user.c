/* --disk vhost-user=... and --net vhost-user=... on the command line
 * (vmm/descriptors/dev_vhost_user.c): the hook in the --disk and --net parsers, repeated devices
 * with their transports, ids unique among the devices of a kind, bad values as usage errors, the
 * socket checked before the VM, memory hotplug refused, guest RAM shared. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/device_table.h"

#include "tests/unit/fixtures/cli_args.h"

Test(dev_vhost_user, disks_and_nics_with_their_transports)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "vhost-user=/b1,id=data", "--transport", "pci",
			   "--disk", "vhost-user=/b2,num-queues=4,queue-size=128", "--net",
			   "vhost-user=/n1,mac=02:00:00:00:00:01,id=eth9"),
		     CLI_RUN);
	const struct dev_vu_cfg *b = device_cfg_find(&c, &device_vu_blk);
	const struct dev_vu_cfg *n = device_cfg_find(&c, &device_vu_net);
	cr_assert_not_null(b);
	cr_assert_not_null(n);
	cr_assert_eq(b->n, 2);
	cr_assert_eq(dev_disk_count(&c), 0, "not an in-process disk");
	cr_assert_str_eq(b->dev[0].opts.socket, "/b1");
	cr_assert_str_eq(b->dev[0].opts.id, "data");
	cr_assert_eq(b->dev[0].transport, TRANSPORT_MMIO);
	cr_assert_eq(b->dev[1].opts.num_queues, 4);
	cr_assert_eq(b->dev[1].opts.queue_size, 128);
	cr_assert_eq(b->dev[1].transport, TRANSPORT_PCI);
	cr_assert_eq(n->n, 1);
	cr_assert_eq(dev_net_count(&c), 0, "not an in-process NIC");
	cr_assert(n->dev[0].opts.has_mac);
	cr_assert_eq(n->dev[0].transport, TRANSPORT_PCI);
	cr_assert(device_table_shares_memory(&c), "guest RAM becomes a shared memfd");
	cli_free(&c);

	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "vhost-user=/n1"), CLI_RUN);
	cr_assert(device_table_shares_memory(&c), "a NIC alone shares RAM too");
	cli_free(&c);
}

Test(dev_vhost_user, bad_values_are_usage_errors, .init = quiet)
{
	struct vm_config c;
	char *disk_bad[] = {"vhost-user=", "vhost-user=/s,num-queues=0",
			    "vhost-user=/s,queue-size=3", "vhost-user=/s,mac=02:00:00:00:00:01",
			    "vhost-user=/s,ro"};
	for (size_t i = 0; i < sizeof(disk_bad) / sizeof(disk_bad[0]); i++) {
		cr_assert_eq(PARSE(&c, "-k", "x", "--disk", disk_bad[i]), CLI_EXIT_USAGE, "%s",
			     disk_bad[i]);
		cli_free(&c);
	}
	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "vhost-user=/s,num-queues=4"), CLI_EXIT_USAGE);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "vhost-user=/s,mac=01:00:00:00:00:01"),
		     CLI_EXIT_USAGE, "multicast");
	cli_free(&c);
	cr_assert_eq(
	    PARSE(&c, "-k", "x", "--disk", "vhost-user=/a,id=d", "--disk", "vhost-user=/b,id=d"),
	    CLI_EXIT_USAGE, "an id twice");
	cli_free(&c);
}

/* A MAC of all zeros or a multicast one (broadcast included) is not a NIC's own address. */
Test(dev_vhost_user, zero_and_multicast_macs_are_refused, .init = quiet)
{
	struct vm_config c;
	char *bad[] = {"vhost-user=/s,mac=00:00:00:00:00:00", "vhost-user=/s,mac=ff:ff:ff:ff:ff:ff",
		       "vhost-user=/s,mac=33:33:00:00:00:01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(PARSE(&c, "-k", "x", "--net", bad[i]), CLI_EXIT_USAGE, "%s", bad[i]);
		cli_free(&c);
	}
	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "vhost-user=/s,mac=00:00:00:00:00:01"), CLI_RUN);
	cli_free(&c);
}

/* One back-end connection serves one device: two vhost-user devices of any kind (virtio-fs
 * included) on one socket are refused when parsed (the earlier one known) or checked (a later
 * --fs, or another spelling of the same path). */
Test(dev_vhost_user, one_socket_serves_one_device, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "vhost-user=/s", "--disk", "vhost-user=/s"),
		     CLI_EXIT_USAGE, "two disks");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "vhost-user=/s", "--net", "vhost-user=/s"),
		     CLI_EXIT_USAGE, "a disk and a NIC");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--fs", "tag=a,socket=/s", "--net", "vhost-user=/s"),
		     CLI_EXIT_USAGE, "a folder and a NIC");
	cli_free(&c);

	char path[108], other[140];
	snprintf(path, sizeof(path), "/tmp/dev-vu-dup-%d.sock", getpid());
	snprintf(other, sizeof(other), "/tmp/../tmp/dev-vu-dup-%d.sock", getpid());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char disk[160], fs[180], net[180];
	snprintf(disk, sizeof(disk), "vhost-user=%s", path);
	snprintf(fs, sizeof(fs), "tag=a,socket=%s", path);
	snprintf(net, sizeof(net), "vhost-user=%s", other);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", disk, "--fs", fs), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0, "a disk and a later folder");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", disk, "--net", net), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0, "the same socket spelt another way");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", disk), CLI_RUN);
	cr_assert_eq(device_table_check(&c), 0, "one device on it");
	cli_free(&c);
	close(fd);
	unlink(path);
}

/* Disk ids are unique across in-process and vhost-user disks, in either order. */
Test(dev_vhost_user, disk_ids_are_unique_across_both_kinds, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a.img,id=d", "--disk", "vhost-user=/s,id=d"),
		     CLI_EXIT_USAGE, "in-process first");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "vhost-user=/s,id=d", "--disk", "a.img,id=d"),
		     CLI_EXIT_USAGE, "vhost-user first");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "vhost-user=/s,id=d", "--disk", "a.img,id=e"),
		     CLI_RUN);
	cli_free(&c);
}

Test(dev_vhost_user, the_socket_must_exist_before_the_vm, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "vhost-user=/nonexistent/b.sock"), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "vhost-user=/dev/null"), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0, "not a socket");
	cli_free(&c);

	char path[108];
	snprintf(path, sizeof(path), "/tmp/dev-vu-test-%d.sock", getpid());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char arg[160];
	snprintf(arg, sizeof(arg), "vhost-user=%s", path);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", arg), CLI_RUN);
	cr_assert_eq(device_table_check(&c), 0, "a socket is there");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", arg, "--memory-hotplug", "total=1G"), CLI_RUN);
	cr_assert_lt(device_table_check(&c), 0, "hotplugged memory is not shared with back-ends");
	cli_free(&c);
	close(fd);
	unlink(path);
}
