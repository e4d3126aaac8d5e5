#include <criterion/criterion.h>
#include <errno.h>

#include "base/layout.h"
#include "firmware/machine.h"
#include "firmware/x86/machine_x86.h"

/* The e820 map of a machine whose RAM is `mem`'s regions (what the VM describes). The generator
 * never touches guest memory, so regions can describe more RAM than the test has: any non-NULL
 * host pointer does. */
static char dummy;

static int e820_of(const struct guest_mem *mem, struct boot_e820_entry *out, int max)
{
	static struct machine m;

	if (!mem)
		return machine_e820(NULL, out, max);
	machine_init(&m);
	cr_assert_eq(machine_add_guest_ram(&m, mem), 0);
	return machine_e820(&m, out, max);
}

static struct guest_mem mem_with(uint64_t low, uint64_t high)
{
	struct guest_mem m = {0};

	cr_assert_eq(guest_mem_add_region(&m, 0, &dummy, low), 0);
	if (high)
		cr_assert_eq(guest_mem_add_region(&m, HIGH_RAM_START, &dummy, high), 0);
	return m;
}

static void assert_entry(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
			 uint32_t type)
{
	cr_assert_eq(e->addr, addr, "addr %#llx, want %#llx", (unsigned long long)e->addr,
		     (unsigned long long)addr);
	cr_assert_eq(e->size, size, "size %#llx, want %#llx", (unsigned long long)e->size,
		     (unsigned long long)size);
	cr_assert_eq(e->type, type);
}

Test(e820, low_ram_only)
{
	struct guest_mem m = mem_with(MIB(64), 0);
	struct boot_e820_entry e[8];

	cr_assert_eq(e820_of(&m, e, 8), 3);
	assert_entry(&e[0], 0, 0x9FC00, E820_RAM);
	assert_entry(&e[1], 0x9FC00, 0x100000 - 0x9FC00, E820_RESERVED);
	assert_entry(&e[2], 0x100000, MIB(63), E820_RAM);
}

Test(e820, low_and_high_ram_skip_the_hole)
{
	struct guest_mem m = mem_with(MMIO_HOLE_START, GIB(1));
	struct boot_e820_entry e[8];

	cr_assert_eq(e820_of(&m, e, 8), 4);
	assert_entry(&e[0], 0, 0x9FC00, E820_RAM);
	assert_entry(&e[1], 0x9FC00, 0x60400, E820_RESERVED);
	assert_entry(&e[2], 0x100000, MMIO_HOLE_START - 0x100000, E820_RAM);
	assert_entry(&e[3], HIGH_RAM_START, GIB(1), E820_RAM);
}

Test(e820, sorted_and_non_overlapping)
{
	struct guest_mem m = mem_with(MMIO_HOLE_START, GIB(3));
	struct boot_e820_entry e[8];
	int n = e820_of(&m, e, 8);

	cr_assert_eq(n, 4);
	for (int i = 1; i < n; i++)
		cr_assert_leq(e[i - 1].addr + e[i - 1].size, e[i].addr, "entry %d overlaps", i);
}

Test(e820, ram_smaller_than_base_memory)
{
	struct guest_mem m = mem_with(KIB(512), 0);
	struct boot_e820_entry e[8];

	cr_assert_eq(e820_of(&m, e, 8), 2);
	assert_entry(&e[0], 0, KIB(512), E820_RAM);
	assert_entry(&e[1], 0x9FC00, 0x60400, E820_RESERVED);
}

Test(e820, too_small_a_table)
{
	struct guest_mem m = mem_with(MMIO_HOLE_START, GIB(1));
	struct boot_e820_entry e[4];

	cr_assert_eq(e820_of(&m, e, 3), -ENOSPC);
	cr_assert_eq(e820_of(&m, e, 0), -ENOSPC);
	cr_assert_eq(e820_of(&m, e, 4), 4);
	cr_assert_eq(e820_of(NULL, e, 4), -EINVAL);
}
