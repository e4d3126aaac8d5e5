/* MAC addresses (see mac.h). */
#include "base/mac.h"

#include <errno.h>
#include <string.h>

#include "base/parse.h"

bool mac_is_station(const uint8_t mac[MAC_LEN])
{
	static const uint8_t zero[MAC_LEN];

	return !(mac[0] & 1) && memcmp(mac, zero, MAC_LEN) != 0;
}

/* The six bytes of "xx:xx:xx:xx:xx:xx", or -EINVAL for any other text. */
static int parse_bytes(const char *s, uint8_t m[MAC_LEN])
{
	if (strlen(s) != 3 * MAC_LEN - 1)
		return -EINVAL;
	for (int i = 0; i < MAC_LEN; i++) {
		int hi = parse_hex_digit(s[3 * i]), lo = parse_hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < MAC_LEN - 1 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int mac_parse(const char *s, uint8_t mac[MAC_LEN], char *err, size_t errlen)
{
	uint8_t m[MAC_LEN];

	if (!s || parse_bytes(s, m) || !mac_is_station(m))
		return parse_fail(err, errlen,
				  "bad MAC address '%s' (expected six hex bytes like "
				  "52:54:00:12:34:56, neither all zeros nor a multicast address)",
				  s ? s : "");
	memcpy(mac, m, MAC_LEN);
	return 0;
}
