/* virtio-net feature policy and header rules (virtio/net/features.h): features offered per
 * backend, the dependencies of 5.1.3.1, TUNSETOFFLOAD flags from negotiated features, and the
 * transmit / receive header checks. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "virtio/net/features.h"

#define F(bit) (1ull << (bit))
#define OFFLOADS                                                                                   \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |           \
	 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO6))
#define BASE                                                                                       \
	(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |                    \
	 F(VIRTIO_NET_F_MTU) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |               \
	 F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR) | F(VIRTIO_RING_F_EVENT_IDX) |    \
	 F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_F_RING_PACKED))

Test(net_features, header_is_12_bytes)
{
	cr_expect_eq(NET_HDR_LEN, 12);
}

Test(net_features, offered_per_backend)
{
	cr_expect_eq(virtio_net_offered_features(false, 0), BASE);
	cr_expect_eq(virtio_net_offered_features(false, TUN_F_CSUM | TUN_F_TSO4), BASE);
	cr_expect_eq(virtio_net_offered_features(true, 0), BASE);
	cr_expect_eq(virtio_net_offered_features(true, TUN_F_TSO4), BASE, "TSO needs CSUM");
	cr_expect_eq(virtio_net_offered_features(true, TUN_F_CSUM),
		     BASE | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM));
	cr_expect_eq(virtio_net_offered_features(true, TUN_F_CSUM | TUN_F_TSO4),
		     BASE | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4));
	cr_expect_eq(virtio_net_offered_features(true, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
		     BASE | OFFLOADS);
}

Test(net_features, offered_sets_are_consistent)
{
	cr_expect(virtio_net_features_consistent(virtio_net_offered_features(true, 7)));
	cr_expect(virtio_net_features_consistent(virtio_net_offered_features(false, 0)));
}

Test(net_features, dependencies)
{
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_GUEST_TSO4)));
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_GUEST_TSO6)));
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_HOST_TSO4)));
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_HOST_TSO6)));
	cr_expect_not(
	    virtio_net_features_consistent(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_ECN)));
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_CTRL_RX)));
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_CTRL_MAC_ADDR)));
	cr_expect_not(virtio_net_features_consistent(F(VIRTIO_NET_F_CTRL_VQ) |
						     F(VIRTIO_NET_F_CTRL_RX_EXTRA)));
	cr_expect(virtio_net_features_consistent(F(VIRTIO_NET_F_GUEST_CSUM) |
						 F(VIRTIO_NET_F_GUEST_TSO6)));
	cr_expect(virtio_net_features_consistent(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4)));
	cr_expect(virtio_net_features_consistent(0));
}

Test(net_features, tunsetoffload_flags)
{
	cr_expect_eq(virtio_net_tun_offloads(0), 0);
	cr_expect_eq(virtio_net_tun_offloads(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4)), 0,
		     "host-side offloads are not receive offloads");
	cr_expect_eq(virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM)), TUN_F_CSUM);
	cr_expect_eq(
	    virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4)),
	    TUN_F_CSUM | TUN_F_TSO4);
	cr_expect_eq(
	    virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO6)),
	    TUN_F_CSUM | TUN_F_TSO6);
	cr_expect_eq(virtio_net_tun_offloads(OFFLOADS), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	cr_expect_eq(virtio_net_tun_offloads(OFFLOADS | F(VIRTIO_NET_F_GUEST_ECN)),
		     TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	cr_expect_eq(virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_TSO4)), 0,
		     "TSO without CSUM is not a legal set; the tap would ignore it");
}

static struct virtio_net_hdr_v1 hdr(uint8_t flags, uint8_t gso, uint16_t size, uint16_t start,
				    uint16_t off)
{
	struct virtio_net_hdr_v1 h = {.flags = flags, .gso_type = gso};
	h.gso_size = htole16(size);
	h.csum_start = htole16(start);
	h.csum_offset = htole16(off);
	h.num_buffers = htole16(3);
	return h;
}

Test(net_features, tx_header_check)
{
	uint64_t all = OFFLOADS;
	struct virtio_net_hdr_v1 h = hdr(0xfe, 0, 0, 0, 0);

	cr_expect_eq(virtio_net_tx_hdr_check(&h, 0, 60), 0);
	cr_expect_eq(h.flags, 0, "unknown flags dropped");
	cr_expect_eq(h.num_buffers, 0);
	h = hdr(0, 0, 0, 0, 0);
	h.hdr_len = htole16(61);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, 0, 60), 0);
	cr_expect_eq(h.hdr_len, 0, "a hint past the frame is dropped");
	h.hdr_len = htole16(60);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, 0, 60), 0);
	cr_expect_eq(le16toh(h.hdr_len), 60);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, 0, 60), -EPROTO, "CSUM not negotiated");
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 52), 0, "checksum ends at the last byte");
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 51), -EPROTO);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0xffff, 0xffff);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 65550), -EPROTO);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), 0);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, F(VIRTIO_NET_F_CSUM), 9000), -EPROTO);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 1448, 54, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), 0);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP, 1448, 34, 6);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), -EPROTO, "UFO not offered");
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
		1448, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), -EPROTO, "ECN not negotiated");
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 2, 1448, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), -EPROTO, "unknown GSO type");
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 0, 34, 16);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), -EPROTO, "GSO without a size");
	h = hdr(0, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 0, 0);
	cr_expect_eq(virtio_net_tx_hdr_check(&h, all, 9000), -EPROTO, "GSO without NEEDS_CSUM");
}

Test(net_features, rx_header_fixup)
{
	struct virtio_net_hdr_v1 h = hdr(VIRTIO_NET_HDR_F_DATA_VALID, 0, 5, 0, 0);

	cr_expect_eq(virtio_net_rx_hdr_fixup(&h, 0), 0);
	cr_expect_eq(h.flags, 0, "5.1.6.4.1: flags 0 without GUEST_CSUM");
	cr_expect_eq(h.gso_size, 0);
	cr_expect_eq(le16toh(h.num_buffers), 3, "left for the device to fill");
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16);
	cr_expect_eq(virtio_net_rx_hdr_fixup(&h, 0), -EPROTO);
	h = hdr(VIRTIO_NET_HDR_F_DATA_VALID | 0x40, 0, 0, 0, 0);
	cr_expect_eq(virtio_net_rx_hdr_fixup(&h, F(VIRTIO_NET_F_GUEST_CSUM)), 0);
	cr_expect_eq(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16);
	cr_expect_eq(virtio_net_rx_hdr_fixup(&h, F(VIRTIO_NET_F_GUEST_CSUM)), -EPROTO);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16);
	cr_expect_eq(virtio_net_rx_hdr_fixup(&h, OFFLOADS), 0);
	cr_expect_eq(le16toh(h.gso_size), 1448);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP, 1448, 34, 6);
	cr_expect_eq(virtio_net_rx_hdr_fixup(&h, OFFLOADS), -EPROTO);
}
