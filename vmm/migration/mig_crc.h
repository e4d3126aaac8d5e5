/* CRC32 (IEEE 802.3, reflected, polynomial 0xEDB88320: the same value as zlib's crc32() and
 * snap_crc32()) computed in pieces, for frames whose header and payload lie in different
 * buffers. Slicing by 8: a migration checksums all of guest RAM, so speed matters. */
#ifndef VMM_MIGRATION_MIG_CRC_H
#define VMM_MIGRATION_MIG_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of the bytes so far (`crc`, 0 to start) extended by `len` bytes at `buf`. */
uint32_t mig_crc32(uint32_t crc, const void *buf, size_t len);

#endif
