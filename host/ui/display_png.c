/* PNG writer with stored deflate blocks. See host/ui/display_png.h. */
#include "host/ui/display_png.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"

#define STORED_MAX  65535u /* RFC 1951 3.2.4: LEN is 16 bits */
#define PNG_MAX_DIM 16384u

uint32_t png_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
	}
	return ~crc;
}

uint32_t png_adler32(uint32_t adler, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t a = adler & 0xffff, b = adler >> 16;

	while (len) {
		size_t n = len < 5552 ? len : 5552; /* zlib's bound before the sums can overflow */

		len -= n;
		while (n--) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return b << 16 | a;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* length, type, data, CRC over type and data (PNG 5.3). */
static int write_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
	uint8_t head[8], tail[4];
	uint32_t crc = png_crc32(0, type, 4);

	crc = png_crc32(crc, data, len);
	put_be32(head, len);
	memcpy(head + 4, type, 4);
	put_be32(tail, crc);
	if (fwrite(head, 1, 8, f) != 8 || (len && fwrite(data, 1, len, f) != len) ||
	    fwrite(tail, 1, 4, f) != 4)
		return -EIO;
	return 0;
}

/* The filtered image: each row a 0 (filter None) then R, G, B per pixel. */
static uint8_t *raw_rows(const uint32_t *px, uint32_t w, uint32_t h, uint32_t stride, size_t *len)
{
	size_t row = 1 + (size_t)w * 3;
	uint8_t *raw = malloc(row * h), *p = raw;

	if (!raw)
		return NULL;
	for (uint32_t y = 0; y < h; y++) {
		*p++ = 0;
		for (uint32_t x = 0; x < w; x++) {
			uint32_t v = px[(size_t)y * stride + x];

			*p++ = (uint8_t)(v >> 16), *p++ = (uint8_t)(v >> 8), *p++ = (uint8_t)v;
		}
	}
	*len = row * h;
	return raw;
}

/* zlib stream (RFC 1950): CMF 0x78 FLG 0x01, stored blocks, Adler-32 of the raw data. */
static uint8_t *zlib_stored(const uint8_t *raw, size_t len, size_t *out_len)
{
	size_t nblocks = len / STORED_MAX + 1;
	uint8_t *z = malloc(2 + len + nblocks * 5 + 4), *p = z;
	size_t done = 0;

	if (!z)
		return NULL;
	*p++ = 0x78, *p++ = 0x01;
	do {
		uint16_t n = (uint16_t)(len - done < STORED_MAX ? len - done : STORED_MAX);

		*p++ = done + n == len; /* BFINAL, BTYPE 00 */
		*p++ = (uint8_t)n, *p++ = (uint8_t)(n >> 8);
		*p++ = (uint8_t)~n, *p++ = (uint8_t)(~n >> 8);
		memcpy(p, raw + done, n);
		p += n, done += n;
	} while (done < len);
	put_be32(p, png_adler32(1, raw, len));
	*out_len = (size_t)(p + 4 - z);
	return z;
}

static int write_png(FILE *f, const uint8_t *z, size_t zlen, uint32_t w, uint32_t h)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	uint8_t ihdr[13] = {0};

	put_be32(ihdr, w);
	put_be32(ihdr + 4, h);
	ihdr[8] = 8; /* bit depth */
	ihdr[9] = 2; /* colour type: truecolour (RGB) */
	if (fwrite(sig, 1, sizeof(sig), f) != sizeof(sig) || write_chunk(f, "IHDR", ihdr, 13) ||
	    write_chunk(f, "IDAT", z, (uint32_t)zlen) || write_chunk(f, "IEND", NULL, 0))
		return -EIO;
	return 0;
}

int png_write_xrgb(const char *path, const uint32_t *pixels, uint32_t width, uint32_t height,
		   uint32_t stride)
{
	size_t raw_len, zlen;
	uint8_t *raw, *z = NULL;
	char tmp[4096];
	FILE *f;
	int err = -ENOMEM;

	if (!width || !height || width > PNG_MAX_DIM || height > PNG_MAX_DIM || stride < width)
		return -EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	raw = raw_rows(pixels, width, height, stride, &raw_len);
	if (raw)
		z = zlib_stored(raw, raw_len, &zlen);
	free(raw);
	if (!z)
		return err;
	/* rule 7 of base/host_path.h: only a regular file or nothing is replaced, so a device
	 * node, FIFO or socket at PATH is refused before anything is written */
	char why[HOST_PATH_ERR_MAX];
	int fd = host_path_replace_check(path, why, sizeof(why));
	/* host_path_open(): a regular file, not through a symbolic link planted at PATH.tmp */
	if (!fd)
		fd = host_path_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644,
				    HOST_PATH_REGULAR, why, sizeof(why));
	f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f) {
		err = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		else
			log_error("screenshot: %s", why);
		free(z);
		return err;
	}
	err = write_png(f, z, zlen, width, height);
	free(z);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		unlink(tmp);
		return err;
	}
	/* atomically, only over a regular file or nothing; PATH.tmp removed on failure */
	err = host_path_replace_commit(tmp, path, why, sizeof(why));
	if (err)
		log_error("screenshot: %s", why);
	return err;
}
