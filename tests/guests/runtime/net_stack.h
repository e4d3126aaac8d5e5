/* A tiny IPv4 network stack for the test guests, over net_dev.h: Ethernet II, ARP (answers
 * requests for our address, resolves with a small cache; RFC 826), IPv4 without options or
 * fragments (RFC 791), ICMP echo reply (RFC 792), UDP (RFC 768), DHCP client (net_dhcp.h) and a
 * one-connection TCP (net_tcp.h). Frames of other EtherTypes go to a hook, so a test can echo
 * raw frames.
 *
 * Addresses are host byte order in the API (NET_IP(192,168,77,2)), network order on the wire.
 * Receiving is driven by the caller: net_poll() handles every waiting frame; net_poll_wait()
 * first sleeps on the device's interrupt (ring 0). One interface, one CPU. */
#ifndef GUEST_NET_STACK_H
#define GUEST_NET_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "net_dev.h"

#define NET_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define NET_IP_BCAST	   0xffffffffu
#define NET_ARP_ENTRIES	   8
#define NET_IP_HLEN	   20u
#define NET_IP_OFF	   ETH_HLEN		    /* IPv4 header in a frame */
#define NET_L4_OFF	   (ETH_HLEN + NET_IP_HLEN) /* its payload */
#define NET_UDP_DATA_OFF   (NET_L4_OFF + sizeof(struct udphdr))

static inline uint16_t net_htons(uint16_t v)
{
	return __builtin_bswap16(v);
}

static inline uint32_t net_htonl(uint32_t v)
{
	return __builtin_bswap32(v);
}

#define net_ntohs net_htons
#define net_ntohl net_htonl

struct net_if;
struct tcp_conn;

/* A received UDP datagram, pointers into the receive buffer. */
struct net_udp {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	const uint8_t *data;
	uint32_t len;
	const uint8_t *src_mac;
};

typedef void (*net_raw_fn)(struct net_if *ifc, uint8_t *frame, uint32_t len);
typedef void (*net_udp_fn)(struct net_if *ifc, const struct net_udp *u);
/* Sees a received frame before the stack does; returns true when it took the frame (the stack
 * then ignores it). */
typedef bool (*net_rx_fn)(struct net_if *ifc, uint8_t *frame, uint32_t len);

struct net_arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	bool valid;
};

struct net_if {
	struct net_dev *dev;
	uint8_t mac[6];
	uint32_t ip, mask, gw, dns; /* 0 until configured */
	struct net_arp_entry arp[NET_ARP_ENTRIES];
	unsigned arp_next;
	uint8_t *rx;	      /* receive buffer, NET_FRAME_MAX bytes */
	uint8_t *tx;	      /* frame under construction, NET_FRAME_MAX bytes */
	uint8_t arp_tx[64];   /* ARP requests and answers */
	bool resolving;	      /* in net_arp_resolve(): other frames are dropped */
	uint8_t rx_hdr_flags; /* virtio_net_hdr flags of the frame being handled */
	net_raw_fn on_raw;    /* EtherTypes other than IPv4 and ARP */
	net_udp_fn on_udp;
	net_rx_fn on_rx;      /* every received frame first, when set */
	void *ctx;	      /* for the hooks */
	struct tcp_conn *tcp; /* the one TCP connection, or NULL */
	uint64_t arp_replies, icmp_replies, dropped;
};

/* Ties the stack to a device that net_dev_init() set up. Allocates its buffers. Returns 0 or -1. */
int net_if_init(struct net_if *ifc, struct net_dev *dev);
void net_if_set_addr(struct net_if *ifc, uint32_t ip, uint32_t mask, uint32_t gw);

/* Handles every waiting frame; returns how many. */
int net_poll(struct net_if *ifc);
/* Sleeps until a frame arrives or timeout_ms pass, then net_poll(). Ring 0. */
int net_poll_wait(struct net_if *ifc, uint32_t timeout_ms);

/* The Internet checksum (RFC 1071) of p[0..len) added to `sum` (a partial sum, 0 to start). */
uint32_t net_csum_add(uint32_t sum, const void *p, uint32_t len);
uint16_t net_csum_fold(uint32_t sum);
/* The TCP/UDP pseudo-header sum (RFC 793 3.1, RFC 768); addresses host order. */
uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* Sends ifc->tx[0..ETH_HLEN + len) after filling its Ethernet header. Returns 0 or -1. */
int net_send_eth(struct net_if *ifc, const uint8_t dst[6], uint16_t type, uint32_t len);
/* Sends ifc->tx's IPv4 payload (at NET_L4_OFF, `len` bytes) to dst: fills the IPv4 header,
 * resolves the next hop (dst on the subnet, else the gateway; broadcast for NET_IP_BCAST or
 * while unconfigured). Returns 0 or -1 (no ARP answer). */
int net_send_ip(struct net_if *ifc, uint32_t dst, uint8_t proto, uint32_t len);
/* Sends a UDP datagram with `data` (copied; may already be at NET_UDP_DATA_OFF in ifc->tx). */
int net_send_udp(struct net_if *ifc, uint32_t dst, uint16_t sport, uint16_t dport, const void *data,
		 uint32_t len);

/* The MAC of `ip` (ARP request every 200 ms until timeout_ms). Returns true when known. */
bool net_arp_resolve(struct net_if *ifc, uint32_t ip, uint8_t mac[6], uint32_t timeout_ms);

/* Milliseconds since an arbitrary start (TSC). */
uint64_t net_now_ms(void);

#endif
