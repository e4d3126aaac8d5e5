/* CPU template bitmaps (cpu_bitmap.h). */
#include "host/kvm/cpu_bitmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Shifts the 128-bit pair w[1]:w[0] left by one and puts `bit` in bit 0. */
static void shift_in(uint64_t w[2], bool bit)
{
	w[1] = (w[1] << 1) | (w[0] >> 63);
	w[0] = (w[0] << 1) | bit;
}

int cpu_bitmap_parse(const char *s, unsigned width, struct cpu_bitmap *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (strncmp(s, "0b", 2)) {
		snprintf(err, errlen, "bitmap \"%.40s\" does not start with 0b", s);
		return -EINVAL;
	}
	unsigned n = 0;
	for (const char *p = s + 2; *p; p++) {
		if (*p == '_')
			continue;
		if (*p != '0' && *p != '1' && *p != 'x') {
			snprintf(err, errlen, "bitmap \"%.40s\": '%c' is not 0, 1, x or _", s, *p);
			return -EINVAL;
		}
		if (++n > width || n > 128) {
			snprintf(err, errlen, "bitmap \"%.40s\" has more than %u bits", s, width);
			return -EINVAL;
		}
		/* the first character is the highest bit: shift in from the right */
		shift_in(b->filter, *p != 'x');
		shift_in(b->value, *p == '1');
	}
	if (!n) {
		snprintf(err, errlen, "bitmap \"%.40s\" has no bits", s);
		return -EINVAL;
	}
	return 0;
}
