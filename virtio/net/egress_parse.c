/* Egress rules from and to text (egress.h). The text comes from the command line, API bodies and
 * snapshot records: untrusted, fuzzed (tools/fuzz/fuzz_egress.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "virtio/net/egress.h"

#define RULE_TEXT_MAX 128 /* longer is refused: no valid rule comes near it */

#define SYNTAX                                                                                     \
	"expected ADDR[/N][:tcp|udp|icmp[:PORT[-PORT]]], dns=ADDR, serve=tcp|udp:PORT[-PORT] or "  \
	"none"

/* Clears the bits past `prefix` of addr[0..16). */
static void mask_addr(uint8_t *addr, unsigned prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = prefix > 8 * i ? prefix - 8 * i : 0;
		if (keep < 8)
			addr[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* An IPv4 or IPv6 address (IPv6 maybe in brackets) into r->addr and r->family. */
static int parse_addr(char *s, struct egress_rule *r)
{
	size_t n = strlen(s);

	if (s[0] == '[' && n > 2 && s[n - 1] == ']') {
		s[n - 1] = '\0';
		s++;
		r->family = 6;
		return inet_pton(AF_INET6, s, r->addr) == 1 ? 0 : -EINVAL;
	}
	if (inet_pton(AF_INET, s, r->addr) == 1) {
		r->family = 4;
		return 0;
	}
	r->family = 6;
	return inet_pton(AF_INET6, s, r->addr) == 1 ? 0 : -EINVAL;
}

/* "P" or "P-Q", 1 <= P <= Q <= 65535. */
static int parse_ports(char *s, struct egress_rule *r)
{
	char *dash = strchr(s, '-');
	uint64_t lo, hi;

	if (dash)
		*dash = '\0';
	if (parse_uint(s, 1, 65535, &lo) || parse_uint(dash ? dash + 1 : s, 1, 65535, &hi) ||
	    hi < lo)
		return -EINVAL;
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

/* "PROTO[:PORTS]" (ports only with tcp and udp); `need_ports` for serve=. */
static int parse_proto_ports(char *s, struct egress_rule *r, bool need_ports, char *err,
			     size_t errlen)
{
	char *colon = strchr(s, ':');

	if (colon)
		*colon = '\0';
	if (!strcmp(s, "tcp"))
		r->proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		r->proto = IPPROTO_UDP;
	else if (!strcmp(s, "icmp") && !need_ports)
		r->proto = IPPROTO_ICMP;
	else
		return parse_fail(err, errlen, "unknown protocol '%s' (tcp, udp%s)", s,
				  need_ports ? "" : " or icmp");
	if (!colon)
		return need_ports ? parse_fail(err, errlen, "serve= needs PROTO:PORT[-PORT]") : 0;
	if (r->proto == IPPROTO_ICMP)
		return parse_fail(err, errlen, "icmp has no ports");
	if (parse_ports(colon + 1, r))
		return parse_fail(err, errlen, "bad port or range '%s' (1-65535, low-high)",
				  colon + 1);
	return 0;
}

/* Splits "NET[:rest]" at the end of the address: after a ']', at a '/', or (IPv4) at the first
 * ':'; an unbracketed IPv6 address without /N is the whole text. Returns where the rest starts
 * (at the '/', the ':' or the end) and ends the address there. */
static char *split_net(char *s, char *saved)
{
	char *end = s[0] == '[' ? strchr(s, ']') : NULL;

	if (end)
		end++;
	else if ((end = strchr(s, '/')) == NULL)
		end = strchr(s, '.') ? s + strcspn(s, ":") : s + strlen(s);
	*saved = *end;
	*end = '\0';
	return end;
}

static int parse_net(char *s, struct egress_rule *r, char *err, size_t errlen)
{
	char saved, *rest = split_net(s, &saved);
	uint64_t len;

	r->kind = EGRESS_NET;
	if (parse_addr(s, r))
		return parse_fail(err, errlen, "bad address '%s' (IPv6 in brackets: [2001:db8::1])",
				  s);
	*rest = saved;
	r->prefix = r->family == 4 ? 32 : 128;
	if (*rest == '/') {
		char *colon = strchr(rest, ':');
		if (colon)
			*colon = '\0';
		if (parse_uint(rest + 1, 0, r->prefix, &len))
			return parse_fail(err, errlen, "bad prefix length '%s' (0-%u)", rest + 1,
					  r->prefix);
		r->prefix = (uint8_t)len;
		rest = colon ? colon : rest + strlen(rest);
		if (colon)
			*colon = ':';
	}
	mask_addr(r->addr, r->prefix);
	if (!*rest)
		return 0;
	if (*rest != ':' || !rest[1])
		return parse_fail(err, errlen, "expected ':PROTO' after the network, not '%s'",
				  rest);
	return parse_proto_ports(rest + 1, r, false, err, errlen);
}

int egress_rule_parse(const char *text, struct egress_rule *out, char *err, size_t errlen)
{
	struct egress_rule r = {0};
	char s[RULE_TEXT_MAX];
	int e;

	if (!text || !*text)
		return parse_fail(err, errlen, "empty egress rule (%s)", SYNTAX);
	if (strlen(text) >= sizeof(s))
		return parse_fail(err, errlen, "egress rule longer than %d characters",
				  RULE_TEXT_MAX - 1);
	strcpy(s, text);
	if (!strncmp(s, "dns=", 4)) {
		r.kind = EGRESS_DNS;
		if (parse_addr(s + 4, &r))
			return parse_fail(err, errlen, "dns=%s: not an IPv4 or IPv6 address",
					  text + 4);
		r.prefix = r.family == 4 ? 32 : 128;
		r.port_lo = r.port_hi = 53;
		e = 0;
	} else if (!strncmp(s, "serve=", 6)) {
		r.kind = EGRESS_SERVE;
		e = parse_proto_ports(s + 6, &r, true, err, errlen);
	} else {
		e = parse_net(s, &r, err, errlen);
	}
	if (e) {
		char why[160];
		snprintf(why, sizeof(why), "%s", err && errlen ? err : "");
		return parse_fail(err, errlen, "egress rule '%s': %s (%s)", text, why, SYNTAX);
	}
	*out = r;
	return 0;
}

/* One rule of a ';' list (or "none", which adds nothing) appended to *rules. */
static int add_one(struct egress_rules *rules, const char *p, size_t len, char *err, size_t errlen)
{
	char one[RULE_TEXT_MAX];

	if (len >= sizeof(one))
		return parse_fail(err, errlen, "egress rule longer than %d characters",
				  RULE_TEXT_MAX - 1);
	memcpy(one, p, len);
	one[len] = '\0';
	if (!strcmp(one, "none"))
		return 0;
	if (rules->n == EGRESS_MAX_RULES)
		return parse_fail(err, errlen, "more than %d egress rules", EGRESS_MAX_RULES);
	if (egress_rule_parse(one, &rules->rule[rules->n], err, errlen))
		return -EINVAL;
	rules->n++;
	return 0;
}

int egress_rules_add(struct egress_rules *rules, const char *text, char *err, size_t errlen)
{
	unsigned n = rules->n;
	const char *p = text ? text : "";
	int e = 0;

	for (size_t len;; p += len + 1) {
		len = strcspn(p, ";");
		e = add_one(rules, p, len, err, errlen);
		if (e || !p[len])
			break;
	}
	if (e)
		rules->n = n;
	else
		rules->on = true;
	return e;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "icmp";
}

/* ":PROTO[:LO[-HI]]" (nothing for any protocol). */
static void format_tail(const struct egress_rule *r, char *out, size_t len)
{
	int k = 0;

	out[0] = '\0';
	if (r->proto)
		k = snprintf(out, len, ":%s", proto_name(r->proto));
	if (r->port_lo && k > 0 && (size_t)k < len)
		k += snprintf(out + k, len - (size_t)k, ":%u", r->port_lo);
	if (r->port_lo && r->port_hi != r->port_lo && k > 0 && (size_t)k < len)
		snprintf(out + k, len - (size_t)k, "-%u", r->port_hi);
}

void egress_rule_format(const struct egress_rule *r, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "", tail[24];

	if (r->family)
		inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr));
	format_tail(r, tail, sizeof(tail));
	if (r->kind == EGRESS_DNS)
		snprintf(out, len, "dns=%s", addr);
	else if (r->kind == EGRESS_SERVE)
		snprintf(out, len, "serve=%s", tail + 1);
	else if (r->family == 4)
		snprintf(out, len, "%s/%u%s", addr, r->prefix, tail);
	else
		snprintf(out, len, "[%s]/%u%s", addr, r->prefix, tail);
}

int egress_rules_format(const struct egress_rules *rules, char *out, size_t len)
{
	size_t k = 0;

	if (!len)
		return -ENAMETOOLONG;
	out[0] = '\0';
	if (!rules->n)
		return snprintf(out, len, "none") < (int)len ? 0 : -ENAMETOOLONG;
	for (unsigned i = 0; i < rules->n; i++) {
		char one[EGRESS_RULE_TEXT];
		egress_rule_format(&rules->rule[i], one, sizeof(one));
		int w = snprintf(out + k, len - k, "%s%s", i ? ";" : "", one);
		if (w < 0 || (size_t)w >= len - k)
			return -ENAMETOOLONG;
		k += (size_t)w;
	}
	return 0;
}
