/* virtio-net feature policy and header rules (see features.h). Section numbers: virtio 1.2.
 */
#include "virtio/net/features.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "virtio/core/device.h"

#define F(bit) (1ULL << (bit))

uint64_t virtio_net_offered_features(bool vnet_hdr, unsigned caps)
{
	uint64_t f = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
		     F(VIRTIO_NET_F_MTU) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |
		     F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		     VIRTIO_DEV_RING_FEATURES;

	if (!vnet_hdr || !(caps & TUN_F_CSUM))
		return f; /* no header to carry offload metadata: no offloads at all */
	f |= F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM);
	if (caps & TUN_F_TSO4)
		f |= F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4);
	if (caps & TUN_F_TSO6)
		f |= F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO6);
	return f;
}

/* Each row: a feature and the features of which at least one must come with it (5.1.3.1). */
static const struct {
	unsigned bit;
	uint64_t needs_any;
} deps[] = {
    {VIRTIO_NET_F_GUEST_TSO4, F(VIRTIO_NET_F_GUEST_CSUM)},
    {VIRTIO_NET_F_GUEST_TSO6, F(VIRTIO_NET_F_GUEST_CSUM)},
    {VIRTIO_NET_F_GUEST_ECN, F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6)},
    {VIRTIO_NET_F_GUEST_UFO, F(VIRTIO_NET_F_GUEST_CSUM)},
    {VIRTIO_NET_F_HOST_TSO4, F(VIRTIO_NET_F_CSUM)},
    {VIRTIO_NET_F_HOST_TSO6, F(VIRTIO_NET_F_CSUM)},
    {VIRTIO_NET_F_HOST_ECN, F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6)},
    {VIRTIO_NET_F_HOST_UFO, F(VIRTIO_NET_F_CSUM)},
    {VIRTIO_NET_F_CTRL_RX, F(VIRTIO_NET_F_CTRL_VQ)},
    {VIRTIO_NET_F_CTRL_VLAN, F(VIRTIO_NET_F_CTRL_VQ)},
    {VIRTIO_NET_F_GUEST_ANNOUNCE, F(VIRTIO_NET_F_CTRL_VQ)},
    {VIRTIO_NET_F_MQ, F(VIRTIO_NET_F_CTRL_VQ)},
    {VIRTIO_NET_F_CTRL_MAC_ADDR, F(VIRTIO_NET_F_CTRL_VQ)},
    {VIRTIO_NET_F_CTRL_RX_EXTRA, F(VIRTIO_NET_F_CTRL_RX)},
};

bool virtio_net_features_consistent(uint64_t features)
{
	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		if ((features & F(deps[i].bit)) && !(features & deps[i].needs_any))
			return false;
	return true;
}

unsigned virtio_net_tun_offloads(uint64_t features)
{
	unsigned flags = 0;

	/* The tap ignores the TSO flags without TUN_F_CSUM, as the guest does without GUEST_CSUM */
	if (!(features & F(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	flags |= TUN_F_CSUM;
	if (features & F(VIRTIO_NET_F_GUEST_TSO4))
		flags |= TUN_F_TSO4;
	if (features & F(VIRTIO_NET_F_GUEST_TSO6))
		flags |= TUN_F_TSO6;
	if (features & F(VIRTIO_NET_F_GUEST_ECN))
		flags |= TUN_F_TSO_ECN;
	return flags;
}

/* The feature a GSO type needs in the given direction, or 0 when the type is unknown. */
static unsigned gso_feature(uint8_t type, bool host)
{
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return host ? VIRTIO_NET_F_HOST_TSO4 : VIRTIO_NET_F_GUEST_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return host ? VIRTIO_NET_F_HOST_TSO6 : VIRTIO_NET_F_GUEST_TSO6;
	case VIRTIO_NET_HDR_GSO_UDP:
		return host ? VIRTIO_NET_F_HOST_UFO : VIRTIO_NET_F_GUEST_UFO;
	default:
		return 0;
	}
}

/* GSO type (ECN bit included) allowed by the features of one direction? */
static bool gso_allowed(uint8_t gso_type, uint64_t features, bool host)
{
	uint8_t type = gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	unsigned ecn = host ? VIRTIO_NET_F_HOST_ECN : VIRTIO_NET_F_GUEST_ECN;
	unsigned need;

	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return gso_type == VIRTIO_NET_HDR_GSO_NONE;
	need = gso_feature(type, host);
	if (!need || !(features & F(need)))
		return false;
	return !(gso_type & VIRTIO_NET_HDR_GSO_ECN) || (features & F(ecn));
}

int virtio_net_tx_hdr_check(struct virtio_net_hdr_v1 *hdr, uint64_t features, size_t frame_len)
{
	/* 5.1.6.2.2: the device ignores flag bits it does not recognise; DATA_VALID and RSC_INFO
	 * mean nothing on transmit. */
	hdr->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr->num_buffers = 0;
	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t start = le16toh(hdr->csum_start), off = le16toh(hdr->csum_offset);

		if (!(features & F(VIRTIO_NET_F_CSUM)))
			return -EPROTO; /* 5.1.6.2.1: only with VIRTIO_NET_F_CSUM */
		if (start + off + 2 > frame_len)
			return -EPROTO; /* the checksum would land outside the frame */
	}
	/* hdr_len is only a hint (5.1.6.2, without GUEST_HDRLEN); one past the frame makes the
	 * tap refuse the frame, so drop the hint rather than the frame. */
	if (le16toh(hdr->hdr_len) > frame_len)
		hdr->hdr_len = 0;
	if (!gso_allowed(hdr->gso_type, features, true))
		return -EPROTO;
	if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (hdr->gso_size == 0 || !(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)))
		return -EPROTO; /* segmentation needs a segment size and a partial checksum */
	return 0;
}

int virtio_net_rx_hdr_fixup(struct virtio_net_hdr_v1 *hdr, uint64_t features)
{
	if (!(features & F(VIRTIO_NET_F_GUEST_CSUM))) {
		/* 5.1.6.4.1: flags 0 and a fully checksummed frame; a partial checksum the guest
		 * cannot complete makes the frame unusable. */
		if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return -EPROTO;
		hdr->flags = 0;
	} else {
		hdr->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (!gso_allowed(hdr->gso_type, features, false))
		return -EPROTO;
	if (hdr->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		hdr->gso_size = 0;
	return 0;
}
