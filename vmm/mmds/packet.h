/* Ethernet II, ARP (RFC 826), IPv4 (RFC 791) and TCP (RFC 9293) headers as the MMDS responder
 * reads and writes them: big-endian field access, the Internet checksum (RFC 1071), a parser
 * that checks every length against the frame before it is used, and writers of whole reply
 * frames. No state; nothing here allocates. */
#ifndef VMM_MMDS_PACKET_H
#define VMM_MMDS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_ETH_HLEN	   14
#define PKT_ETHERTYPE_IPV4 0x0800
#define PKT_ETHERTYPE_ARP  0x0806
#define PKT_ARP_LEN	   28 /* Ethernet/IPv4 ARP */
#define PKT_IPV4_HLEN	   20 /* ours: no options */
#define PKT_TCP_HLEN	   20 /* ours: no options but MSS on SYN-ACK */
#define PKT_TCP_FRAME_HLEN (PKT_ETH_HLEN + PKT_IPV4_HLEN + PKT_TCP_HLEN)
#define PKT_IPPROTO_TCP	   6

#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

/* An ARP request or reply for Ethernet and IPv4. */
struct arp_msg {
	uint16_t op; /* 1 request, 2 reply */
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
};

/* Parses the ARP payload of a frame (ethertype already ARP). False unless it is well formed for
 * Ethernet (htype 1, hlen 6) and IPv4 (ptype 0x0800, plen 4). */
bool arp_parse(const uint8_t *frame, size_t len, struct arp_msg *m);

/* A TCP segment in an IPv4 packet in an Ethernet frame, parsed and length-checked: `payload`
 * points into the frame. */
struct tcp_seg {
	uint8_t src_mac[6];
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss; /* the MSS option, 0 when absent */
	const uint8_t *payload;
	size_t len;
};

enum ipv4_parse {
	IPV4_TCP,   /* a well-formed TCP segment: *seg filled */
	IPV4_OTHER, /* a well-formed packet of another protocol */
	IPV4_BAD,   /* malformed: lengths, header checksum, version, or a fragment */
};

/* Parses an IPv4 frame (ethertype already IPv4). The IPv4 header checksum is checked; the TCP
 * checksum is not (a guest with checksum offload leaves a partial one, and the frame never
 * left the host). Fragments are IPV4_BAD: nobody fragments a request to MMDS. */
enum ipv4_parse ipv4_parse(const uint8_t *frame, size_t len, struct tcp_seg *seg);

/* Writes an ARP reply frame from (mac, ip) to the requester of `req` into buf (at least
 * PKT_ETH_HLEN + PKT_ARP_LEN bytes). Returns its length. */
size_t arp_write_reply(uint8_t *buf, const uint8_t mac[6], uint32_t ip, const struct arp_msg *req);

/* What a TCP segment we send carries. */
struct tcp_out {
	const uint8_t *src_mac, *dst_mac;
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port, ip_id;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss; /* non-zero: an MSS option (SYN-ACK) */
	const uint8_t *payload;
	size_t len;
};

/* Writes the frame (Ethernet, IPv4 with DF, TCP, payload, both checksums) into buf, which must
 * hold PKT_TCP_FRAME_HLEN + 4 + o->len bytes. Returns its length. */
size_t tcp_write(uint8_t *buf, const struct tcp_out *o);

#endif
