#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>

#include "firmware/machine.h"
#include "firmware/x86/machine_x86.h"
#include "firmware/x86/pvh.h"
#include "tests/unit/fixtures/boot_fixtures.h"

static struct guest_mem mem;
static struct machine mach; /* the description of `mem`: its maps come from here */
static uint8_t *ram;

static void setup(void)
{
	ram = fake_mem_init(&mem, FAKE_RAM_SIZE);
	machine_init(&mach);
	machine_add_guest_ram(&mach, &mem);
}

static void teardown(void)
{
	free(ram);
}

TestSuite(pvh, .init = setup, .fini = teardown);

static const struct hvm_start_info *start_info(void)
{
	return (const struct hvm_start_info *)(ram + PVH_START_INFO_ADDR);
}

Test(pvh, abi_layout)
{
	/* Offsets from xen/include/public/arch-x86/hvm/start_info.h's diagram. */
	cr_assert_eq(offsetof(struct hvm_start_info, modlist_paddr), 16);
	cr_assert_eq(offsetof(struct hvm_start_info, cmdline_paddr), 24);
	cr_assert_eq(offsetof(struct hvm_start_info, rsdp_paddr), 32);
	cr_assert_eq(offsetof(struct hvm_start_info, memmap_paddr), 40);
	cr_assert_eq(offsetof(struct hvm_start_info, memmap_entries), 48);
	cr_assert_eq(sizeof(struct hvm_start_info), 56);
	cr_assert_eq(sizeof(struct hvm_modlist_entry), 32);
	cr_assert_eq(sizeof(struct hvm_memmap_table_entry), 24);
	cr_assert_eq(PVH_MEMMAP_MAX, 42);
}

Test(pvh, start_info_with_initrd)
{
	struct pvh_info info = {
	    .cmdline_addr = BOOT_CMDLINE_ADDR, .initrd_addr = 0x3F00000, .initrd_size = 0x54321};

	cr_assert_eq(pvh_write(&mem, &mach, &info), 0);
	const struct hvm_start_info *si = start_info();
	cr_assert_eq(si->magic, 0x336ec578);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->flags, 0);
	cr_assert_eq(si->nr_modules, 1);
	cr_assert_eq(si->modlist_paddr, PVH_MODLIST_ADDR);
	cr_assert_eq(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(si->rsdp_paddr, 0);
	cr_assert_eq(si->memmap_paddr, PVH_MEMMAP_ADDR);
	cr_assert_eq(si->memmap_entries, 3);
	cr_assert_eq(si->reserved, 0);

	const struct hvm_modlist_entry *mod = (const void *)(ram + PVH_MODLIST_ADDR);
	cr_assert_eq(mod->paddr, 0x3F00000);
	cr_assert_eq(mod->size, 0x54321);
	cr_assert_eq(mod->cmdline_paddr, 0);
	cr_assert_eq(mod->reserved, 0);

	const struct hvm_memmap_table_entry *m = (const void *)(ram + PVH_MEMMAP_ADDR);
	cr_assert_eq(m[0].addr, 0);
	cr_assert_eq(m[0].size, 0x9FC00);
	cr_assert_eq(m[0].type, E820_RAM);
	cr_assert_eq(m[1].addr, 0x9FC00);
	cr_assert_eq(m[1].size, 0x60400);
	cr_assert_eq(m[1].type, E820_RESERVED);
	cr_assert_eq(m[2].addr, 0x100000);
	cr_assert_eq(m[2].size, FAKE_RAM_SIZE - 0x100000);
	cr_assert_eq(m[2].type, E820_RAM);
	cr_assert_eq(m[2].reserved, 0);
	cr_assert_eq(ram[PVH_MEMMAP_ADDR + 3 * 24], FILL_BYTE, "only 3 entries written");
}

Test(pvh, no_initrd_no_modules)
{
	struct pvh_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};

	cr_assert_eq(pvh_write(&mem, &mach, &info), 0);
	cr_assert_eq(start_info()->nr_modules, 0);
	cr_assert_eq(start_info()->modlist_paddr, 0);
	cr_assert_eq(ram[PVH_MODLIST_ADDR], FILL_BYTE);
}

Test(pvh, low_memory_missing)
{
	struct guest_mem high = {0};

	cr_assert_eq(guest_mem_add_region(&high, 0x100000, ram, MIB(16)), 0);
	struct pvh_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	cr_assert_eq(pvh_write(&high, &mach, &info), -EFAULT);
}
