/* The variable store of a split UEFI firmware (loaders/x86/firmware_vars.h): one firmware
 * volume, whole 4 KiB blocks, mapped shared so that what the guest programs reaches the file;
 * anything else is refused with a reason. And the code image's size against the store's
 * (firmware_image_open()'s `below`). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loaders/x86/firmware_image.h"
#include "loaders/x86/firmware_vars.h"

static char path[64];

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A store of `size` bytes: a volume header of `fv` bytes' length with a right checksum
 * (unless `bad_sum`), 0xff after it. */
static void make_store(size_t size, uint64_t fv, bool bad_sum)
{
	uint8_t *b = malloc(size);
	memset(b, 0xff, size);
	memset(b, 0, 0x48);
	put_le(b + 0x20, fv, 8);
	memcpy(b + 0x28, "_FVH", 4);
	put_le(b + 0x30, 0x48, 2);
	uint16_t sum = 0;
	for (unsigned i = 0; i < 0x48; i += 2)
		sum = (uint16_t)(sum + (b[i] | b[i + 1] << 8));
	put_le(b + 0x32, (uint16_t)(0x10000 - sum) + (bad_sum ? 1 : 0), 2);
	strcpy(path, "/tmp/fw-vars-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, size), (ssize_t)size);
	close(fd);
	free(b);
}

static int open_store(void)
{
	struct firmware_vars v;
	int r = firmware_vars_open(&v, path);
	firmware_vars_free(&v);
	unlink(path);
	return r;
}

Test(firmware_vars, maps_a_store_whose_changes_reach_the_file)
{
	struct firmware_vars v;
	make_store(0x3000, 0x3000, false);
	cr_assert_eq(firmware_vars_open(&v, path), 0);
	cr_assert_eq(v.size, 0x3000);
	v.host[0x2000] = 0x42; /* what a program through the flash does */
	firmware_vars_free(&v);
	cr_assert_null(v.host);
	firmware_vars_free(&v); /* idempotent */
	int fd = open(path, O_RDONLY);
	uint8_t back = 0;
	cr_assert_eq(pread(fd, &back, 1, 0x2000), 1);
	cr_assert_eq(back, 0x42);
	close(fd);
	unlink(path);
}

Test(firmware_vars, refuses_what_is_not_one_variable_store, .init = cr_redirect_stderr)
{
	make_store(0x3000, 0x2000, false); /* a volume shorter than the file: OVMF.fd's layout */
	cr_assert_eq(open_store(), -EINVAL);
	make_store(0x3000, 0x3000, true); /* a damaged header */
	cr_assert_eq(open_store(), -EINVAL);
	make_store(0x2800, 0x2800, false); /* not whole blocks */
	cr_assert_eq(open_store(), -EINVAL);
	make_store(0x2000, 0x2000, false);
	int fd = open(path, O_WRONLY);
	cr_assert_eq(pwrite(fd, "XXXX", 4, 0x28), 4); /* no _FVH */
	close(fd);
	cr_assert_eq(open_store(), -EINVAL);
	struct firmware_vars v;
	cr_assert_eq(firmware_vars_open(&v, "/nonexistent/vars.fd"), -ENOENT);
	cr_assert_lt(firmware_vars_open(&v, "/tmp"), 0); /* a folder */
}

Test(firmware_vars, debians_stores_pass)
{
	const char *stores[] = {"/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd"};
	uint8_t buf[0x84000];
	char why[256];
	for (unsigned i = 0; i < 2; i++) {
		FILE *f = fopen(stores[i], "rb");
		if (!f)
			cr_skip_test("%s is missing (Debian's ovmf, tools/setup.sh)", stores[i]);
		size_t n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		cr_assert_eq(firmware_vars_check(buf, n, why, sizeof(why)), 0, "%s: %s", stores[i],
			     why);
	}
}

/* A file of `size` bytes for --firmware. */
static void make_code(size_t size)
{
	strcpy(path, "/tmp/fw-code-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

Test(firmware_vars, the_code_image_and_its_store_fill_whole_64k_blocks, .init = cr_redirect_stderr)
{
	static const struct {
		size_t code, below;
		int want;
	} cases[] = {
	    {0x37c000, 0x84000, 0},	  /* OVMF_CODE_4M.fd + OVMF_VARS_4M.fd */
	    {0x1e0000, 0x20000, 0},	  /* OVMF_CODE.fd + OVMF_VARS.fd */
	    {0x37c000, 0x20000, -EINVAL}, /* another build's store */
	    {0x1e0000, 0x84000, -EINVAL},
	    {0x37c000, 0, -EINVAL},	   /* the code alone is no whole image */
	    {0x37c800, 0x83800, -EINVAL},  /* not whole 4 KiB blocks */
	    {0xf00000, 0x200000, -EINVAL}, /* more than 16 MiB */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct firmware_image img;
		make_code(cases[i].code);
		cr_assert_eq(firmware_image_open(&img, path, cases[i].below), cases[i].want,
			     "code %zx, store %zx", cases[i].code, cases[i].below);
		if (!cases[i].want)
			cr_assert_eq(img.gpa, FIRMWARE_TOP - cases[i].code);
		firmware_image_free(&img);
		unlink(path);
	}
}
