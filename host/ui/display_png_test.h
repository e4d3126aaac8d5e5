/* Test-only calls of host/ui/display_png.h: what unit tests use to look inside it and the VMM does
 * not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_UI_DISPLAY_PNG_TEST_H
#define HOST_UI_DISPLAY_PNG_TEST_H

#include "host/ui/display_png.h"

/* The PNG chunk CRC (CRC-32, ISO 3309) and the zlib Adler-32, exposed for tests. */
uint32_t png_crc32(uint32_t crc, const void *data, size_t len);

uint32_t png_adler32(uint32_t adler, const void *data, size_t len);

#endif
