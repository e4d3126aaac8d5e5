/* The arm64 Image header (loader_image.h). */
#include "loaders/aarch64/loader_image.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

/* Field offsets in the header (booting.rst): code0, code1, text_offset, image_size, flags,
 * res2-4, magic, res5. */
#define OFF_TEXT_OFFSET 8
#define OFF_IMAGE_SIZE	16
#define OFF_FLAGS	24
#define OFF_MAGIC	56
#define FLAG_BE		1u /* bit 0: the kernel is big-endian */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool arm64_image_detect(const uint8_t *img, size_t len)
{
	return img && len >= ARM64_IMAGE_HEADER_SIZE && le32(img + OFF_MAGIC) == ARM64_IMAGE_MAGIC;
}

int arm64_image_parse(const uint8_t *img, size_t len, const char *path, struct arm64_image *out)
{
	memset(out, 0, sizeof(*out));
	if (!arm64_image_detect(img, len)) {
		log_error("kernel %s: not an arm64 Image (no \"ARM\\x64\" magic at offset 56; a "
			  "compressed vmlinuz must be unpacked first)",
			  path);
		return -ENOEXEC;
	}
	out->text_offset = le64(img + OFF_TEXT_OFFSET);
	out->image_size = le64(img + OFF_IMAGE_SIZE);
	out->big_endian = le64(img + OFF_FLAGS) & FLAG_BE;
	if (out->image_size == 0) /* before Linux 3.17: booting.rst's defaults */
		out->text_offset = ARM64_IMAGE_DEFAULT_TEXT;
	if (out->big_endian) {
		log_error("kernel %s: a big-endian arm64 kernel; this VMM boots little-endian ones",
			  path);
		return -ENOEXEC;
	}
	if (out->image_size < len)
		out->image_size = len; /* what the file holds, at the least */
	if (out->text_offset > (1ULL << 40) || out->image_size > (1ULL << 40)) {
		log_error("kernel %s: text_offset %#llx or image_size %#llx out of range", path,
			  (unsigned long long)out->text_offset,
			  (unsigned long long)out->image_size);
		return -ENOEXEC;
	}
	return 0;
}
