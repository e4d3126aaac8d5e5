/* What saving, forking and moving a VM ask of the devices (vmm/descriptors/device_save.h): the
 * table walks over struct device_save answer for the disks, NICs, vsock and virtio-mem without
 * the caller naming them, and the hotplug thread gets each kind's seccomp list once. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <string.h>

#include "host/sandbox/sandbox.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/vm/hotplug.h"

static void quiet(void)
{
	cr_redirect_stderr();
}

TestSuite(device_save, .init = quiet);

static void apply(struct vm_config *cfg, const char *name, const char *arg)
{
	char err[256];
	cr_assert_eq(cli_apply(cfg, name, arg, err, sizeof(err)), 0, "--%s %s: %s", name, arg, err);
}

/* device_save_option_id()'s answer for --`option` `arg`, and the id in `id`. */
static int option_id(const char *option, const char *arg, char *id)
{
	strcpy(id, "unset");
	return device_save_option_id(option, arg, id, DEVICE_SAVE_ID_MAX);
}

Test(device_save, a_version_1_option_names_its_id)
{
	char id[DEVICE_SAVE_ID_MAX];
	cr_assert_eq(option_id("disk", "/x/a.img,id=rootfs", id), 0);
	cr_assert_str_eq(id, "rootfs");
	cr_assert_eq(option_id("disk", "/x/a.img", id), 0);
	cr_assert_str_eq(id, "", "no id=");
	cr_assert_eq(option_id("net", "tap=vmtap0,id=eth0", id), 0);
	cr_assert_str_eq(id, "eth0");
	cr_assert_eq(option_id("vsock", "cid=3,uds=/v/sock,id=v0,hotplug-slot=4", id), 0);
	cr_assert_str_eq(id, "v0", "a hot-added vsock's slot item is no matter");
}

Test(device_save, a_refused_option_or_a_device_without_such_ids)
{
	char id[DEVICE_SAVE_ID_MAX];
	cr_assert_eq(option_id("disk", "/x/a.img,nonsense=1", id), -EINVAL);
	cr_assert_eq(option_id("net", "nonsense", id), -EINVAL);
	cr_assert_eq(option_id("disk", "vhost-user=/run/blk.sock", id), -ENOENT,
		     "a vhost-user disk is not the disks'");
	cr_assert_eq(option_id("net", "vhost-user=/run/net.sock", id), -ENOENT);
	cr_assert_eq(option_id("rng", "", id), -ENOENT);
	cr_assert_eq(option_id("no-such-option", "x", id), -ENOENT);
}

Test(device_save, the_api_ids_of_a_section)
{
	struct vm_config cfg;
	char ids[4][64];
	vm_config_init(&cfg);
	apply(&cfg, "disk", "/x/a.img,id=rootfs");
	apply(&cfg, "disk", "/x/b.img");
	apply(&cfg, "net", "tap=vmtap0");
	cr_assert_eq(device_save_api_ids(&cfg, "drives", ids, 4), 2);
	cr_assert_str_eq(ids[0], "rootfs");
	cr_assert_str_eq(ids[1], "drive1");
	cr_assert_eq(device_save_api_ids(&cfg, "network-interfaces", ids, 4), 1);
	cr_assert_str_eq(ids[0], "net0");
	cr_assert_eq(device_save_api_ids(&cfg, "drives", ids, 1), -E2BIG);
	cr_assert_eq(device_save_api_ids(&cfg, "no-such-section", ids, 4), 0);
	cli_free(&cfg);
}

Test(device_save, the_memory_past_the_ram)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	cr_assert_eq(device_save_mem_beyond(&cfg), 0);
	apply(&cfg, "memory-hotplug", "total=1G");
	cr_assert_eq(device_save_mem_beyond(&cfg), 1ull << 30);
	cli_free(&cfg);
}

Test(device_save, a_tapfd_nic_cannot_go_to_another_host)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	apply(&cfg, "net", "tap=vmtap0");
	cr_assert_eq(device_save_remote_check(&cfg, err, sizeof(err)), 0);
	apply(&cfg, "net", "tapfd=3");
	cr_assert_eq(device_save_remote_check(&cfg, err, sizeof(err)), -ENOTSUP);
	cr_assert(strstr(err, "NIC 1 has its tap as tapfd="), "%s", err);
	cli_free(&cfg);
}

Test(device_save, a_handed_over_fd_goes_to_a_single_queue_tap_nic)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	apply(&cfg, "net", "tap=vmtap0");
	apply(&cfg, "net", "tap=vmtap1,queues=2");
	cr_assert_eq(device_save_use_fd(&cfg, 0, 7, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(dev_net_opts(&cfg, 0)->kind, VIRTIO_NET_TAPFD);
	cr_assert_eq(dev_net_opts(&cfg, 0)->tapfd, 7);
	cr_assert_eq(device_save_use_fd(&cfg, 1, 8, err, sizeof(err)), -EINVAL, "multi-queue");
	cr_assert(strstr(err, "not a single-queue tap NIC"), "%s", err);
	cr_assert_eq(device_save_use_fd(&cfg, 2, 9, err, sizeof(err)), -EINVAL, "no NIC 2");
	cli_free(&cfg);
}

Test(device_save, a_destination_opens_the_disks_unlocked)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	apply(&cfg, "disk", "/x/a.img");
	apply(&cfg, "disk", "/x/b.img,ro");
	device_save_open_unlocked(&cfg);
	cr_assert(dev_disk_opts(&cfg, 0)->unlocked);
	cr_assert(dev_disk_opts(&cfg, 1)->unlocked);
	cli_free(&cfg);
}

Test(device_save, the_hotplug_thread_gets_each_kinds_list_once)
{
	const struct sandbox_list *lists[16];
	int n = device_table_hotplug_devices.sandboxes(lists, 16);
	cr_assert_eq(n, 5, "virtio-blk's, a tap's, vsock's, pmem's, vhost-user's");
	for (int i = 0; i < n; i++) {
		cr_assert(lists[i]);
		for (int k = 0; k < i; k++)
			cr_assert_neq(lists[i], lists[k], "list %d given twice", i);
	}
	cr_assert_eq(device_table_hotplug_devices.sandboxes(lists, 2), 2, "no more than max");
}
