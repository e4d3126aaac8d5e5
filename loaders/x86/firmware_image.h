/* An unmodified PC firmware image (SeaBIOS's bios.bin, OVMF.fd) for --firmware: read and
 * checked before KVM, then mapped read-only so that it ends at 4 GiB, where the reset vector
 * (0xFFFFFFF0) is, as a chipset decodes the flash. The boot vCPU keeps the state KVM gives a
 * fresh vCPU, which is the reset state (real mode, CS base 0xFFFF0000, IP 0xFFF0). */
#ifndef LOADERS_X86_FIRMWARE_IMAGE_H
#define LOADERS_X86_FIRMWARE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

/* Sizes taken: whole 64 KiB blocks (flash parts come in them; SeaBIOS is 128 or 256 KiB, OVMF
 * 2 or 4 MiB), at most 16 MiB (the window below 4 GiB that PC chipsets decode as BIOS flash;
 * from 0xFF000000 up, above the IOAPIC and LAPIC pages, base/layout.h). */
#define FIRMWARE_IMAGE_ALIGN 0x10000ULL
#define FIRMWARE_IMAGE_MAX   0x1000000ULL
#define FIRMWARE_TOP	     0x100000000ULL
/* A split UEFI image (OVMF_CODE*.fd with a variable store below it: --firmware-vars) is whole
 * 4 KiB flash blocks, the two together whole 64 KiB blocks. */
#define FIRMWARE_FLASH_BLOCK 0x1000ULL
/* The legacy BIOS window below 1 MiB. QEMU shows the image's last 128 KiB at 0xE0000 (its
 * isa-bios alias); a 256 KiB SeaBIOS then copies the rest of itself down to 0xC0000 through the
 * i440FX/Q35 PAM registers, which this machine does not have ("Unable to unlock ram - bridge not
 * found"). So an image of up to 256 KiB (a legacy BIOS) is placed whole, ending at 1 MiB, as
 * that copy would leave it; a larger one (UEFI) gets QEMU's 128 KiB alias only. */
#define FIRMWARE_SHADOW_END   0x100000ULL
#define FIRMWARE_SHADOW_ALIAS 0x20000ULL /* 128 KiB */
#define FIRMWARE_SHADOW_MAX   0x40000ULL /* 256 KiB: 0xC0000-0xFFFFF */
/* The KVM memory slots of the image and of the variable store's array (firmware_vars.h): RAM
 * takes 0 and 1, pmem 2..9, virtio-mem 16 on. */
#define FIRMWARE_ROM_SLOT  10u
#define FIRMWARE_VARS_SLOT 11u

struct firmware_image {
	uint8_t *host; /* page-aligned mapping of the image, size bytes; NULL: none */
	uint64_t size;
	uint64_t gpa; /* FIRMWARE_TOP - size */
};

/* Reads the image at `path`, to end at 4 GiB with `below` bytes of flash under it (the variable
 * store of a split UEFI image, firmware_vars.h; 0: none). Returns 0; -EINVAL when its size is
 * not a multiple of 64 KiB between 64 KiB and 16 MiB (with `below`: whole 4 KiB blocks, the two
 * together whole 64 KiB blocks up to 16 MiB), with the reason logged; -errno when it cannot be
 * read. */
int firmware_image_open(struct firmware_image *img, const char *path, uint64_t below);

/* Copies the image's tail into guest RAM below 1 MiB (above: whole up to 256 KiB, else the
 * last 128 KiB). SeaBIOS writes there later, as on a chipset whose shadow RAM is unlocked.
 * Returns 0 or -EFAULT when RAM does not cover it. */
int firmware_image_shadow(const struct firmware_image *img, const struct guest_mem *mem);

void firmware_image_free(struct firmware_image *img);

#endif
