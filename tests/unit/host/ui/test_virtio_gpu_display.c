/* The display the virtio-gpu draws into (host/ui/display.c: scanout sizes, damage, the listener,
 * resize requests) and the PNG writer (host/ui/display_png.c: checksums against published check
 * values, the file layout read back byte by byte). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/ui/display.h"
#include "host/ui/display_png.h"
#include "host/ui/display_png_test.h"

Test(display_png, checksums)
{
	cr_assert_eq(png_crc32(0, "123456789", 9), 0xcbf43926); /* CRC-32 check value */
	cr_assert_eq(png_crc32(0, "IEND", 4), 0xae426082);	/* every PNG's last CRC */
	cr_assert_eq(png_adler32(1, "Wikipedia", 9), 0x11e60398);
	cr_assert_eq(png_adler32(1, "", 0), 1);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	cr_assert(f && buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

Test(display_png, file_layout)
{
	const uint32_t px[2 * 3] = {0x112233, 0x445566, 0xdeadbe, 0x000000, 0xffffff, 0x010203};
	char path[] = "/tmp/test_png.XXXXXX";
	int fd = mkstemp(path);
	size_t len;
	uint8_t *b;

	cr_assert_geq(fd, 0);
	close(fd);
	/* 2 x 2 out of a 3-pixel stride. */
	cr_assert_eq(png_write_xrgb(path, px, 2, 2, 3), 0);
	b = slurp(path, &len);
	unlink(path);
	cr_assert_eq(memcmp(b, "\x89PNG\r\n\x1a\n", 8), 0);
	cr_assert_eq(be32(b + 8), 13);
	cr_assert_eq(memcmp(b + 12, "IHDR", 4), 0);
	cr_assert_eq(be32(b + 16), 2);
	cr_assert_eq(be32(b + 20), 2);
	cr_assert_eq(b[24], 8);
	cr_assert_eq(b[25], 2);
	cr_assert_eq(be32(b + 29), png_crc32(0, b + 12, 17));
	const uint8_t *idat = b + 33;
	uint32_t n = be32(idat);
	const uint8_t raw[14] = {0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
				 0, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff};
	cr_assert_eq(memcmp(idat + 4, "IDAT", 4), 0);
	cr_assert_eq(n, 2 + 5 + 14 + 4);
	cr_assert_eq(idat[8], 0x78);
	cr_assert_eq(idat[9], 0x01);
	cr_assert_eq(idat[10], 1); /* final stored block */
	cr_assert_eq(idat[11] | idat[12] << 8, 14);
	cr_assert_eq(idat[13] | idat[14] << 8, 0xffff ^ 14);
	cr_assert_eq(memcmp(idat + 15, raw, 14), 0);
	cr_assert_eq(be32(idat + 29), png_adler32(1, raw, 14));
	cr_assert_eq(be32(idat + 8 + n), png_crc32(0, idat + 4, 4 + n));
	cr_assert_eq(memcmp(idat + 12 + n, "\0\0\0\0IEND\xae\x42\x60\x82", 12), 0);
	cr_assert_eq(len, 33 + 12 + n + 12);
	free(b);
}

Test(display_png, refuses_bad_sizes)
{
	uint32_t px = 0;

	cr_assert_eq(png_write_xrgb("/tmp/x.png", &px, 0, 1, 1), -EINVAL);
	cr_assert_eq(png_write_xrgb("/tmp/x.png", &px, 2, 1, 1), -EINVAL);
	cr_assert_eq(png_write_xrgb("/nonexistent/dir/x.png", &px, 1, 1, 1), -ENOENT);
}

static unsigned wakeups;

static void listener(void *opaque)
{
	(void)opaque;
	wakeups++;
}

Test(display, scanout_damage_and_listener)
{
	struct display *d;
	struct display_fb fb;
	struct display_rect r;
	bool resized;

	cr_assert_eq(display_create(&d, 0, 0), 0);
	display_set_listener(d, listener, NULL);
	cr_assert_not(display_begin_update(d, &fb));
	cr_assert_eq(display_set_scanout(d, 100, 50), 0);
	cr_assert_eq(wakeups, 1);
	display_take_damage(d, &fb, &r, &resized);
	display_unlock(d);
	cr_assert(resized);
	cr_assert_eq(r.width, 100);
	cr_assert_eq(r.height, 50);
	cr_assert(display_begin_update(d, &fb));
	cr_assert_eq(fb.width, 100);
	cr_assert_eq(fb.stride, 100);
	fb.pixels[0] = 0xabcdef;
	display_end_update(d, &(struct display_rect){90, 40, 20, 20}); /* clipped to 10 x 10 */
	cr_assert(display_begin_update(d, &fb));
	display_end_update(d, &(struct display_rect){5, 5, 1, 1});
	cr_assert(display_begin_update(d, &fb));
	display_end_update(d, &(struct display_rect){200, 0, 1, 1}); /* outside: ignored */
	cr_assert_eq(wakeups, 4);
	display_take_damage(d, &fb, &r, &resized);
	display_unlock(d);
	cr_assert_not(resized);
	cr_assert_eq(r.x, 5);
	cr_assert_eq(r.y, 5);
	cr_assert_eq(r.width, 95);
	cr_assert_eq(r.height, 45);
	display_take_damage(d, &fb, &r, &resized);
	display_unlock(d);
	cr_assert_eq(r.width, 0);
	cr_assert_eq(display_set_scanout(d, 0, 5), -EINVAL);
	cr_assert_eq(display_set_scanout(d, 16385, 5), -EINVAL);
	display_set_listener(d, NULL, NULL);
	cr_assert_eq(display_set_scanout(d, 0, 0), 0);
	cr_assert_eq(wakeups, 4);
	display_destroy(d);
}

/* A guest turns its scanout off when it shuts down: --screenshot at exit still writes the frame
 * last shown; a never-set scanout writes nothing. */
Test(display, screenshot_after_scanout_off_keeps_last_frame)
{
	struct display *d;
	struct display_fb fb;
	char path[] = "/tmp/vmm-shot-XXXXXX";
	int fd = mkstemp(path);
	struct stat st;

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(display_create(&d, 0, 0), 0);
	cr_assert_eq(display_screenshot(d, path), -ENODATA, "no scanout was ever set");
	cr_assert_eq(display_set_scanout(d, 100, 50), 0);
	cr_assert(display_begin_update(d, &fb));
	fb.pixels[0] = 0xabcdef;
	display_end_update(d, &(struct display_rect){0, 0, 1, 1});
	cr_assert_eq(display_set_scanout(d, 0, 0), 0);
	cr_assert_eq(display_set_scanout(d, 0, 0), 0); /* twice: the kept frame stays */
	cr_assert_not(display_begin_update(d, &fb), "the scanout is off");
	cr_assert_eq(display_screenshot(d, path), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 100, "a 100x50 PNG");
	unlink(path);
	display_destroy(d);
}

Test(display, resize_requests)
{
	struct display *d;
	uint32_t w, h;
	uint64_t v;

	cr_assert_eq(display_create(&d, 1, 0), -EINVAL);
	cr_assert_eq(display_create(&d, 640, 480), 0);
	display_preferred_size(d, &w, &h);
	cr_assert_eq(w, 640);
	cr_assert_eq(h, 480);
	cr_assert_lt(read(display_resize_fd(d), &v, sizeof(v)), 0);
	display_request_size(d, 0, 100); /* ignored */
	display_request_size(d, 800, 100000);
	cr_assert_lt(read(display_resize_fd(d), &v, sizeof(v)), 0);
	display_request_size(d, 800, 600);
	cr_assert_eq(read(display_resize_fd(d), &v, sizeof(v)), sizeof(v));
	display_preferred_size(d, &w, &h);
	cr_assert_eq(w, 800);
	cr_assert_eq(h, 600);
	display_destroy(d);
}
