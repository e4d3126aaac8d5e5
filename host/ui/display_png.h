/* A minimal PNG writer (PNG specification, W3C 2003 / ISO 15948): 8-bit RGB, no interlace, filter
 * type 0 on every row, and the zlib stream made of stored (uncompressed) deflate blocks (RFC 1950,
 * RFC 1951 section 3.2.4). Files are larger than compressed ones but the VMM needs no image
 * library, and every PNG reader (python's zlib, ImageMagick, browsers) accepts them. */
#ifndef VMM_DISPLAY_PNG_H
#define VMM_DISPLAY_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Writes `pixels` (0x00RRGGBB, `stride` pixels per row) as PATH, through a temporary file renamed
 * into place so a reader never sees half a file. Returns 0, -EINVAL (empty or oversized image)
 * or -errno. */
int png_write_xrgb(const char *path, const uint32_t *pixels, uint32_t width, uint32_t height,
		   uint32_t stride);

#endif
