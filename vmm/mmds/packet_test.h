/* Test-only calls of vmm/mmds/packet.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef VIRTIO_NET_MMDS_PACKET_TEST_H
#define VIRTIO_NET_MMDS_PACKET_TEST_H

#include "vmm/mmds/packet.h"

/* The ones' complement sum of `len` bytes added to `sum` (RFC 1071), not yet folded. */
uint32_t inet_sum(const uint8_t *p, size_t len, uint32_t sum);

/* Folds a sum into the 16-bit checksum field's value. */
uint16_t inet_fold(uint32_t sum);

/* Writes the ARP message `m` in an Ethernet frame from m->sha to eth_dst into buf (at least
 * PKT_ETH_HLEN + PKT_ARP_LEN bytes). Returns its length. */
size_t arp_write(uint8_t *buf, const uint8_t eth_dst[6], const struct arp_msg *m);

#endif
