/* The PVH start-of-day structure (x86); the command line's words are boot.h's.
 *
 * Layout from Xen's xen/include/public/arch-x86/hvm/start_info.h (version 1): all addresses are
 * guest-physical, 0 means absent. Only structures below 4 GiB are reachable (identity map). */
#ifndef GUEST_PVH_H
#define GUEST_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "fdt.h"

#define HVM_START_MAGIC_VALUE 0x336ec578

struct hvm_start_info {
	uint32_t magic;	  /* HVM_START_MAGIC_VALUE */
	uint32_t version; /* 0: up to rsdp_paddr; 1: adds the memory map */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr; /* struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr; /* NUL-terminated ASCII */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* struct hvm_memmap_table_entry[memmap_entries], version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* Types as in the E820 / ACPI address range types (start_info.h XEN_HVM_MEMMAP_TYPE_*). */
#define HVM_MEMMAP_TYPE_RAM	 1
#define HVM_MEMMAP_TYPE_RESERVED 2
#define HVM_MEMMAP_TYPE_ACPI	 3
#define HVM_MEMMAP_TYPE_NVS	 4
#define HVM_MEMMAP_TYPE_UNUSABLE 5
#define HVM_MEMMAP_TYPE_DISABLED 6
#define HVM_MEMMAP_TYPE_PMEM	 7

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Validates the structure at `paddr` (magic, reachable); returns 0 or -1 with a message. */
int pvh_init(uint32_t paddr);
const struct hvm_start_info *pvh_start_info(void);
/* The command line, or "" when none was given. */
const char *pvh_cmdline(void);
/* The memory map, or NULL (count 0) when absent (version 0 or address 0). */
const struct hvm_memmap_table_entry *pvh_memmap(uint32_t *count);
/* [start, start + len) lies inside one RAM entry of the memory map. */
bool pvh_is_ram(uint64_t start, uint64_t len);
const struct hvm_modlist_entry *pvh_modules(uint32_t *count);

/* Opens the PVH module that holds the device tree our VMM passes (firmware/fdt.h): module 1
 * after an initrd, module 0 without one (*module gets which). Returns 0 or -1 (none, or not a
 * DTB). */
int dt_from_pvh(struct dt *t, unsigned *module);

#endif
