/* Hands the Linux zero page to the PVH-based runtime: its command line, e820 map and initrd are
 * described in a struct hvm_start_info, so runtime_main() and its helpers (cmdline_get_*,
 * pvh_memmap, pvh_modules) work unchanged. The checks themselves use the zero page directly. */
#include "bzimage.h"

#include "guest.h"

#define REACHABLE_LIMIT 0x100000000ULL /* the runtime maps the first 4 GiB */

_Noreturn void runtime_main(uint32_t start_info_paddr);

static const struct boot_params *zero_page;
static struct hvm_start_info start_info;
static struct hvm_memmap_table_entry memmap[E820_MAX_ENTRIES_ZEROPAGE];
static struct hvm_modlist_entry initrd;

const struct boot_params *bz_boot_params(void)
{
	return zero_page;
}

static void describe_memmap(const struct boot_params *bp)
{
	uint32_t n = bp->e820_entries;

	if (n > E820_MAX_ENTRIES_ZEROPAGE)
		n = E820_MAX_ENTRIES_ZEROPAGE; /* bzimage_check reports the bad count */
	for (uint32_t i = 0; i < n; i++)
		memmap[i] = (struct hvm_memmap_table_entry){
		    .addr = bp->e820_table[i].addr,
		    .size = bp->e820_table[i].size,
		    .type = bp->e820_table[i].type,
		};
	start_info.memmap_paddr = (uintptr_t)memmap;
	start_info.memmap_entries = n;
}

static void describe_initrd(const struct boot_params *bp)
{
	if (!bp->hdr.ramdisk_size && !bp->ext_ramdisk_size)
		return;
	initrd.paddr = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	initrd.size = bp->hdr.ramdisk_size | (uint64_t)bp->ext_ramdisk_size << 32;
	start_info.nr_modules = 1;
	start_info.modlist_paddr = (uintptr_t)&initrd;
}

void bz_start(uint64_t paddr)
{
	/* Read nothing through an address we cannot reach: the fault would come before the IDT. */
	if (paddr && paddr < REACHABLE_LIMIT - sizeof(struct boot_params)) {
		zero_page = phys_ptr(paddr);
		start_info.cmdline_paddr =
		    zero_page->hdr.cmd_line_ptr | (uint64_t)zero_page->ext_cmd_line_ptr << 32;
		describe_memmap(zero_page);
		describe_initrd(zero_page);
	}
	start_info.magic = HVM_START_MAGIC_VALUE;
	start_info.version = 1;
	runtime_main((uint32_t)(uintptr_t)&start_info);
}
