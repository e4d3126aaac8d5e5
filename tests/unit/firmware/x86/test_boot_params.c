#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>

#include "firmware/machine.h"
#include "firmware/x86/boot_params.h"
#include "firmware/x86/machine_x86.h"
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

TestSuite(boot_params, .init = setup, .fini = teardown);

static struct setup_header kernel_header(void)
{
	struct setup_header h = {0};

	h.setup_sects = 27;
	h.boot_flag = 0xAA55;
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020F;
	h.loadflags = LOADED_HIGH | KASLR_FLAG; /* junk the loader must not keep */
	h.type_of_loader = 0x12;
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7FFFFFFF;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64;
	h.cmdline_size = 2047;
	h.init_size = 0x1234000;
	return h;
}

static const struct boot_params *zero_page(void)
{
	return (const struct boot_params *)(ram + BOOT_PARAMS_ADDR);
}

Test(boot_params, layout_offsets)
{
	cr_assert_eq(sizeof(struct boot_params), 4096);
	cr_assert_eq(offsetof(struct boot_params, hdr), 0x1F1);
	cr_assert_eq(offsetof(struct boot_params, e820_entries), 0x1E8);
	cr_assert_eq(offsetof(struct boot_params, e820_table), 0x2D0);
}

Test(boot_params, fills_loader_fields)
{
	struct setup_header h = kernel_header();
	struct boot_params_info info = {
	    .cmdline_addr = BOOT_CMDLINE_ADDR, .initrd_addr = 0x3000000, .initrd_size = 0x12345};

	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), 0);
	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->hdr.type_of_loader, 0xFF);
	cr_assert_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	cr_assert_eq(bp->hdr.heap_end_ptr, 0xFE00);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp->ext_cmd_line_ptr, 0);
	cr_assert_eq(bp->hdr.ramdisk_image, 0x3000000);
	cr_assert_eq(bp->hdr.ramdisk_size, 0x12345);
	cr_assert_eq(bp->ext_ramdisk_image, 0);
	cr_assert_eq(bp->ext_ramdisk_size, 0);
	/* The kernel's own fields are kept. */
	cr_assert_eq(bp->hdr.setup_sects, 27);
	cr_assert_eq(bp->hdr.version, 0x020F);
	cr_assert_eq(bp->hdr.boot_flag, 0xAA55);
	cr_assert_eq(bp->hdr.init_size, 0x1234000);
	cr_assert_eq(bp->hdr.code32_start, 0x100000);
	/* Everything else zero, the sentinel byte at 0x1EF included. */
	cr_assert_eq(ram[BOOT_PARAMS_ADDR + 0x1EF], 0);
	cr_assert_eq(ram[BOOT_PARAMS_ADDR + 0], 0);
	cr_assert_eq(ram[BOOT_PARAMS_ADDR + 0xFFF], 0);
	cr_assert_eq(ram[BOOT_PARAMS_ADDR + 0x1000], FILL_BYTE, "nothing past the page");
}

Test(boot_params, clears_image_ramdisk_and_setup_data)
{
	struct setup_header h = kernel_header();
	struct boot_params_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};

	h.ramdisk_image = 0x4000000; /* stale values in the image file */
	h.ramdisk_size = 0x1000;
	h.setup_data = 0x8000;
	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), 0);
	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->hdr.ramdisk_image, 0);
	cr_assert_eq(bp->hdr.ramdisk_size, 0);
	cr_assert_eq(bp->hdr.setup_data, 0);
}

Test(boot_params, e820_table)
{
	struct setup_header h = kernel_header();
	struct boot_params_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};

	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), 0);
	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->e820_entries, 3);
	cr_assert_eq(bp->e820_table[0].addr, 0);
	cr_assert_eq(bp->e820_table[0].size, 0x9FC00);
	cr_assert_eq(bp->e820_table[0].type, E820_RAM);
	cr_assert_eq(bp->e820_table[1].addr, 0x9FC00);
	cr_assert_eq(bp->e820_table[1].type, E820_RESERVED);
	cr_assert_eq(bp->e820_table[2].addr, 0x100000);
	cr_assert_eq(bp->e820_table[2].size, FAKE_RAM_SIZE - 0x100000);
	cr_assert_eq(bp->e820_table[2].type, E820_RAM);
	cr_assert_eq(bp->hdr.ramdisk_image, 0, "no initrd");
	cr_assert_eq(bp->hdr.ramdisk_size, 0);
}

Test(boot_params, initrd_above_4g_uses_ext_fields)
{
	struct setup_header h = kernel_header();
	struct boot_params_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR,
					.initrd_addr = 0x123456000ULL,
					.initrd_size = 0x100001000ULL};

	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), -EINVAL,
		     "kernel without XLF_CAN_BE_LOADED_ABOVE_4G");
	h.xloadflags |= XLF_CAN_BE_LOADED_ABOVE_4G;
	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), 0);
	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->hdr.ramdisk_image, 0x23456000);
	cr_assert_eq(bp->ext_ramdisk_image, 1);
	cr_assert_eq(bp->hdr.ramdisk_size, 0x1000);
	cr_assert_eq(bp->ext_ramdisk_size, 1);
}

Test(boot_params, bad_inputs)
{
	struct setup_header h = kernel_header();
	struct boot_params_info info = {.cmdline_addr = 0x100000000ULL};

	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), -EINVAL);
	info = (struct boot_params_info){
	    .cmdline_addr = BOOT_CMDLINE_ADDR, .initrd_addr = UINT64_MAX - 10, .initrd_size = 100};
	cr_assert_eq(boot_params_write(&mem, &mach, BOOT_PARAMS_ADDR, &h, &info), -EINVAL,
		     "overflow");
	info.initrd_size = 0;
	cr_assert_eq(boot_params_write(&mem, &mach, FAKE_RAM_SIZE - 100, &h, &info), -EFAULT);
}
