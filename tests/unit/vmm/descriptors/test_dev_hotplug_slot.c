/* How the configuration keeps a hot-added disk, NIC or vsock
 * (vmm/descriptors/dev_hotplug_slot.h): the hotplug-slot=N item split off an option, the --disk /
 * --net entry that keeps N, its record loaded again (what a snapshot's restore does), and a
 * remove taking it out again. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_rng.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/vm.h"

#include "tests/unit/fixtures/config_replay.h"

static int split(const char *arg, char *rest, size_t len, int *slot)
{
	char err[256] = "";
	return dev_hotplug_slot_split(arg, rest, len, slot, err, sizeof(err));
}

Test(dev_hotplug_slot, split_anywhere)
{
	char rest[128];
	int slot;
	cr_assert_eq(split("/d.img,ro,id=a,hotplug-slot=3", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, "/d.img,ro,id=a");
	cr_assert_eq(slot, 3);
	cr_assert_eq(split("hotplug-slot=31,tap=t0,id=n", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, "tap=t0,id=n");
	cr_assert_eq(slot, 31);
	cr_assert_eq(split("/d.img,id=a", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, "/d.img,id=a");
	cr_assert_eq(slot, 0, "no item: a boot device");
}

Test(dev_hotplug_slot, bad_values)
{
	char rest[128];
	int slot;
	const char *bad[] = {"x,hotplug-slot=0",   "x,hotplug-slot=32",
			     "x,hotplug-slot=",	   "x,hotplug-slot=1a",
			     "x,hotplug-slot=123", "x,hotplug-slot=2,hotplug-slot=3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(split(bad[i], rest, sizeof(rest), &slot), -EINVAL, "%s", bad[i]);
	cr_assert_eq(split("/a/long/path.img,id=a", rest, 8, &slot), -ENAMETOOLONG);
}

static int apply(struct vm_config *c, const char *name, const char *arg)
{
	char err[256] = "";
	int r = cli_apply(c, name, arg, err, sizeof(err));
	return r;
}

Test(dev_hotplug_slot, disk_recorded_and_replayed)
{
	struct vm_config c, again;
	vm_config_init(&c);
	c.transport = TRANSPORT_PCI;
	cr_assert_eq(apply(&c, "disk", "/root.img,root"), 0);
	cr_assert_eq(apply(&c, "disk", "/hp.img,ro,id=hp0,hotplug-slot=4"), 0);
	cr_assert_eq(dev_disk_count(&c), 2);
	const struct dev_disk_cfg *d = device_cfg_find(&c, &device_disk);
	cr_assert_eq(d->disk[0].hotplug_slot, 0);
	cr_assert_eq(d->disk[1].hotplug_slot, 4);
	cr_assert_str_eq(d->disk[1].opts.path, "/hp.img");
	cr_assert(d->disk[1].opts.ro);
	cr_assert_eq(dev_disk_find_id(&c, "hp0"), 1);
	cr_assert_eq(c.nrecorded, 0, "a device is its block, not a recorded option");

	/* a snapshot's restore loads the records: the disk comes back in the same slot */
	config_replay(&c, &again);
	d = device_cfg_find(&again, &device_disk);
	cr_assert_eq(d->n, 2);
	cr_assert_eq(d->disk[1].hotplug_slot, 4);
	cr_assert_str_eq(d->disk[1].opts.id, "hp0");
	cli_free(&again);

	/* removed: out of the disks and their records, the boot disk untouched */
	dev_disk_forget(&c, dev_disk_find_id(&c, "hp0"));
	cr_assert_eq(dev_disk_count(&c), 1);
	cr_assert_eq(dev_disk_find_id(&c, "hp0"), -1);
	cr_assert_str_eq(dev_disk_opts(&c, 0)->path, "/root.img");
	json_t *doc = device_records(&c);
	char *text = json_dumps(doc, 0);
	cr_assert_null(strstr(text, "hp.img"), "%s", text);
	free(text);
	json_decref(doc);
	cli_free(&c);
}

Test(dev_hotplug_slot, a_hot_added_disk_has_an_id_and_is_no_root)
{
	struct vm_config c;
	vm_config_init(&c);
	cr_assert_eq(apply(&c, "disk", "/hp.img,hotplug-slot=4"), -EINVAL);
	cr_assert_eq(apply(&c, "disk", "/hp.img,root,id=r,hotplug-slot=4"), -EINVAL);
	cr_assert_eq(apply(&c, "disk", "/hp.img,id=a,hotplug-slot=40"), -EINVAL);
	cr_assert_eq(dev_disk_count(&c), 0);
	cr_assert_null(device_records_next(&c, NULL), "nothing kept of a refused option");
	cli_free(&c);
}

Test(dev_hotplug_slot, nic_recorded_and_forgotten)
{
	struct vm_config c;
	vm_config_init(&c);
	cr_assert_eq(apply(&c, "net", "tap=t0"), 0);
	cr_assert_eq(apply(&c, "net", "tap=t1,id=hpn,hotplug-slot=5"), 0);
	cr_assert_eq(apply(&c, "net", "tap=t2,hotplug-slot=6"), -EINVAL, "an id= is needed");
	const struct dev_net_cfg *n = device_cfg_find(&c, &device_net);
	cr_assert_eq(n->n, 2);
	cr_assert_eq(n->nic[1].hotplug_slot, 5);
	cr_assert_str_eq(n->nic[1].opts.ifname, "t1");
	dev_net_forget(&c, "hpn");
	cr_assert_eq(dev_net_count(&c), 1);
	cr_assert_str_eq(dev_net_opts(&c, 0)->ifname, "t0");
	cli_free(&c);
}

Test(dev_hotplug_slot, vsock_recorded_replayed_and_forgotten)
{
	struct vm_config c, again;
	vm_config_init(&c);
	cr_assert_null(dev_vsock_id(&c));
	cr_assert_eq(apply(&c, "vsock", "cid=7,uds=/tmp/v.sock,hotplug-slot=3"), -EINVAL,
		     "an id= is needed");
	cr_assert_null(dev_vsock_id(&c), "nothing kept of a refused option");
	cr_assert_eq(apply(&c, "vsock", "cid=7,uds=/tmp/v.sock,id=hpv,hotplug-slot=3"), 0);
	cr_assert_str_eq(dev_vsock_id(&c), "hpv");
	cr_assert(dev_vsock_hot_added(&c));
	const struct dev_vsock_cfg *v = device_cfg_find(&c, &device_vsock);
	cr_assert_eq(v->hotplug_slot, 3);
	cr_assert_eq(v->opts.cid, 7);
	cr_assert_str_eq(v->opts.uds, "/tmp/v.sock");
	cr_assert_eq(apply(&c, "vsock", "cid=8,uds=/tmp/w.sock"), -EINVAL, "one vsock per VM");

	config_replay(&c, &again);
	v = device_cfg_find(&again, &device_vsock);
	cr_assert_eq(v->hotplug_slot, 3, "a restore puts it back in its slot");
	cr_assert_str_eq(v->opts.id, "hpv");
	cli_free(&again);

	dev_vsock_forget(&c);
	cr_assert_null(dev_vsock_id(&c));
	cr_assert_eq(apply(&c, "vsock", "cid=9,uds=/tmp/x.sock"), 0, "room for another one");
	cr_assert_str_eq(dev_vsock_id(&c), "vsock0", "a boot vsock's default name");
	cr_assert(!dev_vsock_hot_added(&c));
	cli_free(&c);
}

Test(dev_hotplug_slot, pmem_recorded_with_its_window)
{
	struct vm_config c, again;
	vm_config_init(&c);
	cr_assert_eq(apply(&c, "pmem", "path=/boot.img"), 0);
	cr_assert_eq(apply(&c, "pmem", "path=/p.img,id=pm,hotplug-slot=5,gpa=6442450944"), 0);
	const struct dev_pmem_cfg *p = device_cfg_find(&c, &device_pmem);
	cr_assert_eq(p->n, 2);
	cr_assert_eq(p->dev[0].hotplug_slot, 0);
	cr_assert_eq(p->dev[1].hotplug_slot, 5);
	cr_assert_eq(p->dev[1].gpa, 6442450944ull, "its window's address, kept for a restore");
	cr_assert_str_eq(p->dev[1].opts.path, "/p.img");
	cr_assert_str_eq(p->dev[1].id, "pm");

	config_replay(&c, &again);
	p = device_cfg_find(&again, &device_pmem);
	cr_assert_eq(p->dev[1].hotplug_slot, 5);
	cr_assert_eq(p->dev[1].gpa, 6442450944ull);
	cli_free(&again);

	dev_pmem_forget(&c, "pm");
	cr_assert_eq(dev_pmem_find(&c, "pm"), -1);
	cr_assert_str_eq(device_cfg_find(&c, &device_pmem) == NULL
			     ? ""
			     : ((const struct dev_pmem_cfg *)device_cfg_find(&c, &device_pmem))
				   ->dev[0]
				   .opts.path,
			 "/boot.img");
	cli_free(&c);
}

Test(dev_hotplug_slot, pmem_refusals)
{
	struct vm_config c;
	vm_config_init(&c);
	const char *bad[] = {"path=/p.img,hotplug-slot=5",		  /* no id= */
			     "path=/p.img,root,id=r,hotplug-slot=5",	  /* a root */
			     "path=/p.img,id=a,gpa=6442450944",		  /* gpa= without a slot */
			     "path=/p.img,id=a,hotplug-slot=5,gpa=12345", /* not 2 MiB-aligned */
			     "path=/p.img,id=a,hotplug-slot=5,gpa=0",	  /* zero */
			     "path=/p.img,id=a,hotplug-slot=5,gpa=0x200000",	  /* decimal only */
			     "path=/p.img,id=a,hotplug-slot=5,gpa=2199023255552", /* past 1 TiB */
			     "path=/p.img,id=a,hotplug-slot=5,gpa=4194304,gpa=4194304"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(apply(&c, "pmem", bad[i]), -EINVAL, "%s", bad[i]);
	cr_assert_null(device_cfg_find(&c, &device_pmem) &&
			       ((const struct dev_pmem_cfg *)device_cfg_find(&c, &device_pmem))->n
			   ? "kept"
			   : NULL,
		       "nothing kept of a refused option");
	cli_free(&c);
}

Test(dev_hotplug_slot, empty_items_stay)
{
	char rest[128];
	int slot;
	cr_assert_eq(split(",ro", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, ",ro");
	cr_assert_eq(split("x,hotplug-slot=2,", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, "x,");
	cr_assert_eq(slot, 2);
}

Test(dev_hotplug_slot, a_doubled_comma_stays_in_its_item)
{
	char rest[128];
	int slot;
	cr_assert_eq(split(",,a,hotplug-slot=3,b,,c", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, ",,a,b,,c", "the items as written");
	cr_assert_eq(slot, 3);
	cr_assert_eq(split("/a,,hotplug-slot=3", rest, sizeof(rest), &slot), 0);
	cr_assert_str_eq(rest, "/a,,hotplug-slot=3", "one item: a path");
	cr_assert_eq(slot, 0);
	cr_assert_eq(split("hotplug-slot=2,,x", rest, sizeof(rest), &slot), -EINVAL,
		     "one item: hotplug-slot=\"2,x\"");
}

static struct vm novm; /* a VM whose devices are not built: pins change blocks only */

/* What a restore builds: `c`'s device records added to a new configuration `again`. */
static void reload(const struct vm_config *c, struct vm_config *again)
{
	char err[512] = "";
	json_t *doc = device_records(c);
	cr_assert_not_null(doc);
	vm_config_init(again);
	cr_assert_eq(device_records_load(again, doc, err, sizeof(err)), 0, "%s", err);
	json_decref(doc);
}

/* A boot disk removed (docs/hotplug.md): the later boot disks pinned to their slots with their
 * names, its own block entry dropped; the records (a restore, a migration's destination) put
 * every remaining disk in its slot under its name. */
Test(dev_hotplug_slot, a_boot_disk_removed_the_later_ones_keep_slot_and_name)
{
	struct vm_config c, again;
	vm_config_init(&c);
	c.transport = TRANSPORT_PCI;
	cr_assert_eq(apply(&c, "disk", "/root.img,root"), 0);	/* 00:01.0 */
	cr_assert_eq(apply(&c, "disk", "/d1.img"), 0);		/* 00:02.0, drive1: removed */
	cr_assert_eq(apply(&c, "disk", "/d2.img,id=data2"), 0); /* 00:03.0 */
	cr_assert_eq(apply(&c, "disk", "/d3.img"), 0);		/* 00:04.0, drive3 */
	cr_assert_eq(dev_disk_pin(&c, &novm, 2, 3), 0);
	cr_assert_eq(dev_disk_pin(&c, &novm, 3, 4), 0);
	dev_disk_forget(&c, 1);
	reload(&c, &again);
	const struct dev_disk_cfg *d = device_cfg_find(&again, &device_disk);
	cr_assert_eq(d->n, 3);
	cr_assert(d->disk[0].opts.root);
	cr_assert_eq(d->disk[0].hotplug_slot, 0, "the root disk: a boot disk, in 00:01.0");
	cr_assert_str_eq(d->disk[1].opts.id, "data2");
	cr_assert_eq(d->disk[1].hotplug_slot, 3);
	cr_assert_str_eq(d->disk[2].opts.id, "drive3", "not drive2: its name stays");
	cr_assert_eq(d->disk[2].hotplug_slot, 4);
	cli_free(&again);
	cli_free(&c);
}

/* The boot vsock after a removed boot device: its record and block pinned to its slot under
 * its name (vsock0 when it had no id=); the replay puts it back there. */
Test(dev_hotplug_slot, a_boot_vsock_pinned)
{
	struct vm_config c, again;
	vm_config_init(&c);
	c.transport = TRANSPORT_PCI;
	cr_assert_eq(apply(&c, "vsock", "cid=7,uds=/tmp/v.sock"), 0);
	cr_assert_str_eq(dev_vsock_id(&c), "vsock0");
	cr_assert(!dev_vsock_hot_added(&c));
	cr_assert_eq(dev_vsock_pin(&c, 6), 0);
	cr_assert_str_eq(dev_vsock_id(&c), "vsock0", "its name stays");
	cr_assert(dev_vsock_hot_added(&c), "a hotplug-slot= vsock from now on");
	reload(&c, &again);
	const struct dev_vsock_cfg *v = device_cfg_find(&again, &device_vsock);
	cr_assert_eq(v->hotplug_slot, 6);
	cr_assert_str_eq(v->opts.id, "vsock0");
	cli_free(&again);
	cli_free(&c);
	vm_config_init(&c);
	cr_assert_eq(dev_vsock_pin(&c, 6), -EINVAL, "no vsock");
	cli_free(&c);
}

/* A boot pmem device after a removed boot device: its block keeps its slot and window (gpa=)
 * under its API id; a device that is not there is refused. */
Test(dev_hotplug_slot, a_boot_pmem_device_pinned)
{
	struct vm_config c;
	vm_config_init(&c);
	c.transport = TRANSPORT_PCI;
	cr_assert_eq(apply(&c, "pmem", "path=/p0.img"), 0);
	cr_assert_eq(apply(&c, "pmem", "path=/p1.img"), 0);
	int i = dev_pmem_find(&c, "pmem1");
	cr_assert_eq(i, 1);
	cr_assert_eq(dev_pmem_pin(&c, i, 8, 4297064448ull), 0);
	const struct dev_pmem_cfg *p = device_cfg_find(&c, &device_pmem);
	cr_assert_eq(p->dev[1].hotplug_slot, 8);
	cr_assert_eq(p->dev[1].gpa, 4297064448ull);
	cr_assert_str_eq(p->dev[1].opts.id, "pmem1", "its record's id=, as a hot-added one has");
	cr_assert_eq(p->dev[0].hotplug_slot, 0, "the other one untouched");
	cr_assert_eq(dev_pmem_pin(&c, 2, 8, 0), -EINVAL);
	cr_assert_eq(dev_pmem_pin(&c, 0, 32, 0), -EINVAL);
	cli_free(&c);
}

/* A boot shared folder after a removed boot device: kept in its slot under its API name (its
 * tag when it had no id=); its pinned record replays into the same share. */
Test(dev_hotplug_slot, a_boot_share_pinned)
{
	struct vm_config c, again;
	vm_config_init(&c);
	c.transport = TRANSPORT_PCI;
	cr_assert_eq(apply(&c, "fs", "tag=share,socket=/run/fs.sock"), 0);
	cr_assert_eq(dev_fs_find(&c, "share"), 0, "named by its tag");
	cr_assert_eq(dev_fs_pin(&c, 0, 3), 0);
	cr_assert_eq(dev_fs_find(&c, "share"), 0, "the same name");
	reload(&c, &again);
	const struct dev_fs_cfg *f = device_cfg_find(&again, &device_fs);
	cr_assert_eq(f->n, 1);
	cr_assert_eq(f->fs[0].hotplug_slot, 3);
	cr_assert_str_eq(f->fs[0].id, "share");
	cr_assert_eq(dev_fs_pin(&again, 1, 3), -EINVAL);
	cli_free(&again);
	cli_free(&c);
}

/* An rng and a balloon after a removed boot device keep their device numbers (docs/hotplug.md):
 * their records pinned without an id (one of each per VM), replayed into the same slots; a
 * slot on virtio-mmio or a bad one is refused; a PATCH of the balloon's target keeps it. */
Test(dev_hotplug_slot, an_rng_and_a_balloon_keep_their_slots)
{
	struct vm_config c, again;
	char err[256] = "";
	vm_config_init(&c);
	cr_assert_eq(apply(&c, "transport", "pci"), 0, "recorded: the replay has it too");
	cr_assert_eq(apply(&c, "rng", NULL), 0);
	cr_assert_eq(apply(&c, "balloon", "size=16"), 0);
	cr_assert_eq(apply(&c, "balloon", "size=32,deflate-on-oom=on"), 0, "the last one wins");
	((struct dev_rng_cfg *)device_cfg(&c, &device_rng))->hotplug_slot = 4; /* as a removal */
	((struct dev_balloon_cfg *)device_cfg(&c, &device_balloon))->hotplug_slot = 5;
	reload(&c, &again);
	const struct dev_rng_cfg *r = device_cfg_find(&again, &device_rng);
	const struct dev_balloon_cfg *b = device_cfg_find(&again, &device_balloon);
	cr_assert_eq(r->hotplug_slot, 4);
	cr_assert_eq(b->hotplug_slot, 5);
	cr_assert_eq(b->opts.target_mib, 32);
	cr_assert(b->opts.deflate_on_oom);
	cr_assert_eq(dev_balloon_live_record_target(&again, 8), 0);
	cr_assert_eq(b->opts.target_mib, 8);
	cr_assert_eq(b->hotplug_slot, 5, "the slot stays");
	cli_free(&again);
	cli_free(&c);

	vm_config_init(&c);
	c.transport = TRANSPORT_PCI;
	cr_assert_eq(apply(&c, "rng", "rate=100,hotplug-slot=3"), 0);
	cr_assert_eq(((const struct dev_rng_cfg *)device_cfg_find(&c, &device_rng))->hotplug_slot,
		     3);
	cr_assert_eq(apply(&c, "balloon", "size=1,hotplug-slot=0"), -EINVAL);
	cr_assert_eq(apply(&c, "balloon", "size=1,hotplug-slot=3,hotplug-slot=4"), -EINVAL);
	cli_free(&c);
	vm_config_init(&c);
	c.transport = TRANSPORT_MMIO;
	cr_assert_eq(cli_apply(&c, "rng", "hotplug-slot=3", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "--transport pci"), "%s", err);
	cr_assert_eq(cli_apply(&c, "balloon", "size=1,hotplug-slot=3", err, sizeof(err)), -EINVAL);
	cli_free(&c);
}

/* --console virtio's hvc0 keeps its slot as the rng does; the other kinds (COM1 only) and
 * virtio-mmio refuse the item; the last --console is in force, its slot with it. */
Test(dev_hotplug_slot, a_virtio_console_keeps_its_slot)
{
	struct vm_config c, again;
	char err[256] = "";
	vm_config_init(&c);
	cr_assert_eq(apply(&c, "transport", "pci"), 0);
	cr_assert_eq(apply(&c, "console", "virtio"), 0);
	((struct dev_console_cfg *)device_cfg(&c, &device_console))->hotplug_slot = 5;
	reload(&c, &again);
	struct dev_console_cfg k = dev_console_config(&again);
	cr_assert(k.virtio);
	cr_assert_eq(k.hotplug_slot, 5);
	cli_free(&again);
	cr_assert_eq(cli_apply(&c, "console", "stdio,hotplug-slot=5", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "only virtio"), "%s", err);
	cr_assert_eq(apply(&c, "console", "virtio,bw=100:10,hotplug-slot=6"), 0);
	cr_assert_eq(dev_console_config(&c).hotplug_slot, 6);
	cr_assert_eq(apply(&c, "console", "virtio"), 0);
	cr_assert_eq(dev_console_config(&c).hotplug_slot, 0, "the last one wins");
	cli_free(&c);
	vm_config_init(&c);
	cr_assert_eq(cli_apply(&c, "console", "virtio,hotplug-slot=5", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "--transport pci"), "%s", err);
	cli_free(&c);
}
