/* The guest's physical memory map (e820), built from the guest_mem regions.
 *
 * One table serves both boot paths: the Linux zero page (boot_params.e820_table) and the PVH
 * memmap (hvm_memmap_table_entry uses the same type numbers). */
#ifndef FIRMWARE_E820_H
#define FIRMWARE_E820_H

#include <asm/bootparam.h> /* struct boot_e820_entry, E820_MAX_ENTRIES_ZEROPAGE */
#include <asm/e820.h>	   /* E820_RAM, E820_RESERVED */

#include "vmm/guest_mem.h"

/* Fills `out` (room for `max` entries) with the map of `mem`, sorted by address and
 * non-overlapping:
 *   - RAM below EBDA_START (0x9FC00) usable;
 *   - [EBDA_START, 1 MiB) reserved (MP table in the EBDA, VGA hole, BIOS area), always listed;
 *   - the rest of every RAM region usable (low RAM from 1 MiB, high RAM from 4 GiB).
 * The MMIO hole is not listed (not RAM). Returns the number of entries, or -ENOSPC when `max`
 * is too small, -EINVAL for a NULL argument. */
int e820_build(const struct guest_mem *mem, struct boot_e820_entry *out, int max);

#endif
