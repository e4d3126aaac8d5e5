/* Plugged virtio-mem memory through a snapshot, without KVM: two "machines" (guest RAM from
 * guest_mem, the hotplug region of vmm/vm/memhp.c with a fake KVM slot setter, the real
 * virtio-mem device model as its user). Machine A gets blocks plugged (by restoring a device
 * state made here, which plugs through the same backend a driver's PLUG does) and written; its
 * memory file (vmm/snapshot/format/snap_mem.h) and device state go into a fresh machine B the way
 * snapshot_restore() does it: RAM mapped from the file, the device state restored (blocks plugged
 * again, KVM slots added), then snap_memhp_load(). The same bytes are read in the plugged
 * blocks; unplugged blocks are neither guest memory nor filled from the file. Also: the file's
 * size rules, a file too short for the plugged blocks, and Diff snapshots refused while blocks
 * are plugged. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/layout.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/mem/mem.h"
#include "vmm/snapshot/format/snap_mem.h"
#include "vmm/vm/memhp.h"

#define RAM    MIB(1)
#define BASE   GIB(4)
#define REGION MIB(256)
#define BLOCK  MIB(2)
#define SLOT   MIB(128)

static const struct virtio_mem_opts opts = {REGION, BLOCK, SLOT, 0};

/* One machine: RAM, the region, the device, and what its fake KVM was told. */
struct machine {
	struct guest_mem mem;
	struct memhp hp;
	struct virtio_dev *dev;
	uint64_t slot_size[64];
};

static struct machine a, b;
static char dir[] = "/tmp/test_snapshot_memhp.XXXXXX", path[128];
static char err[512];

static int fake_set(void *opaque, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	struct machine *m = opaque;

	(void)gpa;
	(void)host;
	cr_assert_lt(slot, 64);
	m->slot_size[slot] = size;
	return 0;
}

/* A machine whose RAM is fresh (fd < 0) or mapped from a memory file. */
static void boot(struct machine *m, int fd)
{
	memset(m, 0, sizeof(*m));
	if (fd < 0)
		cr_assert_eq(guest_mem_alloc(&m->mem, RAM), 0);
	else
		cr_assert_eq(guest_mem_map_file(&m->mem, RAM, fd), 0);
	cr_assert_eq(memhp_init(&m->hp, &m->mem, BASE, &(struct memhp_region){REGION, BLOCK, SLOT},
				16, &(struct memhp_slots){fake_set, m}),
		     0);
	cr_assert_eq(
	    virtio_mem_create(&m->dev, &opts, BASE,
			      &(struct virtio_mem_backend){memhp_plug, memhp_unplug, &m->hp}),
	    0);
	cr_assert_eq(virtio_dev_init(m->dev, &m->mem), 0);
}

static void halt(struct machine *m)
{
	if (m->dev) {
		virtio_dev_destroy(m->dev);
		free(m->dev);
	}
	memhp_free(&m->hp);
	guest_mem_free(&m->mem);
	memset(m, 0, sizeof(*m));
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/memory", dir);
	boot(&a, -1);
}

static void teardown(void)
{
	halt(&a);
	halt(&b);
	unlink(path);
	rmdir(dir);
}

TestSuite(snapshot_memhp, .init = setup, .fini = teardown);

/* virtio/mem/snapshot.c's state: the geometry, usable/plugged/requested bytes, the bitmap. */
struct vmem_state {
	uint64_t addr, region_size, block_size, slot_size, usable, plugged, requested, nblocks;
	uint64_t bits[2];
};

/* Plugs blocks 0, 1 and 70 of `m` (two runs, both 128 MiB KVM slots) through its device. */
static void plug_three(struct machine *m)
{
	struct vmem_state st = {BASE,	  REGION,	  BLOCK,	   SLOT, REGION, 3 * BLOCK,
				MIB(128), REGION / BLOCK, {0x3, 1ull << 6}};

	cr_assert_eq(m->dev->ops->save_size(m->dev), sizeof(st));
	cr_assert_eq(m->dev->ops->restore(m->dev, &st, sizeof(st)), 0);
	cr_assert_eq(m->slot_size[16], SLOT);
	cr_assert_eq(m->slot_size[17], SLOT);
}

static uint64_t blk(uint64_t i)
{
	return BASE + i * BLOCK;
}

static const char ram_bytes[] = "boot RAM", b0[] = "block 0, first page",
		  b1[] = "block 1, last page", b70[] = "block 70, in the second slot";

static void write_a(void)
{
	cr_assert_eq(guest_mem_write(&a.mem, 0x1000, ram_bytes, sizeof(ram_bytes)), 0);
	cr_assert_eq(guest_mem_write(&a.mem, blk(0), b0, sizeof(b0)), 0);
	cr_assert_eq(guest_mem_write(&a.mem, blk(2) - 4096, b1, sizeof(b1)), 0);
	cr_assert_eq(guest_mem_write(&a.mem, blk(70) + MIB(1), b70, sizeof(b70)), 0);
	cr_assert_eq(guest_mem_write(&a.mem, blk(2), "x", 1), -EFAULT, "block 2 is unplugged");
}

/* A's device state, then machine B booted from the memory file with it restored. Returns the
 * memory file's descriptor (open until the test ends). */
static int restore_b(void)
{
	static uint8_t state[sizeof(struct vmem_state)];
	size_t len;
	int fd;

	cr_assert_eq(a.dev->ops->save(a.dev, state, sizeof(state), &len), 0);
	cr_assert_eq(snap_mem_open(path, RAM, REGION, &fd, err, sizeof(err)), 0, "%s", err);
	boot(&b, fd);
	cr_assert_eq(b.dev->ops->restore(b.dev, state, len), 0);
	return fd;
}

static void read_expect(const struct guest_mem *mem, uint64_t gpa, const char *want, size_t len)
{
	char got[64];

	cr_assert_eq(guest_mem_read(mem, gpa, got, len), 0);
	cr_assert_arr_eq(got, want, len);
}

Test(snapshot_memhp, a_full_snapshot_carries_the_plugged_blocks_bytes)
{
	struct stat st;

	plug_three(&a);
	write_a();
	cr_assert_eq(snap_mem_save(&a.mem, path, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, RAM + REGION, "RAM, then the whole region");
	cr_assert_lt((uint64_t)st.st_blocks * 512, MIB(1), "sparse: only written pages");

	int fd = restore_b();
	cr_assert_eq(b.slot_size[16], SLOT, "the KVM slots of the plugged pieces are back");
	cr_assert_eq(b.slot_size[17], SLOT);
	cr_assert_eq(b.slot_size[18], 0);
	cr_assert(guest_mem_valid(&b.mem, blk(0), 1), "plugged again by the device's restore");
	cr_assert_eq(b.hp.host[0], 0, "but not filled yet");
	cr_assert_eq(snap_memhp_load(&b.mem, fd, err, sizeof(err)), 0, "%s", err);
	read_expect(&b.mem, 0x1000, ram_bytes, sizeof(ram_bytes));
	read_expect(&b.mem, blk(0), b0, sizeof(b0));
	read_expect(&b.mem, blk(2) - 4096, b1, sizeof(b1));
	read_expect(&b.mem, blk(70) + MIB(1), b70, sizeof(b70));
	cr_assert_not(guest_mem_valid(&b.mem, blk(2), 1), "unplugged blocks stay unreadable");
	cr_assert_not(guest_mem_valid(&b.mem, blk(69), 1));
	close(fd);
}

Test(snapshot_memhp, unplugged_blocks_are_never_filled_from_the_file)
{
	static const char stale[] = "stale bytes of a block unplugged since";

	plug_three(&a);
	write_a();
	cr_assert_eq(snap_mem_save(&a.mem, path, NULL, err, sizeof(err)), 0, "%s", err);
	/* as a file copied from an older snapshot could have them */
	int w = open(path, O_WRONLY);
	cr_assert_eq(pwrite(w, stale, sizeof(stale), (off_t)(RAM + 5 * BLOCK)), sizeof(stale));
	cr_assert_eq(pwrite(w, stale, sizeof(stale), (off_t)(RAM + 3 * BLOCK - 64)), sizeof(stale));
	close(w);

	int fd = restore_b();
	cr_assert_eq(snap_memhp_load(&b.mem, fd, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < sizeof(stale); i++) {
		cr_assert_eq(b.hp.host[5 * BLOCK + i], 0, "block 5 left as it was");
		cr_assert_eq(b.hp.host[3 * BLOCK - 64 + i], 0, "block 2 left as it was");
	}
	close(fd);
}

Test(snapshot_memhp, nothing_plugged_keeps_the_old_layout)
{
	struct stat st;
	int fd;

	cr_assert_eq(snap_mem_save(&a.mem, path, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, RAM, "RAM alone: older VMMs load it");
	cr_assert_eq(snap_mem_open(path, RAM, REGION, &fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_memhp_load(&a.mem, fd, err, sizeof(err)), 0, "nothing to read");
	close(fd);
	cr_assert_eq(truncate(path, (off_t)(RAM + REGION)), 0);
	cr_assert_eq(snap_mem_open(path, RAM, REGION, &fd, err, sizeof(err)), 0, "%s", err);
	close(fd);
	cr_assert_eq(snap_mem_open(path, RAM, 0, &fd, err, sizeof(err)), -EINVAL,
		     "no region in the VM: RAM alone");
	cr_assert_eq(truncate(path, (off_t)(RAM + REGION - 4096)), 0);
	cr_assert_eq(snap_mem_open(path, RAM, REGION, &fd, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "hotplug region"), "%s", err);
}

Test(snapshot_memhp, a_file_too_short_for_the_plugged_blocks_is_refused)
{
	plug_three(&a);
	write_a();
	cr_assert_eq(snap_mem_save(&a.mem, path, NULL, err, sizeof(err)), 0, "%s", err);
	int fd = restore_b();
	cr_assert_eq(ftruncate(fd, (off_t)RAM), -1, "read-only");
	close(fd);
	cr_assert_eq(truncate(path, (off_t)RAM), 0); /* a hostile or damaged file */
	fd = open(path, O_RDONLY);
	err[0] = 0;
	cr_assert_eq(snap_memhp_load(&b.mem, fd, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "6 MiB of plugged hotplug memory"), "%s", err);
	close(fd);
}

Test(snapshot_memhp, diff_snapshots_are_refused_while_blocks_are_plugged)
{
	uint64_t dirty[RAM / 4096 / 64] = {0};

	cr_assert_eq(snap_mem_save(&a.mem, path, NULL, err, sizeof(err)), 0, "%s", err);
	plug_three(&a);
	cr_assert_eq(snap_mem_save(&a.mem, path, dirty, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "6 MiB of hotplugged"), "%s", err);
	cr_assert_eq(snap_mem_save(&a.mem, path, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memhp_unplug(&a.hp, blk(0), 2 * BLOCK), 0);
	cr_assert_eq(memhp_unplug(&a.hp, blk(70), BLOCK), 0);
	dirty[0] = 1;
	cr_assert_eq(snap_mem_save(&a.mem, path, dirty, err, sizeof(err)), 0,
		     "onto a full one with the region: %s", err);
}
