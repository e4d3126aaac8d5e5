/* Egress policy: rules compiled into prefix arrays, frames judged against them (egress.h).
 *
 * Layout: per address family, the (network, protocol, ports) triples sorted by prefix length
 * (longest first), then network, then protocol; each distinct (prefix, network) is one entry of a
 * sorted array pointing at its run of port specs. A frame costs one binary search per distinct
 * prefix length in its family (100 rules over 3 lengths: 3 searches of 6 steps), not one
 * comparison per rule. Addresses are 128-bit keys (IPv4 in the top 32 bits) so one code path
 * serves both families. */
#include "virtio/net/egress.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN_      14
#define ETHERTYPE_IP4  0x0800
#define ETHERTYPE_ARP_ 0x0806
#define ETHERTYPE_IP6  0x86dd
#define IP6_HLEN       40
#define IP6_MAX_EXT    8 /* extension headers walked before giving up (malformed) */
#define TCP_FLAG_ACK   0x10
#define MAX_PREFIXES   129

struct key {
	uint64_t hi, lo;
};

struct spec {
	uint8_t proto;	 /* 0: any */
	uint16_t lo, hi; /* 0, 0: any port */
};

struct entry {
	struct key net;
	uint32_t first, count; /* its specs */
};

struct group {
	uint8_t prefix;
	uint32_t first, count; /* its entries */
};

struct table {
	unsigned ngroups;
	struct group group[MAX_PREFIXES];
	struct entry *entry;
	struct spec *spec;
};

struct range {
	uint16_t lo, hi;
};

struct egress_policy {
	struct table t4, t6;
	unsigned ntcp, nudp;
	struct range *tcp, *udp; /* served ports */
};

/* What the classifier reads of a frame. */
struct pkt {
	int family;
	struct key dst;
	uint8_t proto; /* the transport protocol (after IPv6 extension headers) */
	bool ports;    /* sport, dport valid (TCP or UDP, not a later fragment) */
	bool later_fragment;
	uint16_t sport, dport;
	uint8_t tcp_flags, icmp_type, hop_limit;
};

/* ---- compiling ---- */

static struct key key_of(const uint8_t *a, int family)
{
	struct key k = {0, 0};

	for (int i = 0; i < 8; i++)
		k.hi = k.hi << 8 | (family == 4 && i >= 4 ? 0 : a[i]);
	for (int i = 8; family == 6 && i < 16; i++)
		k.lo = k.lo << 8 | a[i];
	return k;
}

static struct key key_mask(struct key k, unsigned prefix)
{
	if (prefix == 0)
		return (struct key){0, 0};
	if (prefix <= 64)
		return (struct key){k.hi & (~0ull << (64 - prefix)), 0};
	return (struct key){k.hi, prefix == 128 ? k.lo : k.lo & (~0ull << (128 - prefix))};
}

static int key_cmp(struct key a, struct key b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/* One (prefix, network, spec) triple before grouping. */
struct triple {
	uint8_t prefix;
	struct key net;
	struct spec spec;
};

static int triple_cmp(const void *pa, const void *pb)
{
	const struct triple *a = pa, *b = pb;
	int c;

	if (a->prefix != b->prefix)
		return a->prefix > b->prefix ? -1 : 1; /* longest first */
	c = key_cmp(a->net, b->net);
	return c ? c : (int)a->spec.proto - (int)b->spec.proto;
}

/* The rule's triples of `family` into t[], returning how many (DNS: udp and tcp port 53). */
static unsigned triples_of(const struct egress_rule *r, int family, struct triple *t)
{
	uint8_t proto = r->proto;

	if (r->kind == EGRESS_SERVE || r->family != family)
		return 0;
	if (proto == IPPROTO_ICMP && family == 6)
		proto = IPPROTO_ICMPV6;
	t[0] = (struct triple){r->prefix,
			       key_mask(key_of(r->addr, family), r->prefix),
			       {proto, r->port_lo, r->port_hi}};
	if (r->kind != EGRESS_DNS)
		return 1;
	t[0].spec.proto = IPPROTO_UDP;
	t[1] = t[0];
	t[1].spec.proto = IPPROTO_TCP;
	return 2;
}

/* Groups sorted triples t[0..n) into the table (entry and spec arrays of n each). */
static void fill_table(struct table *tb, const struct triple *t, unsigned n)
{
	unsigned ne = 0;

	for (unsigned i = 0; i < n; i++) {
		bool new_group = i == 0 || t[i].prefix != t[i - 1].prefix;
		bool new_entry = new_group || key_cmp(t[i].net, t[i - 1].net);

		if (new_group)
			tb->group[tb->ngroups++] = (struct group){t[i].prefix, ne, 0};
		if (new_entry) {
			tb->entry[ne++] = (struct entry){t[i].net, i, 0};
			tb->group[tb->ngroups - 1].count++;
		}
		tb->entry[ne - 1].count++;
		tb->spec[i] = t[i].spec;
	}
}

static int build_table(struct table *tb, const struct egress_rule *rules, unsigned n, int family)
{
	struct triple *t = calloc(2 * (size_t)n + 1, sizeof(*t));
	unsigned k = 0;

	tb->entry = calloc(2 * (size_t)n + 1, sizeof(*tb->entry));
	tb->spec = calloc(2 * (size_t)n + 1, sizeof(*tb->spec));
	if (!t || !tb->entry || !tb->spec) {
		free(t);
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		k += triples_of(&rules[i], family, t + k);
	qsort(t, k, sizeof(*t), triple_cmp);
	fill_table(tb, t, k);
	free(t);
	return 0;
}

static int build_served(struct egress_policy *p, const struct egress_rule *rules, unsigned n)
{
	p->tcp = calloc((size_t)n + 1, sizeof(*p->tcp));
	p->udp = calloc((size_t)n + 1, sizeof(*p->udp));
	if (!p->tcp || !p->udp)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		const struct egress_rule *r = &rules[i];
		struct range g = {r->port_lo, r->port_hi};
		if (r->kind != EGRESS_SERVE)
			continue;
		if (r->proto == IPPROTO_TCP)
			p->tcp[p->ntcp++] = g;
		else
			p->udp[p->nudp++] = g;
	}
	return 0;
}

struct egress_policy *egress_policy_new(const struct egress_rule *rules, unsigned n)
{
	struct egress_policy *p = calloc(1, sizeof(*p));

	if (p && !build_table(&p->t4, rules, n, 4) && !build_table(&p->t6, rules, n, 6) &&
	    !build_served(p, rules, n))
		return p;
	egress_policy_free(p);
	return NULL;
}

void egress_policy_free(struct egress_policy *p)
{
	if (!p)
		return;
	free(p->t4.entry);
	free(p->t4.spec);
	free(p->t6.entry);
	free(p->t6.spec);
	free(p->tcp);
	free(p->udp);
	free(p);
}

/* ---- judging ---- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The transport header at f[off..len): ports, TCP flags, ICMP type. False: truncated. */
static bool parse_l4(struct pkt *k, const uint8_t *f, size_t off, size_t len)
{
	size_t need = k->proto == IPPROTO_TCP				       ? 14
		      : k->proto == IPPROTO_UDP				       ? 8
		      : k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6 ? 4
									       : 0;

	if (k->later_fragment || need == 0)
		return true;
	if (off > len || len - off < need)
		return false;
	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP) {
		k->ports = true;
		k->sport = be16(f + off);
		k->dport = be16(f + off + 2);
		k->tcp_flags = k->proto == IPPROTO_TCP ? f[off + 13] : 0;
	} else {
		k->icmp_type = f[off];
	}
	return true;
}

static bool parse_ip4(struct pkt *k, const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_HLEN_;
	size_t ihl;

	if (len < ETH_HLEN_ + 20 || ip[0] >> 4 != 4 || (ihl = (size_t)(ip[0] & 15) * 4) < 20)
		return false;
	k->family = 4;
	k->proto = ip[9];
	k->hop_limit = ip[8];
	k->later_fragment = (be16(ip + 6) & 0x1fff) != 0;
	k->dst = key_of(ip + 16, 4);
	return parse_l4(k, f, ETH_HLEN_ + ihl, len);
}

/* Walks the IPv6 extension headers to the transport header. Routing headers are refused (the
 * packet would go on to addresses the rules never saw). */
static bool parse_ip6(struct pkt *k, const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_HLEN_;
	size_t off = ETH_HLEN_ + IP6_HLEN;
	uint8_t nh;

	if (len < off || ip[0] >> 4 != 6)
		return false;
	k->family = 6;
	k->hop_limit = ip[7];
	k->dst = key_of(ip + 24, 6);
	nh = ip[6];
	for (int i = 0; i <= IP6_MAX_EXT; i++) {
		size_t hl;
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT &&
		    nh != IPPROTO_AH)
			break;
		if (i == IP6_MAX_EXT || off > len || len - off < 8)
			return false;
		if (nh == IPPROTO_FRAGMENT) {
			hl = 8;
			k->later_fragment |= (be16(f + off + 2) & 0xfff8) != 0;
		} else {
			hl = nh == IPPROTO_AH ? ((size_t)f[off + 1] + 2) * 4
					      : ((size_t)f[off + 1] + 1) * 8;
		}
		nh = f[off];
		off += hl;
	}
	if (nh == IPPROTO_ROUTING)
		return false;
	k->proto = nh;
	return parse_l4(k, f, off, len);
}

static bool spec_match(const struct spec *s, const struct pkt *k)
{
	if (s->proto && s->proto != k->proto)
		return false;
	if (!s->lo)
		return true;
	return k->ports && k->dport >= s->lo && k->dport <= s->hi;
}

static const struct entry *find(const struct entry *e, uint32_t n, struct key net)
{
	while (n) {
		uint32_t half = n / 2;
		int c = key_cmp(e[half].net, net);
		if (c == 0)
			return &e[half];
		if (c < 0) {
			e += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return NULL;
}

static bool rules_match(const struct table *tb, const struct pkt *k)
{
	for (unsigned g = 0; g < tb->ngroups; g++) {
		const struct group *gr = &tb->group[g];
		const struct entry *e =
		    find(tb->entry + gr->first, gr->count, key_mask(k->dst, gr->prefix));
		for (uint32_t i = 0; e && i < e->count; i++)
			if (spec_match(&tb->spec[e->first + i], k))
				return true;
	}
	return false;
}

static bool in_ranges(const struct range *r, unsigned n, uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

/* Replies of the guest's servers: TCP only with ACK (a SYN opening a connection has none). */
static bool served(const struct egress_policy *p, const struct pkt *k)
{
	if (!k->ports)
		return false;
	if (k->proto == IPPROTO_TCP)
		return (k->tcp_flags & TCP_FLAG_ACK) && in_ranges(p->tcp, p->ntcp, k->sport);
	return in_ranges(p->udp, p->nudp, k->sport);
}

/* What the link needs whatever the rules: DHCP, IPv6 neighbour discovery, MLD, DHCPv6. */
static bool link_traffic(const struct pkt *k)
{
	bool link_mcast = k->family == 6 && k->dst.hi >> 48 == 0xff02;

	if (k->ports && k->proto == IPPROTO_UDP)
		return (k->family == 4 && k->sport == 68 && k->dport == 67) ||
		       (link_mcast && k->sport == 546 && k->dport == 547);
	if (k->family != 6 || k->proto != IPPROTO_ICMPV6 || k->later_fragment)
		return false;
	if (k->icmp_type >= 133 && k->icmp_type <= 137) /* RFC 4861: never routed */
		return k->hop_limit == 255;
	return link_mcast && (k->icmp_type == 130 || k->icmp_type == 131 || k->icmp_type == 132 ||
			      k->icmp_type == 143); /* MLD, RFC 3810 */
}

enum egress_verdict egress_classify(const struct egress_policy *p, const uint8_t *frame, size_t len)
{
	struct pkt k = {0};
	uint16_t type;
	bool ok;

	if (len > EGRESS_HEAD_MAX)
		len = EGRESS_HEAD_MAX;
	if (len < ETH_HLEN_)
		return EGRESS_MALFORMED;
	type = be16(frame + 12);
	if (type == ETHERTYPE_ARP_)
		return EGRESS_PASS;
	if (type == ETHERTYPE_IP4)
		ok = parse_ip4(&k, frame, len);
	else if (type == ETHERTYPE_IP6)
		ok = parse_ip6(&k, frame, len);
	else
		return EGRESS_MALFORMED; /* VLAN tags, other protocols: nothing to judge them by */
	if (!ok)
		return EGRESS_MALFORMED;
	if (link_traffic(&k) || served(p, &k) || rules_match(k.family == 4 ? &p->t4 : &p->t6, &k))
		return EGRESS_PASS;
	return EGRESS_REFUSED;
}
