/* The guest's side of MMDS on one network interface: Ethernet frames the guest transmits that
 * are for the MMDS address are taken out of its transmit path and answered here, inside the
 * VMM, as Firecracker's "dumbo" stack does: an ARP responder, a minimal TCP
 * (vmm/mmds/mmds_tcp.c) and HTTP/1.1 (vmm/mmds/mmds_http.c) over the shared store
 * (vmm/mmds/mmds.h).
 *
 * Every other frame is "not mine" after a look at two fields (mmds_frame_maybe_mine()), so
 * traffic that is not for MMDS pays nothing else. Everything the guest can make us hold is
 * bounded: MMDS_MAX_CONNS connections of MMDS_RX_BUF request bytes and one response each,
 * MMDS_MAX_PENDING queued ARP replies and resets.
 *
 * Not thread-safe: one stack belongs to one transmit path; only the store is shared. */
#ifndef VMM_MMDS_STACK_H
#define VMM_MMDS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mmds/mmds.h"
#include "vmm/mmds/mmds_tcp.h"
#include "vmm/mmds/packet.h"

#define MMDS_MAX_PENDING   100			    /* Firecracker's DEFAULT_MAX_PENDING_RESETS */
#define MMDS_CTL_FRAME_MAX 64			    /* an ARP reply or a bare TCP segment */
#define MMDS_MIN_FRAME_CAP (PKT_TCP_FRAME_HLEN + 4) /* what mmds_stack_tx() needs */

/* Firecracker's MMDS MAC address, the source of every frame MMDS sends. */
#define MMDS_MAC                                                                                   \
	{                                                                                          \
		0x06, 0x01, 0x23, 0x45, 0x67, 0x01                                                 \
	}

struct mmds_ctl_frame {
	uint8_t len;
	uint8_t buf[MMDS_CTL_FRAME_MAX];
};

struct mmds_stack {
	struct mmds *mmds;
	void (*random)(void *opaque, uint8_t *buf, size_t n);
	void *opaque;
	uint32_t ipv4; /* host byte order */
	uint8_t mac[6];
	uint16_t ip_id;
	size_t cursor; /* round robin over the connections */
	size_t pend_head, pend_count;
	struct mmds_ctl_frame pending[MMDS_MAX_PENDING];
	struct mmds_conn conns[MMDS_MAX_CONNS];
};

/* A stack answering at `ipv4` (host byte order) from `mmds`; `random` (NULL: getrandom(2))
 * makes initial sequence numbers and tokens. NULL when out of memory. */
struct mmds_stack *mmds_stack_new(struct mmds *mmds, uint32_t ipv4,
				  void (*random)(void *opaque, uint8_t *buf, size_t n),
				  void *opaque);
void mmds_stack_free(struct mmds_stack *s);

/* The cheap first look: an IPv4 packet to `ipv4`, or an ARP message whose target protocol
 * address is `ipv4`. Reads only the ethertype and that address. */
static inline bool mmds_frame_maybe_mine(const uint8_t *f, size_t len, uint32_t ipv4)
{
	if (len < PKT_ETH_HLEN + PKT_IPV4_HLEN)
		return false;
	uint16_t type = get_be16(f + 12);
	if (type == PKT_ETHERTYPE_IPV4)
		return get_be32(f + PKT_ETH_HLEN + 16) == ipv4;
	return type == PKT_ETHERTYPE_ARP && len >= PKT_ETH_HLEN + PKT_ARP_LEN &&
	       get_be32(f + PKT_ETH_HLEN + 24) == ipv4;
}

/* A frame the guest transmitted. False: not for MMDS, send it on as usual. True: MMDS took it
 * (answered, or dropped as malformed); it must not leave the VM. */
bool mmds_stack_rx(struct mmds_stack *s, const uint8_t *frame, size_t len, uint64_t now_ms);

/* The next frame MMDS has for the guest, written into buf (cap bytes, at least
 * MMDS_MIN_FRAME_CAP; a segment's payload is cut to fit). Returns its length, 0 when there is
 * none now. Also runs the retransmission timers. */
size_t mmds_stack_tx(struct mmds_stack *s, uint8_t *buf, size_t cap, uint64_t now_ms);

/* When mmds_stack_tx() next has something to do without new input (a retransmission timer),
 * UINT64_MAX for never. */
uint64_t mmds_stack_deadline(const struct mmds_stack *s);

/* Queues a control frame (an ARP reply, a reset, a last ACK); dropped when the queue is full
 * (the guest retransmits). Used by mmds_tcp.c. */
void mmds_stack_queue(struct mmds_stack *s, const uint8_t *frame, size_t len);

#endif
