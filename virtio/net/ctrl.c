/* virtio-net control queue (virtio 1.2 5.1.6.5): struct virtio_net_ctrl_hdr {class, cmd}, the
 * command's data (device-readable), then one device-writable ack byte. What Linux sends with the
 * features we offer: RX PROMISC / ALLMULTI (CTRL_RX), MAC TABLE_SET (CTRL_RX), MAC ADDR_SET
 * (CTRL_MAC_ADDR) and MQ VQ_PAIRS_SET (MQ). Each is validated in full before anything changes;
 * anything else, or any size mismatch, answers VIRTIO_NET_ERR. */
#include <endian.h>
#include <string.h>

#include "virtio/net/internal.h"

#define OK  VIRTIO_NET_OK
#define ERR VIRTIO_NET_ERR

/* 5.1.6.5.1: one byte, 0 = off, anything else = on. */
static uint8_t ctrl_rx(struct vnet *n, uint8_t cmd)
{
	struct vq_chain *c = &n->ctrl_chain;
	uint8_t on;

	if (!virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_CTRL_RX))
		return ERR;
	if (vq_chain_readable(c) != 1 || vq_chain_read(c, n->dev.mem, &on, 1) < 0)
		return ERR;
	if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		n->rx_mode.promisc = on != 0;
	else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
		n->rx_mode.allmulti = on != 0;
	else
		return ERR; /* ALLUNI..NOBCAST need CTRL_RX_EXTRA, not offered */
	return OK;
}

/* One struct virtio_net_ctrl_mac: le32 entries, then entries * 6 bytes. Entries beyond `max`
 * are skipped (not read one by one: a hostile count is bounded by the chain length only) and
 * reported as overflow. Returns 0 or -1 (malformed). */
static int read_mac_table(struct vnet *n, uint8_t (*tab)[6], unsigned *count, bool *overflow)
{
	struct vq_chain *c = &n->ctrl_chain;
	uint32_t entries;
	uint64_t keep;

	if (vq_chain_read(c, n->dev.mem, &entries, sizeof(entries)) < 0)
		return -1;
	entries = le32toh(entries);
	if ((uint64_t)entries * 6 > vq_chain_readable(c))
		return -1;
	keep = entries < VIRTIO_NET_MAC_TABLE ? entries : VIRTIO_NET_MAC_TABLE;
	if (keep && vq_chain_read(c, n->dev.mem, tab, keep * 6) < 0)
		return -1;
	if (vq_chain_skip_read(c, (entries - keep) * 6) < 0)
		return -1;
	*count = (unsigned)keep;
	*overflow = entries > keep;
	return 0;
}

/* 5.1.6.5.2: unicast table then multicast table, and nothing after. */
static uint8_t mac_table_set(struct vnet *n)
{
	struct virtio_net_rx_mode m = n->rx_mode;

	if (!virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_CTRL_RX))
		return ERR;
	if (read_mac_table(n, m.uni, &m.n_uni, &m.uni_overflow) < 0 ||
	    read_mac_table(n, m.multi, &m.n_multi, &m.multi_overflow) < 0 ||
	    vq_chain_readable(&n->ctrl_chain) != 0)
		return ERR;
	n->rx_mode = m;
	return OK;
}

/* 5.1.6.5.2: the new default MAC, also shown in the config space mac field. */
static uint8_t mac_addr_set(struct vnet *n)
{
	uint8_t mac[6];

	if (!virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_CTRL_MAC_ADDR))
		return ERR;
	if (vq_chain_readable(&n->ctrl_chain) != 6 ||
	    vq_chain_read(&n->ctrl_chain, n->dev.mem, mac, 6) < 0)
		return ERR;
	memcpy(n->rx_mode.mac, mac, 6);
	memcpy(n->cfg.mac, mac, 6);
	return OK;
}

/* 5.1.6.5.5: le16 virtqueue_pairs, 1..max_virtqueue_pairs, only with VIRTIO_NET_F_MQ. The new
 * count holds before the command is acknowledged: from then on no frame reaches a receive queue
 * beyond it. The control queue's group lock is held; the pairs belong to every group. */
static uint8_t mq_pairs_set(struct vnet *n)
{
	struct virtio_net_ctrl_mq mq;
	uint16_t pairs;

	if (!virtio_dev_has_feature(&n->dev, VIRTIO_NET_F_MQ))
		return ERR;
	if (vq_chain_readable(&n->ctrl_chain) != sizeof(mq) ||
	    vq_chain_read(&n->ctrl_chain, n->dev.mem, &mq, sizeof(mq)) < 0)
		return ERR;
	pairs = le16toh(mq.virtqueue_pairs);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs)
		return ERR;
	virtio_dev_lock_groups(&n->dev, n->dev.queue_group[net_ctrlq(n)]);
	net_set_pairs(n, pairs);
	virtio_dev_unlock_groups(&n->dev, n->dev.queue_group[net_ctrlq(n)]);
	return OK;
}

static uint8_t ctrl_command(struct vnet *n)
{
	struct virtio_net_ctrl_hdr h;

	if (vq_chain_read(&n->ctrl_chain, n->dev.mem, &h, sizeof(h)) < 0)
		return ERR;
	if (h.class == VIRTIO_NET_CTRL_RX)
		return ctrl_rx(n, h.cmd);
	if (h.class == VIRTIO_NET_CTRL_MAC && h.cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET)
		return mac_table_set(n);
	if (h.class == VIRTIO_NET_CTRL_MAC && h.cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET)
		return mac_addr_set(n);
	if (h.class == VIRTIO_NET_CTRL_MQ && h.cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET)
		return mq_pairs_set(n);
	return ERR; /* RSS_CONFIG and HASH_CONFIG need RSS / HASH_REPORT, not offered */
}

/* One command: carried out (or refused), answered in its ack byte, completed. No writable byte:
 * the driver gets no answer (used len 0), nothing else. */
static int ctrl_chain(struct virtio_dev *dev, struct vq_chain *c, void *opaque, uint64_t *bytes)
{
	struct vnet *n = opaque;
	uint8_t ack = ctrl_command(n);

	(void)bytes;
	if (vq_chain_writable(c))
		vq_chain_write(c, dev->mem, &ack, 1);
	if (ack != VIRTIO_NET_OK)
		virtio_dev_count_error(dev); /* a command refused */
	return VIRTIO_CHAIN_PUSH;
}

/* Through the one serve loop (virtio/core/serve.h), kicks re-armed as every queue's are
 * (virtio_dev_rearm_kicks). A driver sends one command and waits for its answer (Linux spins on
 * it); a full ring per wakeup is more than enough, and a driver that keeps the ring full cannot
 * hold the control queue's thread (pair 0's too) for longer than that. */
void net_ctrl_kick(struct vnet *n)
{
	const struct virtio_server s = {
	    .chain = &n->ctrl_chain,
	    .max_chains = VIRTIO_NET_QUEUE_SIZE,
	    .handle = ctrl_chain,
	    .opaque = n,
	};

	virtio_serve_queue(&n->dev, net_ctrlq(n), &s);
}
