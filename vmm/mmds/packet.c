/* Ethernet, ARP, IPv4 and TCP headers. See packet.h. */
#include "vmm/mmds/packet.h"

#include <string.h>

uint32_t inet_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i = 0;
	for (; i + 1 < len; i += 2)
		sum += get_be16(p + i);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

uint16_t inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool arp_parse(const uint8_t *frame, size_t len, struct arp_msg *m)
{
	const uint8_t *a = frame + PKT_ETH_HLEN;
	if (len < PKT_ETH_HLEN + PKT_ARP_LEN)
		return false;
	if (get_be16(a) != 1 || get_be16(a + 2) != PKT_ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
		return false;
	m->op = get_be16(a + 6);
	memcpy(m->sha, a + 8, 6);
	m->spa = get_be32(a + 14);
	memcpy(m->tha, a + 18, 6);
	m->tpa = get_be32(a + 24);
	return true;
}

/* The TCP options of a segment: only MSS (kind 2, length 4) is read; every option's length is
 * checked against the header (RFC 9293 section 3.2). */
static bool tcp_options(const uint8_t *o, size_t n, uint16_t *mss)
{
	size_t i = 0;
	while (i < n) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			return false;
		if (o[i] == 2 && o[i + 1] == 4)
			*mss = get_be16(o + i + 2);
		i += o[i + 1];
	}
	return true;
}

static enum ipv4_parse tcp_parse(const uint8_t *t, size_t len, struct tcp_seg *seg)
{
	if (len < PKT_TCP_HLEN)
		return IPV4_BAD;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < PKT_TCP_HLEN || doff > len)
		return IPV4_BAD;
	seg->src_port = get_be16(t);
	seg->dst_port = get_be16(t + 2);
	seg->seq = get_be32(t + 4);
	seg->ack = get_be32(t + 8);
	seg->flags = t[13] & 0x3f;
	seg->window = get_be16(t + 14);
	seg->mss = 0;
	if (!tcp_options(t + PKT_TCP_HLEN, doff - PKT_TCP_HLEN, &seg->mss))
		return IPV4_BAD;
	seg->payload = t + doff;
	seg->len = len - doff;
	return IPV4_TCP;
}

enum ipv4_parse ipv4_parse(const uint8_t *frame, size_t len, struct tcp_seg *seg)
{
	const uint8_t *ip = frame + PKT_ETH_HLEN;
	if (len < PKT_ETH_HLEN + PKT_IPV4_HLEN || ip[0] >> 4 != 4)
		return IPV4_BAD;
	size_t ihl = (size_t)(ip[0] & 15) * 4, total = get_be16(ip + 2);
	if (ihl < PKT_IPV4_HLEN || total < ihl || total > len - PKT_ETH_HLEN)
		return IPV4_BAD;
	if (inet_fold(inet_sum(ip, ihl, 0)) != 0)
		return IPV4_BAD;
	if (get_be16(ip + 6) & 0x3fff) /* MF, or a fragment offset */
		return IPV4_BAD;
	if (ip[9] != PKT_IPPROTO_TCP)
		return IPV4_OTHER;
	memcpy(seg->src_mac, frame + 6, 6);
	seg->src_ip = get_be32(ip + 12);
	seg->dst_ip = get_be32(ip + 16);
	return tcp_parse(ip + ihl, total - ihl, seg); /* padding after `total` is not data */
}

static void eth_write(uint8_t *buf, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	put_be16(buf + 12, type);
}

size_t arp_write(uint8_t *buf, const uint8_t eth_dst[6], const struct arp_msg *m)
{
	uint8_t *a = buf + PKT_ETH_HLEN;
	eth_write(buf, eth_dst, m->sha, PKT_ETHERTYPE_ARP);
	put_be16(a, 1);
	put_be16(a + 2, PKT_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put_be16(a + 6, m->op);
	memcpy(a + 8, m->sha, 6);
	put_be32(a + 14, m->spa);
	memcpy(a + 18, m->tha, 6);
	put_be32(a + 24, m->tpa);
	return PKT_ETH_HLEN + PKT_ARP_LEN;
}

size_t arp_write_reply(uint8_t *buf, const uint8_t mac[6], uint32_t ip, const struct arp_msg *req)
{
	struct arp_msg r = {.op = 2, .spa = ip, .tpa = req->spa};
	memcpy(r.sha, mac, 6);
	memcpy(r.tha, req->sha, 6);
	return arp_write(buf, req->sha, &r);
}

static void ipv4_write(uint8_t *ip, const struct tcp_out *o, size_t tcp_len)
{
	ip[0] = 0x45;
	ip[1] = 0;
	put_be16(ip + 2, (uint16_t)(PKT_IPV4_HLEN + tcp_len));
	put_be16(ip + 4, o->ip_id);
	put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = PKT_IPPROTO_TCP;
	put_be16(ip + 10, 0);
	put_be32(ip + 12, o->src_ip);
	put_be32(ip + 16, o->dst_ip);
	put_be16(ip + 10, inet_fold(inet_sum(ip, PKT_IPV4_HLEN, 0)));
}

size_t tcp_write(uint8_t *buf, const struct tcp_out *o)
{
	size_t hlen = PKT_TCP_HLEN + (o->mss ? 4 : 0), tcp_len = hlen + o->len;
	uint8_t *t = buf + PKT_ETH_HLEN + PKT_IPV4_HLEN;

	eth_write(buf, o->dst_mac, o->src_mac, PKT_ETHERTYPE_IPV4);
	ipv4_write(buf + PKT_ETH_HLEN, o, tcp_len);
	put_be16(t, o->src_port);
	put_be16(t + 2, o->dst_port);
	put_be32(t + 4, o->seq);
	put_be32(t + 8, o->ack);
	t[12] = (uint8_t)(hlen / 4) << 4;
	t[13] = o->flags;
	put_be16(t + 14, o->window);
	put_be16(t + 16, 0);
	put_be16(t + 18, 0);
	if (o->mss) {
		t[20] = 2;
		t[21] = 4;
		put_be16(t + 22, o->mss);
	}
	if (o->len)
		memcpy(t + hlen, o->payload, o->len);
	/* the pseudo-header (RFC 9293 section 3.1): addresses, protocol, TCP length */
	uint32_t sum = inet_sum(buf + PKT_ETH_HLEN + 12, 8, PKT_IPPROTO_TCP + (uint32_t)tcp_len);
	put_be16(t + 16, inet_fold(inet_sum(t, tcp_len, sum)));
	return PKT_ETH_HLEN + PKT_IPV4_HLEN + tcp_len;
}
