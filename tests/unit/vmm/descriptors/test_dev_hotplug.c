/* The devices' PCI hotplug hooks (struct device_hotplug, vmm/descriptors/dev_*_hotplug.c) on a
 * configuration alone, the way vmm/api/control_hotplug.c asks them: each kind that is added
 * finds an instance by its id once its record is added, has room for one more (and says when it
 * has none), and forgets it again; each kind names its descriptor; a kept kind has its slot.
 * Every device's kind (struct vm_hotplug_kind, vmm/vm/hotplug.h) is its own object. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/hotplug.h"

/* One instance of each added kind, with id x, as its option. */
static const char *const added[][2] = {
    {"disk", "/d.img,id=x"},
    {"net", "tap=t0,id=x"},
    {"vsock", "cid=3,uds=/tmp/v.sock,id=x"},
    {"pmem", "path=/p.img,id=x"},
    {"fs", "tag=t,socket=/tmp/fs.sock,id=x"},
    {"vu-disk", "vhost-user=/tmp/b.sock,id=x"},
    {"vu-net", "vhost-user=/tmp/n.sock,id=x"},
    {"device", "vfio=/sys/bus/pci/devices/0000:01:00.0,id=x"},
};

static const struct device_desc *by_hotplug(const struct device_hotplug *h)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i]->hotplug == h)
			return device_table[i];
	return NULL;
}

static const struct device_hotplug *const kinds[] = {
    &dev_disk_hotplug, &dev_net_hotplug,    &dev_vsock_hotplug,	 &dev_pmem_hotplug,
    &dev_fs_hotplug,   &dev_vu_blk_hotplug, &dev_vu_net_hotplug, &dev_vfio_hotplug};

Test(dev_hotplug, each_added_kind_finds_and_forgets_its_instance)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct device_hotplug *h = kinds[k];
		const struct device_desc *d = by_hotplug(h);
		const char *opt = !strncmp(added[k][0], "vu-", 3) ? added[k][0] + 3 : added[k][0];
		struct vm_config cfg;
		char err[256] = "";
		cr_assert_not_null(d, "kind %zu has a descriptor", k);
		cr_assert_eq(device_table_hotplug_kind(h->kind), d, "%s: its kind names it",
			     d->name);
		cr_assert(h->room && h->create && h->find && h->transport && h->forget && h->stem &&
			      h->what,
			  "%s: the hooks an added kind needs", d->name);
		vm_config_init(&cfg);
		cr_assert_eq(h->find(&cfg, "x"), -1);
		cr_assert_eq(h->room(&cfg, err, sizeof(err)), 0, "%s: %s", d->name, err);
		cr_assert_eq(cli_device_option(&cfg, opt, added[k][1], err, sizeof(err)), 0,
			     "%s: %s", added[k][1], err);
		cr_assert_eq(h->find(&cfg, "x"), 0, "%s finds x", d->name);
		cr_assert_eq(h->find(&cfg, "y"), -1);
		h->forget(&cfg, "x");
		cr_assert_eq(h->find(&cfg, "x"), -1, "%s forgot x", d->name);
		cr_assert_eq(d->record_count(&cfg), 0);
		cli_free(&cfg);
	}
}

Test(dev_hotplug, a_full_kind_says_so)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "vsock", "cid=3,uds=/tmp/v.sock", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(dev_vsock_hotplug.room(&cfg, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "at most one"), "%s", err);
	cr_assert_eq(dev_vsock_hotplug.find(&cfg, "vsock0"), 0, "the API's name of an unnamed one");
	cli_free(&cfg);
	cr_assert_eq(dev_hotplug_room(4, 4, "disks", err, sizeof(err)), -ENOSPC);
	cr_assert_str_eq(err, "the VM has as many disks as it may have (4)");
}

Test(dev_hotplug, an_unnamed_boot_disk_is_found_by_its_place)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "disk", "/a.img", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_device_option(&cfg, "disk", "/b.img,id=data", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(dev_disk_hotplug.find(&cfg, "drive0"), 0);
	cr_assert_eq(dev_disk_hotplug.find(&cfg, "data"), 1);
	cr_assert_eq(dev_disk_hotplug.find(&cfg, "drive1"), -1, "it has an id");
	cli_free(&cfg);
}

Test(dev_hotplug, kept_kinds_have_their_slot_only_when_configured)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	cr_assert_null(dev_rng_hotplug.kept_slot(&cfg));
	cr_assert_eq(cli_device_option(&cfg, "rng", "rate=1M", err, sizeof(err)), 0, "%s", err);
	int *slot = dev_rng_hotplug.kept_slot(&cfg);
	cr_assert_not_null(slot);
	*slot = 9;
	cr_assert_eq(*dev_rng_hotplug.kept_slot(&cfg), 9, "the block's own field");
	cr_assert_null(dev_balloon_hotplug.kept_slot(&cfg));
	cr_assert_null(dev_rng_hotplug.create, "a kept kind is never added");
	cli_free(&cfg);
}

/* The VM tells kinds apart by address and reads kept and name only: each device in the table
 * with hotplug hooks has a kind of its own, named, kept exactly when it has a kept slot (an rng,
 * a balloon, the console: named as the slot table calls their one instance). */
Test(dev_hotplug, each_device_has_a_kind_of_its_own)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_hotplug *h = device_table[i]->hotplug;
		if (!h)
			continue;
		cr_assert_not_null(h->kind, "%s: a kind", device_table[i]->name);
		cr_assert(h->kind->name && h->kind->name[0], "%s: its kind's name",
			  device_table[i]->name);
		cr_assert_eq(h->kind->kept, h->kept_slot != NULL, "%s: kept iff a kept slot",
			     device_table[i]->name);
		cr_assert_eq(device_table_hotplug_kind(h->kind), device_table[i],
			     "%s: no other device has its kind", device_table[i]->name);
	}
	cr_assert_str_eq(dev_rng_hotplug.kind->name, "rng");
	cr_assert_str_eq(dev_balloon_hotplug.kind->name, "balloon");
	cr_assert_str_eq(dev_console_hotplug.kind->name, "console");
	cr_assert_null(device_table_hotplug_kind(&(struct vm_hotplug_kind){.name = "rng"}),
		       "a kind is its address, not its name");
}
