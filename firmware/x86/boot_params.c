/* Zero page writer, following Documentation/arch/x86/boot.rst ("The Real-Mode Kernel Header",
 * "Details of Header Fields" and "64-bit Boot Protocol"). */
#include "firmware/x86/boot_params.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "firmware/x86/machine_x86.h"

#define LOADER_TYPE_UNDEFINED 0xFF /* boot.rst: "0xFF if no assigned ID" */

static int set_initrd(struct setup_header *hdr, struct boot_params *bp,
		      const struct boot_params_info *info)
{
	uint64_t end;

	if (info->initrd_size == 0)
		return 0;
	if (__builtin_add_overflow(info->initrd_addr, info->initrd_size, &end)) {
		log_error("boot_params: initrd [%#llx, +%#llx) overflows",
			  (unsigned long long)info->initrd_addr,
			  (unsigned long long)info->initrd_size);
		return -EINVAL;
	}
	/* Above 4 GiB needs ext_ramdisk_image (2.12+) and the kernel's consent. */
	if (end - 1 > 0xFFFFFFFFULL && !(hdr->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)) {
		log_error("boot_params: initrd above 4 GiB but the kernel lacks "
			  "XLF_CAN_BE_LOADED_ABOVE_4G");
		return -EINVAL;
	}
	hdr->ramdisk_image = (uint32_t)info->initrd_addr;
	hdr->ramdisk_size = (uint32_t)info->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(info->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(info->initrd_size >> 32);
	return 0;
}

static int set_e820(const struct machine *m, struct boot_params *bp)
{
	int n = machine_e820(m, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);

	if (n < 0) {
		log_error("boot_params: e820 map does not fit in the zero page");
		return n;
	}
	bp->e820_entries = (uint8_t)n;
	return 0;
}

int boot_params_write(struct guest_mem *mem, const struct machine *m, uint64_t addr,
		      const struct setup_header *hdr, const struct boot_params_info *info)
{
	struct boot_params *bp = guest_mem_ptr(mem, addr, sizeof(*bp));
	int err;

	if (!bp) {
		log_error("boot_params: zero page at %#llx is not RAM", (unsigned long long)addr);
		return -EFAULT;
	}
	if (info->cmdline_addr > 0xFFFFFFFFULL) {
		log_error("boot_params: command line above 4 GiB");
		return -EINVAL;
	}
	memset(bp, 0, sizeof(*bp));
	bp->hdr = *hdr;
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	/* LOADED_HIGH: the protected-mode kernel is at 1 MiB (bzImage). CAN_USE_HEAP with
	 * heap_end_ptr: what a real-mode entry would expect; harmless for the 64-bit entry.
	 * KEEP_SEGMENTS stays clear: only the 32-bit entry looks at it, and kernels since 5.x
	 * ignore it altogether. */
	bp->hdr.loadflags = LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = BOOT_PARAMS_HEAP_END;
	bp->hdr.cmd_line_ptr = (uint32_t)info->cmdline_addr;
	bp->ext_cmd_line_ptr = 0;
	/* Loader-owned fields the image file may hold stale values in: ramdisk_* are "write
	 * (obligatory)", zero without an initrd (set_initrd fills them otherwise); setup_data is
	 * "write (special)": the loader's list (a SETUP_DTB entry) or none. */
	bp->hdr.ramdisk_image = 0;
	bp->hdr.ramdisk_size = 0;
	bp->hdr.setup_data = info->setup_data;
	/* boot.rst "acpi_rsdp_addr" (protocol 2.14): the kernel need not scan for the RSDP. */
	bp->acpi_rsdp_addr = m->rsdp;
	err = set_initrd(&bp->hdr, bp, info);
	if (!err)
		err = set_e820(m, bp);
	return err;
}
