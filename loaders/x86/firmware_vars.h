/* The variable store of a split UEFI firmware (--firmware-vars FILE): a per-VM copy of OVMF's
 * OVMF_VARS*.fd that the guest's firmware programs as flash (devices/pflash.h), placed right
 * below the code image (--firmware OVMF_CODE*.fd), as QEMU's second pflash unit is and as the
 * combined OVMF.fd lays out the same two parts. The file is mapped shared and writable: what the
 * firmware programs (a boot order, a variable set from the OS through efivarfs) is in the file at
 * once, so it survives the VMM (QEMU's `-drive if=pflash,unit=1`, Cloud Hypervisor's
 * --platform's variable store).
 *
 * The file must be one UEFI firmware volume: its header's "_FVH" signature at 0x28, the volume's
 * length the file's, a header length and checksum that add up (PI 1.8 vol. 3, 3.2.1); and its
 * size whole 4 KiB blocks. Whether it suits the code image is checked by their sizes together
 * (firmware_image_open()'s `below`): a store of another build of OVMF does not fit. */
#ifndef LOADERS_X86_FIRMWARE_VARS_H
#define LOADERS_X86_FIRMWARE_VARS_H

#include <stdint.h>

#define FIRMWARE_VARS_MIN 0x1000ULL /* one flash block */

struct firmware_vars {
	uint8_t *host; /* the file, mapped shared and writable; NULL: none */
	uint64_t size;
	int fd;
};

/* Opens and maps the store at `path` (O_RDWR, a regular file), checked as above. Returns 0, or
 * -EINVAL with the reason logged (naming --firmware-vars and the path), or -errno when it cannot
 * be opened or mapped. */
int firmware_vars_open(struct firmware_vars *v, const char *path);

/* Whether `buf` (`size` bytes) starts with a firmware volume header that fits it: 0, or -EINVAL
 * with the reason in why[0..whylen). For the checks above and a restore's saved array. */
int firmware_vars_check(const uint8_t *buf, uint64_t size, char *why, unsigned long whylen);

/* Writes the mapping's changes to the disk (fsync); 0 or -errno. */
int firmware_vars_sync(struct firmware_vars *v);

/* Syncs, unmaps and closes; idempotent. */
void firmware_vars_free(struct firmware_vars *v);

#endif
