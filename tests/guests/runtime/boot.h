/* What the boot hands the guest, whatever the architecture: the command line, which memory is
 * RAM, the device tree. x86 (x86/platform.c) reads them from the PVH start_info (pvh.h); arm64
 * (aarch64/boot.c) from the device tree whose address x0 held at entry. */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdt.h"

/* The command line, or "" when none was given. */
const char *boot_cmdline(void);
/* [start, start + len) lies inside one RAM range. */
bool boot_is_ram(uint64_t start, uint64_t len);
/* Where the guest's RAM begins: 0 on x86, the start of the RAM range the image is in on arm64
 * (our VMM's 2 GiB, QEMU virt's 1 GiB). */
uint64_t boot_ram_base(void);
/* Where the VMM keeps the VM generation ID (16 bytes, new after every restore): x86 0xA0000
 * (our VMM's ACPI layout), arm64 the device tree's microsoft,vmgenid node; 0: none. */
uint64_t boot_vmgenid(void);
/* The end of the RAM range the image is in, or where the boot's data at its top begins (the
 * guest uses nothing near it: the hostile guest's devices may write the last bytes below). */
uint64_t boot_ram_top(void);
/* Opens the device tree the VMM gave the guest. Returns 0 or -1 (none, or not a DTB). */
int boot_dt(struct dt *t);

/* Command-line words (cmdline.c) are separated by spaces; "key=value" or a bare "flag". */
bool cmdline_has(const char *key);
/* Copies the value of key=value into buf (NUL-terminated, truncated); false if absent. */
bool cmdline_get_str(const char *key, char *buf, size_t len);
/* Parses key=N: decimal or 0x hex, optional K/M/G suffix (binary units). False if absent or
 * malformed. */
bool cmdline_get_u64(const char *key, uint64_t *val);

#endif
