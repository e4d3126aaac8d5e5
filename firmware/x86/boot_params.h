/* The Linux x86 "zero page" (struct boot_params), Documentation/arch/x86/boot.rst. */
#ifndef FIRMWARE_BOOT_PARAMS_H
#define FIRMWARE_BOOT_PARAMS_H

#include <asm/bootparam.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "firmware/machine.h"

/* Where the loader put things; the zero page points at them. */
struct boot_params_info {
	uint64_t cmdline_addr; /* NUL-terminated command line, below 4 GiB */
	uint64_t initrd_addr;  /* 0 with initrd_size 0: no initrd */
	uint64_t initrd_size;
	uint64_t setup_data; /* first struct setup_data of the list (e.g. SETUP_DTB), 0: none */
};

/* heap_end_ptr: end of the setup heap relative to the real-mode code start, as boot.rst's
 * sample loader does for a setup loaded at offset 0 of a 64 KiB segment (0x10000 - 0x200). */
#define BOOT_PARAMS_HEAP_END 0xFE00

/* Writes a boot_params at `addr` (4 KiB, zeroed first): `hdr` is the kernel's setup header as
 * copied from the image, with the loader's fields filled in (type_of_loader 0xff, loadflags
 * LOADED_HIGH | CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, ramdisk_* and ext_ramdisk_*,
 * setup_data = info->setup_data), and the e820 map of machine `m` (machine_e820()). Returns 0,
 * -EINVAL (cmdline above 4 GiB, initrd past what the kernel can address, a bad description),
 * -ENOSPC (e820 too long) or -EFAULT (addr not RAM). */
int boot_params_write(struct guest_mem *mem, const struct machine *m, uint64_t addr,
		      const struct setup_header *hdr, const struct boot_params_info *info);

#endif
