/* DHCP client (see net_dhcp.h). */
#include "net_dhcp.h"

#include "printf.h"
#include "string.h"

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_MAGIC	 0x63825363u /* RFC 2131 3: the options' magic cookie */
#define BOOTREQUEST	 1
#define BOOTREPLY	 2
#define RETRY_MS	 1000u

/* RFC 2132 option codes and DHCP message types (option 53). */
enum {
	OPT_PAD = 0,
	OPT_SUBNET = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_REQ_IP = 50,
	OPT_MSG_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_PARAM_LIST = 55,
	OPT_END = 255,
};
enum { DHCPDISCOVER = 1, DHCPOFFER = 2, DHCPREQUEST = 3, DHCPACK = 5, DHCPNAK = 6 };

/* RFC 2131 section 2, figure 1: the fixed part, then the cookie and options. */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint32_t magic;
	uint8_t options[64];
} __attribute__((packed));

struct dhcp_state {
	uint32_t xid;
	int want_type; /* DHCPOFFER, then DHCPACK */
	int got_type;  /* the accepted reply's type, 0 until one came */
	uint32_t yiaddr, server, mask, router, dns;
};

static struct dhcp_state st;

/* Walks the options of `d` (len bytes after the cookie); stores what we use. */
static int parse_options(const uint8_t *o, uint32_t len, struct dhcp_state *s)
{
	int type = 0;

	for (uint32_t i = 0; i < len && o[i] != OPT_END;) {
		uint8_t code = o[i], l;
		uint32_t v = 0;

		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + (l = o[i + 1]) > len)
			break;
		if (l >= 4)
			v = (uint32_t)o[i + 2] << 24 | o[i + 3] << 16 | o[i + 4] << 8 | o[i + 5];
		if (code == OPT_MSG_TYPE && l >= 1)
			type = o[i + 2];
		else if (code == OPT_SERVER_ID && l >= 4)
			s->server = v;
		else if (code == OPT_SUBNET && l >= 4)
			s->mask = v;
		else if (code == OPT_ROUTER && l >= 4)
			s->router = v;
		else if (code == OPT_DNS && l >= 4)
			s->dns = v;
		i += 2u + l;
	}
	return type;
}

static void on_udp(struct net_if *ifc, const struct net_udp *u)
{
	const struct dhcp_msg *m = (const void *)u->data;
	const uint32_t fixed = offsetof(struct dhcp_msg, options);
	struct dhcp_state s = st;
	int type;

	(void)ifc;
	if (u->dst_port != DHCP_CLIENT_PORT || u->len < fixed || m->op != BOOTREPLY ||
	    m->xid != st.xid || net_ntohl(m->magic) != DHCP_MAGIC || st.got_type)
		return;
	type = parse_options(m->options, u->len - fixed, &s);
	if (type == DHCPNAK || type == st.want_type) {
		st = s;
		st.got_type = type;
		st.yiaddr = net_ntohl(m->yiaddr);
	}
}

static void put_opt(uint8_t **p, uint8_t code, uint8_t len, uint32_t v)
{
	*(*p)++ = code;
	*(*p)++ = len;
	for (int i = len - 1; i >= 0; i--)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

static int send_msg(struct net_if *ifc, int type)
{
	struct dhcp_msg *m = (struct dhcp_msg *)(ifc->tx + NET_UDP_DATA_OFF);
	uint8_t *o = m->options;

	memset(m, 0, sizeof(*m));
	m->op = BOOTREQUEST;
	m->htype = 1; /* Ethernet */
	m->hlen = 6;
	m->xid = st.xid;
	m->flags = net_htons(0x8000); /* broadcast replies: we have no address yet */
	memcpy(m->chaddr, ifc->mac, 6);
	m->magic = net_htonl(DHCP_MAGIC);
	put_opt(&o, OPT_MSG_TYPE, 1, (uint32_t)type);
	if (type == DHCPREQUEST) {
		put_opt(&o, OPT_REQ_IP, 4, st.yiaddr);
		put_opt(&o, OPT_SERVER_ID, 4, st.server);
	}
	*o++ = OPT_PARAM_LIST;
	*o++ = 3;
	*o++ = OPT_SUBNET;
	*o++ = OPT_ROUTER;
	*o++ = OPT_DNS;
	*o = OPT_END;
	return net_send_udp(ifc, NET_IP_BCAST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, m, sizeof(*m));
}

/* Sends `type` every RETRY_MS until a reply of type `want` (or a NAK) comes. */
static bool exchange(struct net_if *ifc, int type, int want, uint64_t end)
{
	st.want_type = want;
	st.got_type = 0;
	while (!st.got_type && net_now_ms() < end) {
		uint64_t retry = net_now_ms() + RETRY_MS;

		send_msg(ifc, type);
		while (!st.got_type && net_now_ms() < retry)
			net_poll_wait(ifc, RETRY_MS);
	}
	return st.got_type == want;
}

int net_dhcp(struct net_if *ifc, uint32_t timeout_ms, uint32_t *server)
{
	uint64_t end = net_now_ms() + timeout_ms;
	net_udp_fn saved = ifc->on_udp;
	bool ok;

	st = (struct dhcp_state){.xid = net_htonl((uint32_t)net_now_ms() ^ 0x5a17d0c1u)};
	net_if_set_addr(ifc, 0, 0, 0);
	ifc->on_udp = on_udp;
	ok =
	    exchange(ifc, DHCPDISCOVER, DHCPOFFER, end) && exchange(ifc, DHCPREQUEST, DHCPACK, end);
	ifc->on_udp = saved;
	if (!ok)
		return -1;
	net_if_set_addr(ifc, st.yiaddr, st.mask ? st.mask : 0xffffff00u, st.router);
	ifc->dns = st.dns;
	if (server)
		*server = st.server;
	return 0;
}
