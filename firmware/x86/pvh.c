/* PVH start info writer (see pvh.h for the ABI source). */
#include "firmware/x86/pvh.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "firmware/x86/machine_x86.h"

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry is 24 bytes");

static int write_memmap(struct guest_mem *mem, const struct machine *m, uint32_t *count)
{
	struct hvm_memmap_table_entry map[PVH_MEMMAP_MAX];
	int n = machine_pvh_memmap(m, map, (int)PVH_MEMMAP_MAX);

	if (n < 0) {
		log_error("pvh: memory map does not fit at %#llx", PVH_MEMMAP_ADDR);
		return n;
	}
	if (guest_mem_write(mem, PVH_MEMMAP_ADDR, map, (size_t)n * sizeof(map[0])))
		return -EFAULT;
	*count = (uint32_t)n;
	return 0;
}

static int write_modlist(struct guest_mem *mem, const struct pvh_info *info,
			 struct hvm_start_info *si)
{
	struct hvm_modlist_entry mods[2];
	uint32_t n = 0;

	if (info->initrd_size)
		mods[n++] = (struct hvm_modlist_entry){.paddr = info->initrd_addr,
						       .size = info->initrd_size};
	if (info->dtb_size)
		mods[n++] =
		    (struct hvm_modlist_entry){.paddr = info->dtb_addr, .size = info->dtb_size};
	if (n == 0)
		return 0;
	if (guest_mem_write(mem, PVH_MODLIST_ADDR, mods, n * sizeof(mods[0])))
		return -EFAULT;
	si->nr_modules = n;
	si->modlist_paddr = PVH_MODLIST_ADDR;
	return 0;
}

int pvh_write(struct guest_mem *mem, const struct machine *m, const struct pvh_info *info)
{
	struct hvm_start_info si = {.magic = XEN_HVM_START_MAGIC_VALUE,
				    .version = XEN_HVM_START_INFO_VERSION,
				    .cmdline_paddr = info->cmdline_addr,
				    .rsdp_paddr = m->rsdp, /* 0 without ACPI: no search either */
				    .memmap_paddr = PVH_MEMMAP_ADDR};
	int err = write_memmap(mem, m, &si.memmap_entries);

	if (!err)
		err = write_modlist(mem, info, &si);
	if (!err)
		err = guest_mem_write(mem, PVH_START_INFO_ADDR, &si, sizeof(si));
	if (err == -EFAULT)
		log_error("pvh: start info area [%#llx, %#llx) is not RAM", PVH_START_INFO_ADDR,
			  PVH_MODLIST_ADDR + 2 * sizeof(struct hvm_modlist_entry));
	return err;
}
