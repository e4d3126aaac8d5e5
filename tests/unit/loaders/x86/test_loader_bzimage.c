#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>

#include "loaders/x86/loader_bzimage.h"
#include "tests/unit/fixtures/boot_fixtures.h"

static struct guest_mem mem;
static uint8_t *ram;

static void setup(void)
{
	ram = fake_mem_init(&mem, FAKE_RAM_SIZE);
}

static void teardown(void)
{
	free(ram);
}

TestSuite(bzimage, .init = setup, .fini = teardown);

static int parse_with(const struct fake_bz *o, struct bzimage *bz)
{
	size_t len;
	uint8_t *img = fake_bzimage(o, &len);
	int err = bzimage_parse(img, len, "test", bz);

	free(img);
	return err;
}

Test(bzimage, parses_and_loads)
{
	struct fake_bz o = fake_bz_default();
	size_t len;
	uint8_t *img = fake_bzimage(&o, &len);
	struct bzimage bz;

	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	cr_assert_eq(bz.kernel, img + 5 * 512);
	cr_assert_eq(bz.kernel_size, 0x10000);
	cr_assert_eq(bz.load_addr, 0x100000);
	cr_assert_eq(bz.entry64, 0x100200);
	cr_assert_eq(bz.reserved_end, MIB(16) + MIB(4), "pref_address + init_size");
	cr_assert_eq(bz.hdr.version, 0x020F);
	cr_assert_eq(bz.hdr.cmdline_size, 2047);
	cr_assert_eq(bzimage_load(&mem, &bz, "test"), 0);
	cr_assert_eq(ram[0x100000 - 1], FILL_BYTE);
	for (size_t i = 0; i < 0x10000; i++)
		cr_assert_eq(ram[0x100000 + i], fake_kernel_byte(i), "kernel byte %zu", i);
	cr_assert_eq(ram[0x110000], FILL_BYTE, "nothing past the image");
	free(img);
}

Test(bzimage, setup_sects_zero_means_four)
{
	struct fake_bz o = fake_bz_default();
	size_t len;
	uint8_t *img;
	struct bzimage bz;

	o.setup_sects = 0;
	img = fake_bzimage(&o, &len);
	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	cr_assert_eq(bz.kernel, img + 5 * 512);
	free(img);
	o.setup_sects = 30;
	img = fake_bzimage(&o, &len);
	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	cr_assert_eq(bz.kernel, img + 31 * 512);
	free(img);
}

Test(bzimage, runtime_start_follows_head_64)
{
	struct fake_bz o = fake_bz_default();
	struct bzimage bz;

	o.relocatable = 0;
	o.pref_address = MIB(2);
	cr_assert_eq(parse_with(&o, &bz), 0);
	cr_assert_eq(bz.reserved_end, MIB(2) + MIB(4), "fixed kernel: pref_address");
	o.relocatable = 1;
	o.pref_address = MIB(1);
	o.kernel_alignment = MIB(2);
	cr_assert_eq(parse_with(&o, &bz), 0);
	cr_assert_eq(bz.reserved_end, MIB(2) + MIB(4), "1 MiB aligned up to 2 MiB");
	o.init_size = 0x1000;
	cr_assert_eq(parse_with(&o, &bz), 0);
	cr_assert_eq(bz.reserved_end, MIB(2) + 0x1000);
	o.pref_address = 0;
	o.init_size = 0;
	o.kernel_alignment = 0x1000;
	cr_assert_eq(parse_with(&o, &bz), 0);
	cr_assert_eq(bz.reserved_end, MIB(1) + 0x10000, "the image itself when larger");
}

Test(bzimage, rejects_wrong_headers)
{
	struct fake_bz o;
	struct bzimage bz;

	o = fake_bz_default();
	o.version = 0x020B;
	cr_assert_eq(parse_with(&o, &bz), -ENOEXEC, "protocol 2.11");
	o = fake_bz_default();
	o.xloadflags = 0;
	cr_assert_eq(parse_with(&o, &bz), -ENOEXEC, "no XLF_KERNEL_64");
	o = fake_bz_default();
	o.kernel_alignment = 0x3000;
	cr_assert_eq(parse_with(&o, &bz), -ENOEXEC, "alignment not a power of 2");
	o.kernel_alignment = 0;
	cr_assert_eq(parse_with(&o, &bz), -ENOEXEC, "alignment 0");
	o = fake_bz_default();
	o.pref_address = UINT64_MAX - 0x1000;
	cr_assert_eq(parse_with(&o, &bz), -ENOEXEC, "pref_address + init_size overflows");
}

static int parse_mutated(size_t off, const void *val, size_t n)
{
	struct fake_bz o = fake_bz_default();
	struct bzimage bz;
	size_t len;
	uint8_t *img = fake_bzimage(&o, &len);
	int err;

	memcpy(img + off, val, n);
	err = bzimage_parse(img, len, "test", &bz);
	free(img);
	return err;
}

Test(bzimage, rejects_bad_magic_flags_and_sizes)
{
	uint8_t zero = 0, big = 0xFF, small = 0x10;
	uint16_t flag = 0x1234;
	uint32_t syssize = 0xFFFFFFFF;

	cr_assert_eq(parse_mutated(0x202, "HdrX", 4), -ENOEXEC, "magic");
	cr_assert_eq(parse_mutated(0x1FE, &flag, 2), -ENOEXEC, "boot_flag");
	cr_assert_eq(parse_mutated(0x211, &zero, 1), -ENOEXEC, "loadflags without LOADED_HIGH");
	cr_assert_eq(parse_mutated(0x201, &small, 1), -ENOEXEC, "header too short for 2.12");
	cr_assert_eq(parse_mutated(0x1F1, &big, 1), -ENOEXEC, "setup_sects past EOF");
	cr_assert_eq(parse_mutated(0x1F4, &syssize, 4), -ENOEXEC, "syssize past EOF");
}

Test(bzimage, header_end_past_eof)
{
	struct fake_bz o = fake_bz_default();
	struct bzimage bz;
	size_t len;
	uint8_t *img = fake_bzimage(&o, &len);

	cr_assert_eq(bzimage_parse(img, 0x240, "test", &bz), -ENOEXEC);
	cr_assert_eq(bzimage_parse(img, 0x100, "test", &bz), -ENOEXEC);
	cr_assert_eq(bzimage_parse(img, 0, "test", &bz), -ENOEXEC);
	free(img);
}

Test(bzimage, every_truncation_fails_cleanly)
{
	struct fake_bz o = fake_bz_default();
	struct bzimage bz;
	size_t len;
	uint8_t *img = fake_bzimage(&o, &len);

	for (size_t n = 0; n < len; n += (n < 0x1000 ? 1 : 97))
		cr_assert_eq(bzimage_parse(img, n, "test", &bz), -ENOEXEC, "length %zu", n);
	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	free(img);
}

Test(bzimage, syssize_zero_takes_the_rest_of_the_file)
{
	uint32_t zero = 0;
	struct fake_bz o = fake_bz_default();
	struct bzimage bz;
	size_t len;
	uint8_t *img = fake_bzimage(&o, &len);

	memcpy(img + 0x1F4, &zero, 4);
	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	cr_assert_eq(bz.kernel_size, 0x10000);
	cr_assert_eq(bzimage_parse(img, 5 * 512 + 0x200, "test", &bz), -ENOEXEC,
		     "too small to hold the 64-bit entry");
	free(img);
}

Test(bzimage, kernel_bigger_than_ram)
{
	struct fake_bz o = fake_bz_default();
	struct bzimage bz;
	size_t len;
	uint8_t *img;

	o.init_size = MIB(64);
	img = fake_bzimage(&o, &len);
	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	cr_assert_eq(bzimage_load(&mem, &bz, "test"), -EFBIG);
	cr_assert_eq(ram[0x100000], FILL_BYTE, "nothing copied");
	free(img);
	o.init_size = MIB(48); /* ends exactly at 64 MiB */
	img = fake_bzimage(&o, &len);
	cr_assert_eq(bzimage_parse(img, len, "test", &bz), 0);
	cr_assert_eq(bzimage_load(&mem, &bz, "test"), 0);
	free(img);
}

Test(bzimage, random_header_corruption_never_crashes)
{
	struct fake_bz o = fake_bz_default();
	size_t len;
	uint8_t *img = fake_bzimage(&o, &len);
	uint8_t *copy = malloc(len);
	unsigned seed = 12345;

	cr_redirect_stderr(); /* thousands of expected error lines */

	for (int i = 0; i < 5000; i++) {
		struct bzimage bz;

		memcpy(copy, img, len);
		for (int k = 0; k < 4; k++)
			copy[0x1F1 + rand_r(&seed) % 0x80] = (uint8_t)rand_r(&seed);
		if (bzimage_parse(copy, len, "fuzz", &bz) == 0) {
			int err = bzimage_load(&mem, &bz, "fuzz");
			cr_assert(err == 0 || err == -EFBIG);
		}
	}
	free(copy);
	free(img);
}
