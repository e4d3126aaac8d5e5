/* Xen PVH boot ABI: the start-of-day structures a PVH kernel finds through %ebx.
 *
 * Layouts from xen/include/public/arch-x86/hvm/start_info.h (version 1) and Xen's
 * docs/misc/pvh.pandoc; they are not in any Linux UAPI header. */
#ifndef FIRMWARE_PVH_H
#define FIRMWARE_PVH_H

#include <stdint.h>

#include "base/guest_mem.h"
#include "base/layout.h"

#define XEN_HVM_START_MAGIC_VALUE  0x336ec578
#define XEN_HVM_START_INFO_VERSION 1

/* start_info.h: "struct hvm_start_info", 56 bytes in version 1. */
struct hvm_start_info {
	uint32_t magic;		 /* XEN_HVM_START_MAGIC_VALUE */
	uint32_t version;	 /* 1: the memmap fields below are present */
	uint32_t flags;		 /* SIF_xxx flags */
	uint32_t nr_modules;	 /* entries at modlist_paddr */
	uint64_t modlist_paddr;	 /* struct hvm_modlist_entry[] */
	uint64_t cmdline_paddr;	 /* NUL-terminated command line, 0 if none */
	uint64_t rsdp_paddr;	 /* ACPI RSDP, 0: find it the legacy way */
	uint64_t memmap_paddr;	 /* struct hvm_memmap_table_entry[] (version 1) */
	uint32_t memmap_entries; /* (version 1) */
	uint32_t reserved;	 /* must be zero */
};

/* start_info.h: "struct hvm_modlist_entry", 32 bytes. */
struct hvm_modlist_entry {
	uint64_t paddr;		/* module start */
	uint64_t size;		/* module size in bytes */
	uint64_t cmdline_paddr; /* module command line, 0 if none */
	uint64_t reserved;
};

/* start_info.h: "struct hvm_memmap_table_entry", 24 bytes; types are the e820 ones
 * (XEN_HVM_MEMMAP_TYPE_RAM = 1, ..._RESERVED = 2, ...). */
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

struct pvh_info {
	uint64_t cmdline_addr; /* 0: no command line */
	uint64_t initrd_addr;  /* module 0 when initrd_size != 0 */
	uint64_t initrd_size;
	uint64_t dtb_addr; /* the next module (1, or 0 without an initrd) when dtb_size != 0 */
	uint64_t dtb_size;
};

/* Memmap entries that fit between PVH_MEMMAP_ADDR and PVH_MODLIST_ADDR. */
#define PVH_MEMMAP_MAX                                                                             \
	((PVH_MODLIST_ADDR - PVH_MEMMAP_ADDR) / sizeof(struct hvm_memmap_table_entry))

struct machine;

/* Writes hvm_start_info at PVH_START_INFO_ADDR, the memory map of machine `m`
 * (machine_pvh_memmap()) at PVH_MEMMAP_ADDR and
 * the module list at PVH_MODLIST_ADDR: the initrd (if any), then the device tree (if any; it is
 * module 1 after an initrd, module 0 without one, see firmware/fdt.h). Returns 0, -ENOSPC (map too
 * long) or -EFAULT (those addresses not RAM). */
int pvh_write(struct guest_mem *mem, const struct machine *m, const struct pvh_info *info);

#endif
