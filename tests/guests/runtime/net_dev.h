/* A guest-side virtio-net driver (virtio 1.2 section 5.1) over the runtime's virtio-mmio core
 * and virtqueues: receive queue 0, transmit queue 1, no control queue.
 *
 * Every buffer in both directions starts with the 12-byte struct virtio_net_hdr_v1 (5.1.6:
 * VERSION_1 is always negotiated). Receive buffers are posted in two shapes, alternately, so the
 * device meets both: one descriptor (header + frame), or two (a 12-byte header descriptor, then
 * the frame's). Without VIRTIO_NET_F_MRG_RXBUF each buffer holds a whole frame (5.1.6.3.1: 1526
 * bytes, or 65562 with GUEST_TSO/UFO); with it, num_buffers (5.1.6.4) says how many buffers a
 * frame took, and net_recv() gathers them. Transmit copies a frame into one of a few slots and
 * sends it as one descriptor, or (every other frame) as header + frame descriptors.
 *
 * Waiting: net_wait() sleeps (sti; hlt) on the device's interrupt, ring 0 only. net_recv(),
 * net_send(), net_post_rx() are plain memory and MMIO, so a ring-3 (run_user) loop may poll
 * with them. One CPU, not thread-safe. */
#ifndef GUEST_NET_DEV_H
#define GUEST_NET_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include "virtio_vq.h"

#define NET_HDR_LEN    12u    /* struct virtio_net_hdr_v1 */
#define NET_FRAME_MAX  65550u /* 5.1.6.3.1: a 65562-byte buffer minus the header */
#define NET_FRAME_STD  1514u  /* Ethernet header + 1500 bytes of MTU */
#define NET_QUEUE_SIZE 256u

struct net_dev_config {
	uint64_t wanted;     /* features beyond VERSION_1 and MAC (e.g. MRG_RXBUF, CSUM ...) */
	uint32_t rx_buf_len; /* bytes per receive buffer, header included; 0 = what the
			      * negotiated features need */
	uint16_t rx_nbufs;   /* 0 = NET_QUEUE_SIZE */
	uint16_t tx_nbufs;   /* transmit slots; 0 = 16 */
	uint32_t tx_buf_len; /* bytes per slot, header included; 0 = 12 + NET_FRAME_MAX */
	bool defer_rx;	     /* leave the receive queue empty until net_post_rx() */
	uint8_t vector;	     /* interrupt vector; 0 = no interrupt (polling only) */
};

struct net_dev {
	struct vdev *vdev;
	struct vq rx, tx;
	uint8_t mac[6];
	uint16_t mtu; /* config space mtu, or 1500 without VIRTIO_NET_F_MTU */
	bool mrg;
	uint32_t rx_buf_len;
	uint16_t rx_nbufs;
	uint8_t *rx_mem; /* rx_nbufs * rx_buf_len */
	bool *rx_posted; /* by buffer: with the device */
	uint32_t tx_buf_len;
	uint16_t tx_nbufs, tx_next;
	uint8_t *tx_mem;
	bool *tx_busy;
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, rx_bad;
	uint64_t rx_num_buffers_not_1; /* without MRG_RXBUF: headers whose num_buffers != 1 */
};

/* Negotiates (VERSION_1 and MAC required, cfg->wanted if offered), reads the config space, sets
 * up both queues, posts every receive buffer (unless cfg->defer_rx), routes the interrupt and
 * sets DRIVER_OK. Ring 0. Returns 0, or a VDEV_ERR_* / VQ_ERR_* (a message says which). */
int net_dev_init(struct net_dev *n, struct vdev *d, const struct net_dev_config *cfg);

/* Posts every receive buffer not already with the device, then kicks. */
void net_post_rx(struct net_dev *n);

/* Takes the next received frame: copies it (header stripped) into buf (up to cap bytes; the
 * rest is cut) and the header into *hdr when hdr is not NULL, gives the buffers back to the
 * device. Returns the frame's full length, 0 when none is waiting, -1 when the device broke a
 * rule (bad num_buffers, a used length shorter than the header; counted in rx_bad). */
int net_recv(struct net_dev *n, void *buf, uint32_t cap, struct virtio_net_hdr_v1 *hdr);

/* Sends one frame with header *hdr (NULL: all zero). Waits (polling, bounded) for a free slot.
 * Returns 0, or -1 when len is too long for a slot or no slot freed up in time. */
int net_send(struct net_dev *n, const void *frame, uint32_t len,
	     const struct virtio_net_hdr_v1 *hdr);

/* Takes back the transmit slots the device finished with. */
void net_tx_reclaim(struct net_dev *n);

/* Sleeps on the device's interrupt until a frame is waiting or timeout_ms pass. Returns true
 * when a frame is waiting. Ring 0, needs cfg->vector. */
bool net_wait(struct net_dev *n, uint32_t timeout_ms);

#endif
