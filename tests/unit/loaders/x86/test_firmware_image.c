#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "loaders/x86/firmware_image.h"

static char path[64];

/* A file of `size` bytes whose byte i is i % 251 (so positions can be checked). */
static const char *make_image(size_t size)
{
	strcpy(path, "/tmp/fw-image-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	uint8_t *b = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(i % 251);
	cr_assert_eq(write(fd, b, size), (ssize_t)size);
	free(b);
	close(fd);
	return path;
}

Test(firmware_image, sizes)
{
	static const struct {
		size_t size;
		int want;
	} cases[] = {
	    {0, -EINVAL},	{1000, -EINVAL}, {0x10000, 0},	       {0x20000, 0},
	    {0x28000, -EINVAL}, {0x1000000, 0},	 {0x1010000, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct firmware_image img;
		make_image(cases[i].size);
		cr_assert_eq(firmware_image_open(&img, path, 0), cases[i].want, "size %zu",
			     cases[i].size);
		if (!cases[i].want) {
			cr_assert_eq(img.gpa + img.size, FIRMWARE_TOP);
			cr_assert_eq(img.host[img.size - 1], (img.size - 1) % 251);
		}
		firmware_image_free(&img);
		unlink(path);
	}
	struct firmware_image img;
	cr_assert_eq(firmware_image_open(&img, "/nonexistent/bios.bin", 0), -ENOENT);
	cr_assert_eq(firmware_image_open(&img, "/tmp", 0), -EINVAL);
}

static void check_shadow(size_t size, uint64_t want_start)
{
	static uint8_t ram[0x100000];
	struct guest_mem mem = {0};
	struct firmware_image img;

	memset(ram, 0xee, sizeof(ram));
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram, sizeof(ram)), 0);
	make_image(size);
	cr_assert_eq(firmware_image_open(&img, path, 0), 0);
	unlink(path);
	cr_assert_eq(firmware_image_shadow(&img, &mem), 0);
	cr_assert_eq(ram[want_start - 1], 0xee, "nothing below the copy");
	for (uint64_t a = want_start; a < 0x100000; a += 0x1111)
		cr_assert_eq(ram[a], (size - (0x100000 - a)) % 251, "byte at 0x%lx", (long)a);
	cr_assert_eq(ram[0xfffff], (size - 1) % 251, "the image's end at 1 MiB");
	firmware_image_free(&img);
}

Test(firmware_image, shadow_below_1mib)
{
	check_shadow(0x20000, 0xe0000);	 /* bios.bin: all of it */
	check_shadow(0x40000, 0xc0000);	 /* bios-256k.bin: all of it, as its PAM copy would */
	check_shadow(0x200000, 0xe0000); /* OVMF: QEMU's 128 KiB alias */
	check_shadow(0x10000, 0xf0000);	 /* 64 KiB */
}

Test(firmware_image, shadow_needs_ram)
{
	static uint8_t ram[0x80000];
	struct guest_mem mem = {0};
	struct firmware_image img;

	cr_assert_eq(guest_mem_add_region(&mem, 0, ram, sizeof(ram)), 0);
	make_image(0x20000);
	cr_assert_eq(firmware_image_open(&img, path, 0), 0);
	unlink(path);
	cr_assert_eq(firmware_image_shadow(&img, &mem), -EFAULT);
	firmware_image_free(&img);
}
