/* Egress policy of a NIC: an allowlist of where the guest may send (docs/networking.md, "Egress
 * policy"). Pure code: rules parsed from text, compiled into sorted prefix arrays, and one
 * Ethernet frame classified against them. The filter in front of a backend
 * (virtio/net/egress_filter.h) calls it for every transmitted frame.
 *
 * A rule (text, as --net's egress= and the API's "egress" take it):
 *   NET[:PROTO[:PORTS]]  frames to NET: A.B.C.D[/N], [IPV6][/N] or IPV6/N (brackets when an
 *                        IPv6 address has no /N and is followed by ':'); PROTO tcp, udp or
 *                        icmp (ICMPv6 for an IPv6 network), any protocol without it; PORTS
 *                        (tcp, udp) P or P-Q, any port without it
 *   dns=ADDR             UDP and TCP port 53 to ADDR only (a resolver)
 *   serve=PROTO:PORTS    replies from the guest's own servers on PORTS (tcp: segments with ACK
 *                        set only, so no connection can be opened from them; udp: any datagram)
 *   none                 no rule, but the policy on: only what is always allowed passes
 *
 * With a policy (one rule or `none`), a frame passes when it is always allowed (ARP; DHCP
 * client UDP 68->67; IPv6 neighbour discovery ICMPv6 133-137 with hop limit 255; MLD to ff02::/16;
 * DHCPv6 546->547 to ff02::1:2), comes from a served port, or matches a rule. Everything else is
 * dropped: other ethertypes (VLAN tags included), malformed or truncated headers, IPv6 routing
 * headers (they send the packet on to addresses the rules never saw), headers not within
 * EGRESS_HEAD_MAX bytes. A fragment past the first carries no ports: it passes only a rule
 * without ports (of its protocol or of any). */
#ifndef VIRTIO_NET_EGRESS_H
#define VIRTIO_NET_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EGRESS_MAX_RULES 256 /* per NIC */
#define EGRESS_HEAD_MAX	 256 /* frame bytes the classifier reads: every header must end within */
#define EGRESS_RULE_TEXT 64  /* the longest rule egress_rule_format() writes, NUL included */

enum egress_kind { EGRESS_NET, EGRESS_DNS, EGRESS_SERVE };

struct egress_rule {
	uint8_t kind;		   /* enum egress_kind */
	uint8_t family;		   /* 4 or 6 (NET, DNS); 0 (SERVE) */
	uint8_t prefix;		   /* 0..32 or 0..128 (DNS: 32 or 128) */
	uint8_t proto;		   /* 0: any; 6 tcp, 17 udp, 1 icmp (icmp or ICMPv6 by family) */
	uint16_t port_lo, port_hi; /* 0, 0: any port */
	uint8_t addr[16]; /* network byte order, the host bits cleared; IPv4 in addr[0..3] */
};

/* A NIC's rules as parsed; `on` false (and n 0) is no policy: everything passes. */
struct egress_rules {
	bool on;
	unsigned n;
	struct egress_rule rule[EGRESS_MAX_RULES];
};

/* Parses one rule (above) into *r. Returns 0 or -EINVAL with the reason in err[0..errlen). */
int egress_rule_parse(const char *text, struct egress_rule *r, char *err, size_t errlen);

/* Parses `text`, rules separated by ';', appending them to *rules and turning it on. Returns 0,
 * or -EINVAL (a bad rule, more than EGRESS_MAX_RULES) with the reason in err; *rules is then
 * as it was. */
int egress_rules_add(struct egress_rules *rules, const char *text, char *err, size_t errlen);

/* The rule as text that egress_rule_parse() reads back to the same rule (out: at least
 * EGRESS_RULE_TEXT bytes). */
void egress_rule_format(const struct egress_rule *r, char *out, size_t len);

/* The rules as one egress= value ("none" without rules, else rules joined by ';') into
 * out[0..len). Returns 0 or -ENAMETOOLONG. */
int egress_rules_format(const struct egress_rules *rules, char *out, size_t len);

struct egress_policy;

/* Compiles rules[0..n) (any n: a NIC's rules and the served ports its hostfwd adds) into a
 * policy. Returns it, or NULL when out of memory. Free with egress_policy_free(). */
struct egress_policy *egress_policy_new(const struct egress_rule *rules, unsigned n);
void egress_policy_free(struct egress_policy *p);

enum egress_verdict {
	EGRESS_PASS,
	EGRESS_REFUSED,	  /* well formed, matched no rule */
	EGRESS_MALFORMED, /* headers truncated, bad, or of a kind the policy cannot judge */
};

/* Judges the frame whose first `len` bytes (Ethernet header first, at most EGRESS_HEAD_MAX
 * read) are at `frame`. Reads nothing else; no allocation. */
enum egress_verdict egress_classify(const struct egress_policy *p, const uint8_t *frame,
				    size_t len);

#endif
