/* The arm64 Image header (loaders/aarch64/loader_image.h): crafted headers, accepted and
 * refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "loaders/aarch64/loader_image.h"

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header of `len` bytes' file with these fields and the magic. */
static void header(uint8_t *img, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(img, 0, 4096);
	put64(img + 8, text_offset);
	put64(img + 16, image_size);
	put64(img + 24, flags);
	memcpy(img + 56, "ARM\x64", 4);
}

Test(loader_image, a_current_kernel_gives_its_offset_and_size)
{
	static uint8_t img[4096];
	struct arm64_image im;
	header(img, 0, 0x2000000, 0xa); /* 4K pages, anywhere in RAM, as Linux 6.1 writes it */
	cr_assert(arm64_image_detect(img, sizeof(img)));
	cr_assert_eq(arm64_image_parse(img, sizeof(img), "Image", &im), 0);
	cr_assert_eq(im.text_offset, 0);
	cr_assert_eq(im.image_size, 0x2000000);
	cr_assert_not(im.big_endian);
}

Test(loader_image, a_kernel_before_3_17_gets_the_documented_offset)
{
	static uint8_t img[4096];
	struct arm64_image im;
	header(img, 0x12345, 0, 0);
	cr_assert_eq(arm64_image_parse(img, sizeof(img), "Image", &im), 0);
	cr_assert_eq(im.text_offset, ARM64_IMAGE_DEFAULT_TEXT);
	cr_assert_eq(im.image_size, sizeof(img), "the file's own size at the least");
}

Test(loader_image, what_is_not_a_little_endian_image_is_refused)
{
	static uint8_t img[4096];
	struct arm64_image im;
	header(img, 0, 0x1000, 1); /* big-endian */
	cr_assert_eq(arm64_image_parse(img, sizeof(img), "Image", &im), -ENOEXEC);
	header(img, 0, 0x1000, 0);
	img[56] = 'X';
	cr_assert_not(arm64_image_detect(img, sizeof(img)));
	cr_assert_eq(arm64_image_parse(img, sizeof(img), "Image", &im), -ENOEXEC);
	header(img, 0, 0x1000, 0);
	cr_assert_not(arm64_image_detect(img, 63), "shorter than the header");
	cr_assert_eq(arm64_image_parse(img, 63, "Image", &im), -ENOEXEC);
	cr_assert_eq(arm64_image_parse(NULL, 0, "Image", &im), -ENOEXEC);
	header(img, 1ULL << 41, 0x1000, 0);
	cr_assert_eq(arm64_image_parse(img, sizeof(img), "Image", &im), -ENOEXEC, "offset");
	header(img, 0, ~0ULL, 0);
	cr_assert_eq(arm64_image_parse(img, sizeof(img), "Image", &im), -ENOEXEC, "size");
}
