/* The writer of `etc/table-loader`: the commands (QEMU's hw/acpi/bios-linker-loader.c, the
 * interface SeaBIOS's romfile_loader and OVMF's AcpiPlatformDxe read) that tell the firmware to
 * place fw_cfg files in guest memory, patch the pointers between them and fix their checksums.
 * That is how the VMM's ACPI tables (etc/acpi/tables, etc/acpi/rsdp) reach a firmware-booted
 * guest.
 *
 * Each command is one 128-byte entry: a u32 command, then its fields, all little-endian, file
 * names NUL-padded to 56 bytes, the rest zero. */
#ifndef DEVICES_FW_CFG_TABLE_LOADER_H
#define DEVICES_FW_CFG_TABLE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define TABLE_LOADER_ENTRY_SIZE 128

enum table_loader_cmd {
	TABLE_LOADER_ALLOCATE = 1,
	TABLE_LOADER_ADD_POINTER = 2,
	TABLE_LOADER_ADD_CHECKSUM = 3,
	TABLE_LOADER_WRITE_POINTER = 4,
};

/* Where ALLOCATE puts a file: anywhere in 32-bit memory, or in the F segment (the RSDP, which
 * a legacy OS finds by scanning 0xE0000-0xFFFFF). */
enum table_loader_zone {
	TABLE_LOADER_ZONE_HIGH = 1,
	TABLE_LOADER_ZONE_FSEG = 2,
};

struct table_loader {
	uint8_t *buf; /* the commands so far, len bytes: the file's contents */
	size_t len;
	size_t cap;
	int err; /* the first failure (-EINVAL, -ENOMEM); later calls do nothing */
};

/* Starts empty. */
void table_loader_init(struct table_loader *l);
void table_loader_free(struct table_loader *l);

/* ALLOCATE: load file `name` into guest memory at an `align`-byte boundary (a power of two) in
 * `zone`. */
int table_loader_allocate(struct table_loader *l, const char *name, uint32_t align,
			  enum table_loader_zone zone);
/* ADD_POINTER: the `size`-byte (1, 2, 4 or 8) little-endian value at `offset` in `dest` holds an
 * offset into `src`; the firmware adds `src`'s guest address to it. */
int table_loader_add_pointer(struct table_loader *l, const char *dest, const char *src,
			     uint32_t offset, uint8_t size);
/* ADD_CHECKSUM: the byte at `offset` in `file` is set so that bytes [start, start+length) sum to
 * 0 (the ACPI checksum), after every pointer is patched. */
int table_loader_add_checksum(struct table_loader *l, const char *file, uint32_t offset,
			      uint32_t start, uint32_t length);
/* WRITE_POINTER: the firmware writes where it put `src`, plus `src_offset`, as a `size`-byte (1,
 * 2, 4 or 8) little-endian value at `dest_offset` of the writable fw_cfg file `dest` (by a DMA
 * write): how the VMM learns where a file landed (etc/vmgenid_addr). */
int table_loader_write_pointer(struct table_loader *l, const char *dest, uint32_t dest_offset,
			       const char *src, uint32_t src_offset, uint8_t size);

#endif
