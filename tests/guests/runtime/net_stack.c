/* The test guests' IPv4 stack: Ethernet, ARP, IPv4, ICMP echo, UDP (see net_stack.h). */
#include "net_stack.h"

#include <linux/icmp.h>

#include "net_tcp.h"
#include "platform.h"
#include "printf.h"
#include "string.h"
#include "virtio_mem.h"

#define ARP_RETRY_MS 200
#define NET_TTL	     64

/* RFC 826: the Ethernet/IPv4 ARP packet. <linux/if_arp.h> declares only the fixed part (its
 * address fields are under #if 0). */
struct arp_eth_ipv4 {
	uint16_t hrd, pro;
	uint8_t hln, pln;
	uint16_t op;
	uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

#define ARP_HRD_ETHER  1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint64_t net_now_ms(void)
{
	return clock_ticks() / (1000 * clock_ticks_per_us());
}

int net_if_init(struct net_if *ifc, struct net_dev *dev)
{
	*ifc = (struct net_if){.dev = dev};
	memcpy(ifc->mac, dev->mac, 6);
	ifc->rx = virtio_alloc(NET_FRAME_MAX, 64);
	ifc->tx = virtio_alloc(NET_FRAME_MAX, 64);
	return ifc->rx && ifc->tx ? 0 : -1;
}

void net_if_set_addr(struct net_if *ifc, uint32_t ip, uint32_t mask, uint32_t gw)
{
	ifc->ip = ip;
	ifc->mask = mask;
	ifc->gw = gw;
}

/* ---- checksums (RFC 1071) ---- */

uint32_t net_csum_add(uint32_t sum, const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint64_t s = sum;

	for (; len >= 2; b += 2, len -= 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (len)
		s += (uint32_t)b[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return net_htons((uint16_t)~sum);
}

uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

/* ---- Ethernet and ARP ---- */

static int send_frame(struct net_if *ifc, uint8_t *buf, const uint8_t dst[6], uint16_t type,
		      uint32_t len)
{
	struct ethhdr *e = (struct ethhdr *)buf;

	memcpy(e->h_dest, dst, 6);
	memcpy(e->h_source, ifc->mac, 6);
	e->h_proto = net_htons(type);
	return net_send(ifc->dev, buf, ETH_HLEN + len, NULL);
}

int net_send_eth(struct net_if *ifc, const uint8_t dst[6], uint16_t type, uint32_t len)
{
	return send_frame(ifc, ifc->tx, dst, type, len);
}

static void arp_learn(struct net_if *ifc, uint32_t ip, const uint8_t mac[6])
{
	struct net_arp_entry *e = NULL;

	for (unsigned i = 0; i < NET_ARP_ENTRIES && !e; i++) {
		if (ifc->arp[i].valid && ifc->arp[i].ip == ip)
			e = &ifc->arp[i];
	}
	if (!e)
		e = &ifc->arp[ifc->arp_next++ % NET_ARP_ENTRIES];
	*e = (struct net_arp_entry){.ip = ip, .valid = true};
	memcpy(e->mac, mac, 6);
}

static bool arp_lookup(struct net_if *ifc, uint32_t ip, uint8_t mac[6])
{
	for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
		if (ifc->arp[i].valid && ifc->arp[i].ip == ip) {
			memcpy(mac, ifc->arp[i].mac, 6);
			return true;
		}
	}
	return false;
}

static int arp_send(struct net_if *ifc, uint16_t op, const uint8_t tha[6], uint32_t tpa)
{
	/* Its own buffer: an ARP answer may go out while ifc->tx holds a packet being built. */
	struct arp_eth_ipv4 *a = (struct arp_eth_ipv4 *)(ifc->arp_tx + ETH_HLEN);
	uint32_t spa = net_htonl(ifc->ip), tpa_be = net_htonl(tpa);

	*a = (struct arp_eth_ipv4){.hrd = net_htons(ARP_HRD_ETHER),
				   .pro = net_htons(ETH_P_IP),
				   .hln = 6,
				   .pln = 4,
				   .op = net_htons(op)};
	memcpy(a->sha, ifc->mac, 6);
	memcpy(a->spa, &spa, 4);
	memcpy(a->tha, op == ARP_OP_REPLY ? tha : (const uint8_t[6]){0}, 6);
	memcpy(a->tpa, &tpa_be, 4);
	return send_frame(ifc, ifc->arp_tx, op == ARP_OP_REPLY ? tha : bcast_mac, ETH_P_ARP,
			  sizeof(*a));
}

static void arp_input(struct net_if *ifc, const uint8_t *p, uint32_t len)
{
	const struct arp_eth_ipv4 *a = (const void *)p;
	uint32_t spa, tpa;

	if (len < sizeof(*a) || a->hrd != net_htons(ARP_HRD_ETHER) ||
	    a->pro != net_htons(ETH_P_IP) || a->hln != 6 || a->pln != 4)
		return;
	memcpy(&spa, a->spa, 4);
	memcpy(&tpa, a->tpa, 4);
	spa = net_ntohl(spa);
	tpa = net_ntohl(tpa);
	if (spa)
		arp_learn(ifc, spa, a->sha);
	if (a->op == net_htons(ARP_OP_REQUEST) && ifc->ip && tpa == ifc->ip) {
		uint8_t sha[6];

		memcpy(sha, a->sha, 6);
		if (arp_send(ifc, ARP_OP_REPLY, sha, spa) == 0)
			ifc->arp_replies++;
	}
}

bool net_arp_resolve(struct net_if *ifc, uint32_t ip, uint8_t mac[6], uint32_t timeout_ms)
{
	uint64_t end = net_now_ms() + timeout_ms, next = 0;

	if (ip == NET_IP_BCAST || !ifc->ip) {
		memcpy(mac, bcast_mac, 6);
		return true;
	}
	/* While resolving only ARP is handled (ifc->tx holds the packet waiting to go). */
	ifc->resolving = true;
	while (!arp_lookup(ifc, ip, mac)) {
		uint64_t now = net_now_ms();

		if (now >= end)
			break;
		if (now >= next) {
			arp_send(ifc, ARP_OP_REQUEST, NULL, ip);
			next = now + ARP_RETRY_MS;
		}
		net_poll_wait(ifc, (uint32_t)(next - now));
	}
	ifc->resolving = false;
	return arp_lookup(ifc, ip, mac);
}

/* ---- IPv4 ---- */

int net_send_ip(struct net_if *ifc, uint32_t dst, uint8_t proto, uint32_t len)
{
	static uint16_t ip_id;
	struct iphdr *ip = (struct iphdr *)(ifc->tx + NET_IP_OFF);
	bool local = (dst & ifc->mask) == (ifc->ip & ifc->mask);
	uint8_t mac[6];

	if (len > NET_FRAME_MAX - NET_L4_OFF || NET_IP_HLEN + len > 0xffff)
		return -1;
	/* Resolve first: answering ARP uses ifc->tx's Ethernet part, never its IPv4 payload. */
	if (!net_arp_resolve(ifc, local || !ifc->gw ? dst : ifc->gw, mac, 3000))
		return -1;
	*ip = (struct iphdr){.ihl = 5,
			     .version = 4,
			     .tot_len = net_htons((uint16_t)(NET_IP_HLEN + len)),
			     .id = net_htons(ip_id++),
			     .ttl = NET_TTL,
			     .protocol = proto,
			     .saddr = net_htonl(ifc->ip),
			     .daddr = net_htonl(dst)};
	ip->check = net_csum_fold(net_csum_add(0, ip, NET_IP_HLEN));
	return net_send_eth(ifc, mac, ETH_P_IP, NET_IP_HLEN + len);
}

int net_send_udp(struct net_if *ifc, uint32_t dst, uint16_t sport, uint16_t dport, const void *data,
		 uint32_t len)
{
	struct udphdr *u = (struct udphdr *)(ifc->tx + NET_L4_OFF);
	uint8_t *payload = ifc->tx + NET_UDP_DATA_OFF;
	uint16_t ulen = (uint16_t)(sizeof(*u) + len);
	uint32_t sum;

	if (len > 0xffff - sizeof(*u) - NET_IP_HLEN)
		return -1;
	if (data != payload)
		memmove(payload, data, len);
	*u = (struct udphdr){
	    .source = net_htons(sport), .dest = net_htons(dport), .len = net_htons(ulen)};
	sum = net_pseudo_sum(ifc->ip, dst, IPPROTO_UDP, ulen);
	u->check = net_csum_fold(net_csum_add(sum, u, ulen));
	if (!u->check)
		u->check = 0xffff; /* RFC 768: a computed 0 is sent as all ones */
	return net_send_ip(ifc, dst, IPPROTO_UDP, ulen);
}

/* Answers an echo request in place: the reply is the request with type 0 (RFC 792). */
static void icmp_input(struct net_if *ifc, const struct iphdr *ip, uint8_t *p, uint32_t len)
{
	struct icmphdr *h = (struct icmphdr *)p;

	if (len < sizeof(*h) || h->type != ICMP_ECHO || net_csum_fold(net_csum_add(0, p, len)))
		return;
	memcpy(ifc->tx + NET_L4_OFF, p, len);
	h = (struct icmphdr *)(ifc->tx + NET_L4_OFF);
	h->type = ICMP_ECHOREPLY;
	h->checksum = 0;
	h->checksum = net_csum_fold(net_csum_add(0, h, len));
	if (net_send_ip(ifc, net_ntohl(ip->saddr), IPPROTO_ICMP, len) == 0)
		ifc->icmp_replies++;
}

static void udp_input(struct net_if *ifc, const struct iphdr *ip, const uint8_t *p, uint32_t len,
		      const uint8_t *src_mac)
{
	const struct udphdr *u = (const void *)p;
	uint32_t ulen = len >= sizeof(*u) ? net_ntohs(u->len) : 0;
	struct net_udp d;

	if (ulen < sizeof(*u) || ulen > len || !ifc->on_udp)
		return;
	/* With GUEST_CSUM a frame may arrive with only a partial checksum (5.1.6.4). */
	if (u->check && !(ifc->rx_hdr_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    net_csum_fold(net_csum_add(net_pseudo_sum(net_ntohl(ip->saddr), net_ntohl(ip->daddr),
						      IPPROTO_UDP, (uint16_t)ulen),
				       p, ulen))) {
		ifc->dropped++;
		return;
	}
	d = (struct net_udp){.src_ip = net_ntohl(ip->saddr),
			     .dst_ip = net_ntohl(ip->daddr),
			     .src_port = net_ntohs(u->source),
			     .dst_port = net_ntohs(u->dest),
			     .data = p + sizeof(*u),
			     .len = ulen - (uint32_t)sizeof(*u),
			     .src_mac = src_mac};
	ifc->on_udp(ifc, &d);
}

static void ip_input(struct net_if *ifc, uint8_t *frame, uint32_t len)
{
	struct iphdr *ip = (struct iphdr *)(frame + NET_IP_OFF);
	uint32_t hl, tot, dst;

	if (len < NET_L4_OFF || ip->version != 4 || ip->ihl < 5)
		return;
	hl = ip->ihl * 4u;
	tot = net_ntohs(ip->tot_len);
	dst = net_ntohl(ip->daddr);
	/* No reassembly: fragments (MF set or an offset) are dropped. */
	if (tot < hl || ETH_HLEN + tot > len || (net_ntohs(ip->frag_off) & 0x3fff) ||
	    net_csum_fold(net_csum_add(0, ip, hl))) {
		ifc->dropped++;
		return;
	}
	if (ifc->ip && dst != ifc->ip && dst != NET_IP_BCAST && dst != (ifc->ip | ~ifc->mask))
		return;
	if (ip->protocol == IPPROTO_ICMP && ifc->ip)
		icmp_input(ifc, ip, frame + NET_IP_OFF + hl, tot - hl);
	else if (ip->protocol == IPPROTO_UDP)
		udp_input(ifc, ip, frame + NET_IP_OFF + hl, tot - hl, frame + 6);
	else if (ip->protocol == IPPROTO_TCP && ifc->tcp)
		tcp_input(ifc, ip, frame + NET_IP_OFF + hl, tot - hl);
}

static void frame_input(struct net_if *ifc, uint8_t *frame, uint32_t len)
{
	const struct ethhdr *e = (const void *)frame;
	uint16_t type;

	if (len < ETH_HLEN)
		return;
	type = net_ntohs(e->h_proto);
	if (ifc->resolving && type != ETH_P_ARP)
		ifc->dropped++;
	else if (type == ETH_P_ARP)
		arp_input(ifc, frame + ETH_HLEN, len - ETH_HLEN);
	else if (type == ETH_P_IP)
		ip_input(ifc, frame, len);
	else if (ifc->on_raw)
		ifc->on_raw(ifc, frame, len);
}

int net_poll(struct net_if *ifc)
{
	struct virtio_net_hdr_v1 h;
	int n = 0, len;

	while ((len = net_recv(ifc->dev, ifc->rx, NET_FRAME_MAX, &h)) != 0) {
		if (len < 0)
			continue;
		ifc->rx_hdr_flags = h.flags;
		if (!ifc->on_rx || !ifc->on_rx(ifc, ifc->rx, (uint32_t)len))
			frame_input(ifc, ifc->rx, (uint32_t)len);
		n++;
	}
	net_tx_reclaim(ifc->dev);
	return n;
}

int net_poll_wait(struct net_if *ifc, uint32_t timeout_ms)
{
	net_wait(ifc->dev, timeout_ms);
	return net_poll(ifc);
}
