/* virtio-net feature policy (virtio 1.2 section 5.1.3) and header rules (5.1.6), as pure
 * functions so they can be tested without a device:
 *   - which features a device offers over a given backend;
 *   - which feature sets a driver may accept (the dependencies of 5.1.3.1);
 *   - the tap offload flags (TUNSETOFFLOAD) that match the negotiated receive offloads;
 *   - the checks on a header the guest sends and on a header a backend delivers. */
#ifndef VIRTIO_NET_FEATURES_H
#define VIRTIO_NET_FEATURES_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 5.1.6: with VIRTIO_F_VERSION_1 the header always has num_buffers: 12 bytes. */
#define NET_HDR_LEN sizeof(struct virtio_net_hdr_v1)

/* Largest frame (after the header) the device moves in either direction: the 65550 bytes of
 * 5.1.6.3.1 (a 65562-byte buffer minus the 12-byte header), enough for a 64 KiB GSO frame. */
#define VIRTIO_NET_MAX_FRAME 65550u
#define VIRTIO_NET_MIN_FRAME 14u /* an Ethernet header */

/* Features offered over a backend. `vnet_hdr` and `offload_caps` (TUN_F_*) describe it: checksum
 * offload in both directions needs TUN_F_CSUM, TSO4/6 in both directions TUN_F_TSO4/6 too, so
 * that whatever the guest negotiates the backend can take. Always offered: MAC, STATUS, MTU,
 * MRG_RXBUF, CTRL_VQ, CTRL_RX, CTRL_MAC_ADDR, EVENT_IDX, INDIRECT_DESC, RING_PACKED, VERSION_1. */
uint64_t virtio_net_offered_features(bool vnet_hdr, unsigned offload_caps);

/* 5.1.3.1: e.g. GUEST_TSO4 needs GUEST_CSUM, HOST_TSO4 needs CSUM, CTRL_RX needs CTRL_VQ. */
bool virtio_net_features_consistent(uint64_t features);

/* TUN_F_* for TUNSETOFFLOAD from the driver's features: what the guest can receive. */
unsigned virtio_net_tun_offloads(uint64_t features);

/* A transmit header from the guest (host byte order fields after le16toh). Returns 0 when the
 * frame of `frame_len` bytes may be sent, with *hdr cleaned (flags the device does not know are
 * ignored, 5.1.6.2.2; num_buffers zeroed; an hdr_len hint past the frame zeroed), or -EPROTO when
 * it asks for an offload that was not negotiated, an unknown GSO type, or a checksum position
 * outside the frame. */
int virtio_net_tx_hdr_check(struct virtio_net_hdr_v1 *hdr, uint64_t features, size_t frame_len);

/* A receive header from a vnet_hdr backend. Returns 0 with *hdr made legal for the driver
 * (5.1.6.4: without GUEST_CSUM flags are 0), or -EPROTO when the frame needs an offload the
 * driver did not negotiate (partial checksum, GSO type) and must be dropped. num_buffers is not
 * touched. */
int virtio_net_rx_hdr_fixup(struct virtio_net_hdr_v1 *hdr, uint64_t features);

#endif
