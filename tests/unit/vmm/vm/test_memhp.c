/* The VMM's side of virtio-mem (vmm/vm/memhp.c) and the guest-physical layout of memory beyond
 * RAM (base/layout.h), without KVM: a fake slot setter records the KVM memory slots. Plugging
 * adds the slots of the pieces a run touches and makes the blocks valid guest memory (device DMA
 * into them works); unplugging makes them invalid first, gives the pages back (they read zeros:
 * the guest never sees old contents) and deletes the slot of a piece left empty. Also: the region
 * under the real device model, a virtqueue buffer in plugged and in unplugged memory, and the
 * pmem file checks (vmm/vm/pmem_file.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/layout.h"
#include "vmm/vm/memhp.h"
#include "vmm/vm/pmem_file.h"

#define BASE GIB(4)

static struct guest_mem mem;
static struct memhp hp;
static uint8_t ram[64 << 10];

/* The fake KVM: the size each slot has now (0: absent), and a failure to give. */
static struct {
	uint64_t size[64], gpa[64];
	int calls, fail_at;
} kvm;

static int fake_set(void *opaque, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	(void)opaque;
	(void)host;
	kvm.calls++;
	if (kvm.fail_at && kvm.calls == kvm.fail_at)
		return -ENOSPC;
	cr_assert_lt(slot, 64);
	kvm.size[slot] = size;
	kvm.gpa[slot] = gpa;
	return 0;
}

static void setup(void)
{
	const struct memhp_region o = {MIB(512), MIB(2), MIB(128)};

	memset(&kvm, 0, sizeof(kvm));
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram, sizeof(ram)), 0);
	cr_assert_eq(memhp_init(&hp, &mem, BASE, &o, 16, &(struct memhp_slots){fake_set, NULL}), 0);
}

static void teardown(void)
{
	memhp_free(&hp);
	guest_mem_free(&mem);
}

TestSuite(memhp, .init = setup, .fini = teardown);

Test(memhp, starts_unplugged_and_without_slots)
{
	cr_assert_eq(kvm.calls, 0);
	cr_assert_not(guest_mem_valid(&mem, BASE, 1), "unplugged: not guest memory yet");
	cr_assert(guest_mem_valid(&mem, 0, sizeof(ram)), "RAM as before");
	cr_assert_eq(mem.ram_size, sizeof(ram), "the region is not RAM");
}

Test(memhp, plug_adds_the_slots_it_touches_and_makes_the_blocks_memory)
{
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(126), MIB(4)), 0);
	cr_assert_eq(kvm.calls, 2, "two 128 MiB pieces");
	cr_assert_eq(kvm.size[16], MIB(128));
	cr_assert_eq(kvm.gpa[16], BASE);
	cr_assert_eq(kvm.size[17], MIB(128));
	cr_assert_eq(kvm.gpa[17], BASE + MIB(128));
	cr_assert(guest_mem_valid(&mem, BASE + MIB(126), MIB(4)), "one range across the pieces");
	cr_assert_not(guest_mem_valid(&mem, BASE + MIB(125), MIB(2)), "half unplugged");
	cr_assert_not(guest_mem_valid(&mem, BASE + MIB(130), 1));
	uint8_t *p = guest_mem_ptr(&mem, BASE + MIB(127), 8);
	cr_assert_not_null(p);
	memcpy(p, "plugged", 8);
	uint8_t back[8];
	cr_assert_eq(guest_mem_read(&mem, BASE + MIB(127), back, 8), 0);
	cr_assert_str_eq((char *)back, "plugged");
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(100), MIB(2)), 0);
	cr_assert_eq(kvm.calls, 2, "the slot is there already");
}

Test(memhp, unplug_invalidates_releases_and_deletes_empty_slots)
{
	cr_assert_eq(memhp_plug(&hp, BASE, MIB(4)), 0);
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(128), MIB(2)), 0);
	memset(guest_mem_ptr(&mem, BASE, MIB(4)), 0x5a, MIB(4));
	uint8_t *host = guest_mem_ptr(&mem, BASE, 1);

	cr_assert_eq(memhp_unplug(&hp, BASE, MIB(2)), 0);
	cr_assert_not(guest_mem_valid(&mem, BASE, 1), "no device DMA into it any more");
	cr_assert(guest_mem_valid(&mem, BASE + MIB(2), MIB(2)));
	cr_assert_eq(host[0], 0, "the old contents are gone (the host has the page back)");
	cr_assert_eq(host[MIB(2)], 0x5a, "the neighbour keeps its data");
	cr_assert_eq(kvm.size[16], MIB(128), "the piece still has a plugged block");
	cr_assert_eq(memhp_unplug(&hp, BASE + MIB(2), MIB(2)), 0);
	cr_assert_eq(kvm.size[16], 0, "an empty piece leaves KVM");
	cr_assert_eq(kvm.size[17], MIB(128));
	cr_assert_eq(memhp_unplug(&hp, BASE + MIB(128), MIB(2)), 0);
	cr_assert_eq(kvm.size[17], 0);
}

Test(memhp, a_failed_slot_undoes_the_plug)
{
	kvm.fail_at = 2; /* the second piece cannot be added */
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(126), MIB(4)), -ENOSPC);
	cr_assert_eq(kvm.size[16], 0, "the first piece was taken back");
	cr_assert_not(guest_mem_valid(&mem, BASE + MIB(126), 1));
	kvm.fail_at = 0;
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(126), MIB(4)), 0, "a retry works");
}

Test(memhp, ranges_outside_the_region_or_not_in_blocks_are_refused)
{
	cr_assert_eq(memhp_plug(&hp, BASE - MIB(2), MIB(2)), -EINVAL);
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(512), MIB(2)), -EINVAL);
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(510), MIB(4)), -EINVAL);
	cr_assert_eq(memhp_plug(&hp, BASE + 4096, MIB(2)), -EINVAL);
	cr_assert_eq(memhp_plug(&hp, BASE, 4096), -EINVAL);
	cr_assert_eq(memhp_plug(&hp, BASE, 0), -EINVAL);
	cr_assert_eq(memhp_unplug(&hp, UINT64_MAX - MIB(1), MIB(2)), -EINVAL);
	cr_assert_eq(kvm.calls, 0);
}

Test(memhp, guest_mem_refuses_a_second_region_and_hostile_ranges)
{
	uint8_t other[4096];

	cr_assert_eq(guest_mem_hotplug_attach(&mem, GIB(8), other, MIB(2), MIB(2)), -EBUSY);
	cr_assert_eq(memhp_plug(&hp, BASE, MIB(2)), 0);
	cr_assert_not(guest_mem_valid(&mem, BASE + MIB(1), UINT64_MAX), "wraps");
	cr_assert_not(guest_mem_valid(&mem, BASE + MIB(2) - 1, 2), "runs into an unplugged block");
	cr_assert(guest_mem_valid(&mem, BASE + MIB(2) - 1, 1));
	cr_assert_not(guest_mem_valid(&mem, BASE + MIB(512), 0), "the end of the region");
	uint64_t idx;
	cr_assert_eq(guest_mem_page_index(&mem, BASE, &idx), -EFAULT,
		     "hotplug memory is not in the RAM numbering (dirty log, balloon)");
}

Test(memhp, layout_of_memory_beyond_ram)
{
	/* small guest: right above its RAM, slot-aligned */
	cr_assert_eq(layout_hotplug_base(MIB(256), GIB(1), MIB(128)), MIB(256));
	cr_assert_eq(layout_hotplug_base(MIB(200), GIB(1), MIB(128)), MIB(256));
	/* it would run into the hole: above 4 GiB */
	cr_assert_eq(layout_hotplug_base(GIB(2), GIB(2), MIB(128)), GIB(4));
	/* RAM reaches the hole: after the high RAM */
	cr_assert_eq(layout_hotplug_base(GIB(3), GIB(1), MIB(128)), GIB(4));
	cr_assert_eq(layout_hotplug_base(GIB(8), GIB(1), GIB(1)), GIB(9));
	cr_assert_eq(layout_hotplug_base(GIB(8), GIB(1024), MIB(128)), 0, "past 1 TiB");
	/* pmem windows: above 4 GiB, after RAM and the region, 2 MiB-aligned */
	cr_assert_eq(layout_pmem_start(MIB(256), 0, 0), GIB(4));
	cr_assert_eq(layout_pmem_start(MIB(256), MIB(256), GIB(1)), GIB(4));
	cr_assert_eq(layout_pmem_start(GIB(2), GIB(4), GIB(2)), GIB(6));
	cr_assert_eq(layout_pmem_start(GIB(8), 0, 0), GIB(9));
	cr_assert_eq(layout_pmem_start(GIB(3) + MIB(1), 0, 0), GIB(4) + MIB(2));
}

/* ---- pmem files ---- */

static int make_file(char *path, uint64_t size)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return 0;
}

Test(memhp, pmem_files_must_be_regular_and_whole_2mib)
{
	char ok[] = "/tmp/test_pmem_ok_XXXXXX", odd[] = "/tmp/test_pmem_odd_XXXXXX",
	     empty[] = "/tmp/test_pmem_empty_XXXXXX", err[512];
	struct pmem_file f;

	make_file(ok, MIB(4));
	make_file(odd, MIB(4) + 4096);
	make_file(empty, 0);
	cr_assert_eq(pmem_file_open(&f, ok, true, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.size, MIB(4));
	cr_assert_eq(pmem_file_map(&f), 0);
	cr_assert_eq(((uint8_t *)f.host)[0], 0);
	pmem_file_close(&f);
	cr_assert_eq(pmem_file_open(&f, odd, false, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "multiple of 2 MiB"), "%s", err);
	cr_assert_eq(pmem_file_open(&f, empty, false, err, sizeof(err)), -EINVAL);
	cr_assert_eq(pmem_file_open(&f, "/tmp", false, err, sizeof(err)), -EISDIR);
	cr_assert_eq(pmem_file_open(&f, "/dev/null", true, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	cr_assert_eq(pmem_file_open(&f, "/nonexistent/x", true, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/nonexistent/x"));
	unlink(ok);
	unlink(odd);
	unlink(empty);
}

Test(memhp, a_shrunk_pmem_file_is_not_guest_memory_for_the_vmm)
{
	char path[] = "/tmp/test_pmem_shrink_XXXXXX", err[512];
	struct pmem_file f;

	make_file(path, MIB(4));
	cr_assert_eq(pmem_file_open(&f, path, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pmem_file_map(&f), 0);
	cr_assert_eq(truncate(path, 0), 0); /* shrinks under the "VM" */
	/* The window is not guest memory for the device models: nothing the VMM does on a guest's
	 * behalf can touch the truncated pages (only KVM maps them, for the guest). */
	cr_assert_not(guest_mem_valid(&mem, layout_pmem_start(sizeof(ram), 0, 0), 1));
	pmem_file_close(&f);
	unlink(path);
}

/* ---- DMA kept in step (memhp_dma: a passed-through device's IOMMU, vmm/vm/vm_vfio.c) ---- */

static struct {
	uint64_t gpa[32], len[32];
	bool map[32];
	int n, fail_at;
} dma;

static int dma_map(void *opaque, uint64_t gpa, uint64_t len, void *host)
{
	(void)opaque;
	cr_assert_eq(host, hp.host + (gpa - BASE), "the block's own host pages");
	if (dma.fail_at && dma.n + 1 == dma.fail_at)
		return -ENOMEM;
	cr_assert_lt(dma.n, 32);
	dma.gpa[dma.n] = gpa, dma.len[dma.n] = len, dma.map[dma.n++] = true;
	return 0;
}

static int dma_unmap(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	cr_assert_lt(dma.n, 32);
	dma.gpa[dma.n] = gpa, dma.len[dma.n] = len, dma.map[dma.n++] = false;
	return 0;
}

static const struct memhp_dma listener = {dma_map, dma_unmap, NULL};

Test(memhp, dma_attach_maps_the_plugged_blocks_one_by_one)
{
	memset(&dma, 0, sizeof(dma));
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(4), MIB(4)), 0);
	cr_assert_eq(memhp_dma_attach(&hp, &listener), 0);
	cr_assert_eq(dma.n, 2, "two 2 MiB blocks, each its own map");
	cr_assert(dma.map[0] && dma.gpa[0] == BASE + MIB(4) && dma.len[0] == MIB(2));
	cr_assert(dma.map[1] && dma.gpa[1] == BASE + MIB(6));
	cr_assert_eq(memhp_dma_attach(&hp, &listener), -EBUSY, "one listener");
}

Test(memhp, dma_follows_plug_and_unplug)
{
	memset(&dma, 0, sizeof(dma));
	cr_assert_eq(memhp_dma_attach(&hp, &listener), 0);
	cr_assert_eq(dma.n, 0, "nothing plugged yet");
	cr_assert_eq(memhp_plug(&hp, BASE, MIB(6)), 0);
	cr_assert_eq(dma.n, 3, "mapped before the guest is told");
	/* the guest gives back the middle block of the run: exactly its map goes */
	cr_assert_eq(memhp_unplug(&hp, BASE + MIB(2), MIB(2)), 0);
	cr_assert_eq(dma.n, 4);
	cr_assert_not(dma.map[3]);
	cr_assert_eq(dma.gpa[3], BASE + MIB(2));
	cr_assert_eq(dma.len[3], MIB(2));
	memhp_dma_detach(&hp);
	cr_assert_eq(dma.n, 6, "the two blocks left unmapped");
	cr_assert(!dma.map[4] && !dma.map[5]);
	cr_assert_eq(memhp_plug(&hp, BASE + MIB(2), MIB(2)), 0);
	cr_assert_eq(dma.n, 6, "detached: nobody told");
}

Test(memhp, a_block_the_iommu_refuses_is_not_plugged)
{
	memset(&dma, 0, sizeof(dma));
	cr_assert_eq(memhp_dma_attach(&hp, &listener), 0);
	dma.fail_at = 2; /* the second block of the run */
	cr_assert_eq(memhp_plug(&hp, BASE, MIB(4)), -ENOMEM);
	cr_assert_eq(dma.n, 2, "the first block's map undone");
	cr_assert_not(dma.map[1]);
	cr_assert_not(guest_mem_valid(&mem, BASE, 1), "not guest memory");
	cr_assert_eq(kvm.size[16], 0, "its KVM slot gone again");
	dma.fail_at = 0;
	cr_assert_eq(memhp_plug(&hp, BASE, MIB(4)), 0, "a later plug works");
}
