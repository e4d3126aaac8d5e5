/* CRC32 in pieces: zlib's crc32_z(), whose running value is the CRC so far. */
#include "vmm/migration/stream/mig_crc.h"

#include <zlib.h>

uint32_t mig_crc32(uint32_t crc, const void *buf, size_t len)
{
	/* zlib reads a NULL buf as "give the initial value" (0): an empty piece changes nothing */
	return len ? (uint32_t)crc32_z(crc, buf, len) : crc;
}
