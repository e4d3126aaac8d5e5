/* The standard items a firmware reads from fw_cfg, from plain values (no machine description
 * type here: fw_cfg stands on base/ only). */
#ifndef DEVICES_FW_CFG_MACHINE_H
#define DEVICES_FW_CFG_MACHINE_H

#include <stdint.h>

#include "devices/fw_cfg/fw_cfg.h"

/* One entry of `etc/e820`: 20 bytes, little-endian, packed (QEMU's struct e820_entry). */
struct fw_cfg_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 RAM, 2 reserved, 3 ACPI, 4 NVS */
};
#define FW_CFG_E820_ENTRY_SIZE 20

/* FW_CFG_NB_CPUS, FW_CFG_MAX_CPUS (u16), FW_CFG_RAM_SIZE (u64 bytes), FW_CFG_BOOT_MENU (u16,
 * 0: no menu). Returns 0 or -errno. */
int fw_cfg_add_machine(struct fw_cfg *c, uint16_t ncpus, uint16_t max_cpus, uint64_t ram_size,
		       uint16_t boot_menu);

/* The file `etc/e820` from `n` entries. */
int fw_cfg_add_e820(struct fw_cfg *c, const struct fw_cfg_e820 *e, int n);

/* The file `bootorder`: OpenFirmware device paths in priority order, each ending in a newline,
 * the whole NUL-terminated (QEMU's layout; SeaBIOS and OVMF split it at the newlines). */
int fw_cfg_add_bootorder(struct fw_cfg *c, const char *const *paths, int n);

/* A Linux kernel for the firmware to boot directly (QEMU's -kernel with a firmware): the bzImage
 * split into its real-mode setup and the rest, an optional initrd and command line. Addresses 0
 * are left out (OVMF does not read them; SeaBIOS's linuxboot option ROM does). */
struct fw_cfg_direct_boot {
	const void *setup;
	uint32_t setup_len;
	uint32_t setup_addr;
	const void *kernel;
	uint32_t kernel_len;
	uint32_t kernel_addr;
	const void *initrd; /* NULL: none */
	uint32_t initrd_len;
	uint32_t initrd_addr;
	const char *cmdline; /* NULL: empty */
	uint32_t cmdline_addr;
};
int fw_cfg_add_direct_boot(struct fw_cfg *c, const struct fw_cfg_direct_boot *b);

/* The ACPI tables for the firmware to install, under the names SeaBIOS and OVMF look for (QEMU's):
 * `etc/acpi/tables` (every table but the RSDP, one blob), `etc/acpi/rsdp`, and
 * `etc/table-loader`, the commands the caller built (table_loader.h) that allocate both, patch
 * the pointers between the tables with their guest addresses and fix the checksums. The firmware
 * then writes the RSDP where the OS finds it. Returns 0, -EINVAL (a loader that failed, or an
 * empty blob), or what fw_cfg_add_file() returns. */
struct table_loader;
int fw_cfg_add_acpi(struct fw_cfg *c, const void *tables, uint32_t tables_len, const void *rsdp,
		    uint32_t rsdp_len, const struct table_loader *loader);

#endif
