/* The Linux arm64 `Image` format (Linux Documentation/arch/arm64/booting.rst, "Call the kernel
 * image"): a 64-byte header at the start of the uncompressed kernel, which is loaded at a
 * 2 MiB-aligned base plus text_offset and entered at its first byte. Pure parsing, no guest
 * memory: unit-tested with crafted headers. */
#ifndef VMM_LOADERS_AARCH64_LOADER_IMAGE_H
#define VMM_LOADERS_AARCH64_LOADER_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_MAGIC	 0x644d5241u /* "ARM\x64", little-endian, at offset 56 */
#define ARM64_IMAGE_HEADER_SIZE	 64u
#define ARM64_IMAGE_DEFAULT_TEXT 0x80000u /* text_offset of a kernel whose image_size is 0 */

struct arm64_image {
	uint64_t text_offset; /* from the 2 MiB-aligned base */
	uint64_t image_size;  /* bytes the kernel occupies from its load address (its BSS too) */
	bool big_endian;      /* flags bit 0: this VMM boots little-endian kernels only */
};

/* Whether `img` starts with an arm64 Image header (its magic). */
bool arm64_image_detect(const uint8_t *img, size_t len);

/* Reads and checks the header of `img` (`len` bytes; `path` for messages): the magic, a
 * little-endian kernel, a text_offset and an image_size that fit in 64 bits with the file inside
 * the image. A kernel older than Linux 3.17 (image_size 0) gets the documented defaults.
 * Returns 0 or -ENOEXEC with one log_error() line. */
int arm64_image_parse(const uint8_t *img, size_t len, const char *path, struct arm64_image *out);

#endif
