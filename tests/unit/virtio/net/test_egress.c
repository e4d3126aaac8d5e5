/* The egress policy (virtio/net/egress.h): rules from and to text, frames judged, and the cost
 * of 100 rules per frame (printed, not asserted). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "virtio/net/egress.h"

static char msg[512];

static struct egress_rule rule(const char *text)
{
	struct egress_rule r;
	msg[0] = '\0';
	cr_assert_eq(egress_rule_parse(text, &r, msg, sizeof(msg)), 0, "%s: %s", text, msg);
	return r;
}

static void expect_bad(const char *text, const char *why)
{
	struct egress_rule r;
	msg[0] = '\0';
	cr_expect_eq(egress_rule_parse(text, &r, msg, sizeof(msg)), -EINVAL, "%s parsed", text);
	cr_expect(strstr(msg, why) != NULL, "%s: '%s' lacks '%s'", text, msg, why);
}

/* The rule's canonical text. */
static const char *fmt(const char *text)
{
	static char out[EGRESS_RULE_TEXT];
	struct egress_rule r = rule(text);
	egress_rule_format(&r, out, sizeof(out));
	return out;
}

Test(egress_parse, networks_protocols_ports)
{
	struct egress_rule r = rule("10.0.2.2/32:tcp:8000-8080");
	cr_expect_eq(r.kind, EGRESS_NET);
	cr_expect_eq(r.family, 4);
	cr_expect_eq(r.prefix, 32);
	cr_expect_eq(r.proto, 6);
	cr_expect_eq(r.port_lo, 8000);
	cr_expect_eq(r.port_hi, 8080);
	cr_expect_str_eq(fmt("10.0.2.2/32:tcp:8000-8080"), "10.0.2.2/32:tcp:8000-8080");
	cr_expect_str_eq(fmt("10.0.2.2"), "10.0.2.2/32");
	cr_expect_str_eq(fmt("10.1.2.3/8"), "10.0.0.0/8", "host bits cleared");
	cr_expect_str_eq(fmt("0.0.0.0/0:udp:53"), "0.0.0.0/0:udp:53");
	cr_expect_str_eq(fmt("192.168.1.0/24:icmp"), "192.168.1.0/24:icmp");
	cr_expect_str_eq(fmt("[2001:db8::1]:tcp:443"), "[2001:db8::1]/128:tcp:443");
	cr_expect_str_eq(fmt("2001:db8::/32:udp:1-2"), "[2001:db8::]/32:udp:1-2");
	cr_expect_str_eq(fmt("[2001:db8:ff::]/40"), "[2001:db8::]/40");
	cr_expect_str_eq(fmt("fe80::1"), "[fe80::1]/128");
	cr_expect_str_eq(fmt("::/0"), "[::]/0");
}

Test(egress_parse, dns_and_serve)
{
	struct egress_rule r = rule("dns=10.0.2.3");
	cr_expect_eq(r.kind, EGRESS_DNS);
	cr_expect_eq(r.port_lo, 53);
	cr_expect_str_eq(fmt("dns=10.0.2.3"), "dns=10.0.2.3");
	cr_expect_str_eq(fmt("dns=[2001:db8::53]"), "dns=2001:db8::53");
	cr_expect_str_eq(fmt("dns=2001:db8::53"), "dns=2001:db8::53");
	r = rule("serve=tcp:22");
	cr_expect_eq(r.kind, EGRESS_SERVE);
	cr_expect_str_eq(fmt("serve=tcp:22"), "serve=tcp:22");
	cr_expect_str_eq(fmt("serve=udp:5000-5010"), "serve=udp:5000-5010");
}

Test(egress_parse, bad_rules_say_why)
{
	expect_bad("", "empty egress rule");
	expect_bad("10.0.2", "bad address");
	expect_bad("10.0.2.2/33", "bad prefix length");
	expect_bad("10.0.2.2/", "bad prefix length");
	expect_bad("10.0.2.2:sctp", "unknown protocol 'sctp'");
	expect_bad("10.0.2.2:tcp:0", "bad port");
	expect_bad("10.0.2.2:tcp:90-80", "bad port");
	expect_bad("10.0.2.2:tcp:65536", "bad port");
	expect_bad("10.0.2.2:icmp:1", "icmp has no ports");
	expect_bad("10.0.2.2:", "expected ':PROTO'");
	expect_bad("10.0.2.2/24x", "bad prefix length");
	expect_bad("2001:db8::1:tcp:80", "bad address");
	expect_bad("[2001:db8::1", "bad address");
	expect_bad("[10.0.0.1]", "bad address");
	expect_bad("dns=", "dns=: not an IPv4");
	expect_bad("dns=resolver", "not an IPv4");
	expect_bad("serve=tcp", "serve= needs PROTO:PORT");
	expect_bad("serve=icmp:1", "unknown protocol");
	expect_bad("10.0.2.2,id=x", "bad address");
	char longer[200];
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	expect_bad(longer, "longer than");
}

Test(egress_parse, lists_none_and_the_limit)
{
	static struct egress_rules rs;
	char out[256];

	cr_assert_eq(egress_rules_add(&rs, "10.0.2.2/32:tcp:80;dns=10.0.2.3", msg, sizeof(msg)), 0);
	cr_expect(rs.on);
	cr_expect_eq(rs.n, 2);
	cr_assert_eq(egress_rules_format(&rs, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "10.0.2.2/32:tcp:80;dns=10.0.2.3");
	cr_expect_eq(egress_rules_add(&rs, "10.0.0.1;bad", msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(rs.n, 2, "a bad list adds nothing");
	cr_expect_eq(egress_rules_add(&rs, "10.0.0.1;;10.0.0.2", msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(egress_rules_format(&rs, out, 8), -ENAMETOOLONG);

	memset(&rs, 0, sizeof(rs));
	cr_assert_eq(egress_rules_add(&rs, "none", msg, sizeof(msg)), 0);
	cr_expect(rs.on);
	cr_expect_eq(rs.n, 0);
	cr_assert_eq(egress_rules_format(&rs, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "none");

	for (int i = 0; i < EGRESS_MAX_RULES; i++)
		cr_assert_eq(egress_rules_add(&rs, "10.0.0.1", msg, sizeof(msg)), 0);
	cr_expect_eq(egress_rules_add(&rs, "10.0.0.1", msg, sizeof(msg)), -EINVAL);
	cr_expect(strstr(msg, "more than 256") != NULL, "%s", msg);
}

/* ---- frames ---- */

struct frame {
	uint8_t b[EGRESS_HEAD_MAX + 64];
	size_t len;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void eth(struct frame *f, unsigned type)
{
	memset(f, 0, sizeof(*f));
	memset(f->b, 0xff, 6);
	f->b[6] = 0x52;
	put16(f->b + 12, type);
	f->len = 14;
}

/* Appends a transport header (TCP 20 bytes with `flags`, UDP 8, ICMP 8 with `flags` as type). */
static void l4(struct frame *f, int proto, unsigned sport, unsigned dport, unsigned flags)
{
	uint8_t *p = f->b + f->len;
	if (proto == 6 || proto == 17) {
		put16(p, sport);
		put16(p + 2, dport);
	}
	if (proto == 6)
		p[13] = (uint8_t)flags, f->len += 20;
	else if (proto == 17)
		f->len += 8;
	else
		p[0] = (uint8_t)flags, f->len += 8;
}

static struct frame ip4(const char *dst, int proto, unsigned sport, unsigned dport, unsigned flags)
{
	struct frame f;
	eth(&f, 0x0800);
	uint8_t *ip = f.b + 14;
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	inet_pton(AF_INET, "10.0.2.15", ip + 12);
	cr_assert_eq(inet_pton(AF_INET, dst, ip + 16), 1);
	f.len += 20;
	l4(&f, proto, sport, dport, flags);
	return f;
}

/* IPv6 with extension headers ext[0..next) in order (each 8 bytes, or a fragment header). */
static struct frame ip6(const char *dst, int proto, unsigned sport, unsigned dport, unsigned flags,
			const uint8_t *ext, int next, unsigned hop)
{
	struct frame f;
	eth(&f, 0x86dd);
	uint8_t *ip = f.b + 14;
	ip[0] = 0x60;
	ip[6] = (uint8_t)(next ? ext[0] : proto);
	ip[7] = (uint8_t)hop;
	inet_pton(AF_INET6, "fe80::2", ip + 8);
	cr_assert_eq(inet_pton(AF_INET6, dst, ip + 24), 1);
	f.len += 40;
	for (int i = 0; i < next; i++) {
		uint8_t *h = f.b + f.len;
		h[0] = (uint8_t)(i + 1 < next ? ext[i + 1] : proto);
		f.len += 8;
	}
	l4(&f, proto, sport, dport, flags);
	return f;
}

static struct egress_policy *policy(const char *list)
{
	static struct egress_rules rs;
	memset(&rs, 0, sizeof(rs));
	cr_assert_eq(egress_rules_add(&rs, list, msg, sizeof(msg)), 0, "%s", msg);
	struct egress_policy *p = egress_policy_new(rs.rule, rs.n);
	cr_assert_not_null(p);
	return p;
}

static enum egress_verdict judge(const struct egress_policy *p, struct frame f)
{
	return egress_classify(p, f.b, f.len);
}

#define PASS	  EGRESS_PASS
#define REFUSED	  EGRESS_REFUSED
#define MALFORMED EGRESS_MALFORMED
#define ACK	  0x10
#define SYN	  0x02

Test(egress_classify, networks_protocols_ports)
{
	struct egress_policy *p = policy("10.0.2.2/32:tcp:8000-8080;192.168.0.0/16:udp;"
					 "172.16.0.0/12;10.9.0.0/16:icmp");

	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 40000, 8000, SYN)), PASS);
	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 40000, 8080, SYN)), PASS);
	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 40000, 8081, SYN)), REFUSED);
	cr_expect_eq(judge(p, ip4("10.0.2.2", 17, 40000, 8000, 0)), REFUSED, "tcp only");
	cr_expect_eq(judge(p, ip4("10.0.2.3", 6, 40000, 8000, SYN)), REFUSED);
	cr_expect_eq(judge(p, ip4("192.168.7.7", 17, 1, 9, 0)), PASS);
	cr_expect_eq(judge(p, ip4("192.168.7.7", 6, 1, 9, SYN)), REFUSED);
	cr_expect_eq(judge(p, ip4("172.31.255.255", 47, 0, 0, 0)), PASS, "any protocol (GRE)");
	cr_expect_eq(judge(p, ip4("172.32.0.0", 6, 1, 9, SYN)), REFUSED);
	cr_expect_eq(judge(p, ip4("10.9.1.1", 1, 0, 0, 8)), PASS, "icmp echo");
	cr_expect_eq(judge(p, ip4("10.9.1.1", 6, 1, 80, SYN)), REFUSED);
	egress_policy_free(p);
}

Test(egress_classify, overlapping_prefixes_are_all_tried)
{
	struct egress_policy *p = policy("10.0.0.0/8:tcp:80;10.0.2.0/24:udp:53;10.0.2.2/32:tcp:22");

	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 1, 80, SYN)), PASS, "the /8's");
	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 1, 22, SYN)), PASS);
	cr_expect_eq(judge(p, ip4("10.0.2.9", 17, 1, 53, 0)), PASS);
	cr_expect_eq(judge(p, ip4("10.0.3.9", 17, 1, 53, 0)), REFUSED);
	cr_expect_eq(judge(p, ip4("10.0.3.9", 6, 1, 22, SYN)), REFUSED);
	egress_policy_free(p);
}

Test(egress_classify, dns_only_to_the_resolver)
{
	struct egress_policy *p = policy("dns=10.0.2.3");

	cr_expect_eq(judge(p, ip4("10.0.2.3", 17, 5353, 53, 0)), PASS);
	cr_expect_eq(judge(p, ip4("10.0.2.3", 6, 5353, 53, SYN)), PASS);
	cr_expect_eq(judge(p, ip4("10.0.2.3", 6, 5353, 80, SYN)), REFUSED);
	cr_expect_eq(judge(p, ip4("8.8.8.8", 17, 5353, 53, 0)), REFUSED);
	cr_expect_eq(judge(p, ip4("10.0.2.3", 1, 0, 0, 8)), REFUSED);
	egress_policy_free(p);
}

Test(egress_classify, always_allowed_link_traffic)
{
	struct egress_policy *p = policy("none");
	static const uint8_t hbh[] = {0};
	struct frame arp;

	eth(&arp, 0x0806);
	arp.len = 42;
	cr_expect_eq(judge(p, arp), PASS);
	cr_expect_eq(judge(p, ip4("255.255.255.255", 17, 68, 67, 0)), PASS, "DHCP");
	cr_expect_eq(judge(p, ip4("10.0.2.2", 17, 68, 67, 0)), PASS, "DHCP renewal");
	cr_expect_eq(judge(p, ip4("10.0.2.2", 17, 68, 68, 0)), REFUSED);
	cr_expect_eq(judge(p, ip4("10.0.2.2", 17, 1234, 67, 0)), REFUSED);
	cr_expect_eq(judge(p, ip6("ff02::1:ff00:2", 58, 0, 0, 135, NULL, 0, 255)), PASS, "NS");
	cr_expect_eq(judge(p, ip6("fe80::1", 58, 0, 0, 136, NULL, 0, 255)), PASS, "NA");
	cr_expect_eq(judge(p, ip6("ff02::2", 58, 0, 0, 133, NULL, 0, 255)), PASS, "RS");
	cr_expect_eq(judge(p, ip6("2001:db8::1", 58, 0, 0, 135, NULL, 0, 64)), REFUSED,
		     "ND that could be routed");
	cr_expect_eq(judge(p, ip6("ff02::16", 58, 0, 0, 143, hbh, 1, 1)), PASS, "MLDv2 report");
	cr_expect_eq(judge(p, ip6("2001:db8::1", 58, 0, 0, 143, NULL, 0, 1)), REFUSED);
	cr_expect_eq(judge(p, ip6("ff02::1:2", 17, 546, 547, 0, NULL, 0, 1)), PASS, "DHCPv6");
	cr_expect_eq(judge(p, ip6("2001:db8::1", 17, 546, 547, 0, NULL, 0, 64)), REFUSED);
	cr_expect_eq(judge(p, ip6("2001:db8::1", 58, 0, 0, 128, NULL, 0, 64)), REFUSED, "ping");
	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 1, 80, SYN)), REFUSED);
	egress_policy_free(p);
}

Test(egress_classify, served_ports_answer_but_open_nothing)
{
	struct egress_policy *p = policy("serve=tcp:22;serve=udp:5000-5001");

	cr_expect_eq(judge(p, ip4("10.0.2.2", 6, 22, 40000, SYN | ACK)), PASS);
	cr_expect_eq(judge(p, ip4("1.2.3.4", 6, 22, 40000, ACK)), PASS);
	cr_expect_eq(judge(p, ip4("1.2.3.4", 6, 22, 40000, SYN)), REFUSED, "a new connection");
	cr_expect_eq(judge(p, ip4("1.2.3.4", 6, 23, 40000, ACK)), REFUSED);
	cr_expect_eq(judge(p, ip4("1.2.3.4", 17, 5001, 9, 0)), PASS);
	cr_expect_eq(judge(p, ip4("1.2.3.4", 17, 5002, 9, 0)), REFUSED);
	cr_expect_eq(judge(p, ip6("2001:db8::1", 6, 22, 9, ACK, NULL, 0, 64)), PASS);
	egress_policy_free(p);
}

Test(egress_classify, ipv6_networks_and_extension_headers)
{
	struct egress_policy *p = policy("2001:db8::/32:tcp:443;[2001:db8:1::]/48:udp");
	static const uint8_t hbh_dst[] = {0, 60}, frag[] = {44}, ah[] = {51}, rh[] = {43};

	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 443, SYN, NULL, 0, 64)), PASS);
	cr_expect_eq(judge(p, ip6("2001:db9::1", 6, 1, 443, SYN, NULL, 0, 64)), REFUSED);
	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 443, SYN, hbh_dst, 2, 64)), PASS,
		     "hop-by-hop and destination options walked");
	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 80, SYN, hbh_dst, 2, 64)), REFUSED);
	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 443, SYN, frag, 1, 64)), PASS,
		     "first fragment: its ports");
	/* AH's length field counts 4-byte words minus 2: 0 would be 8 bytes, as our 8. */
	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 443, SYN, ah, 1, 64)), PASS);
	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 443, SYN, rh, 1, 64)), MALFORMED,
		     "routing header");
	cr_expect_eq(judge(p, ip4("10.0.0.1", 6, 1, 443, SYN)), REFUSED, "no IPv4 rule");

	/* A fragment past the first carries no ports: only a rule without ports takes it. */
	struct frame f = ip6("2001:db8:5::1", 6, 1, 443, SYN, frag, 1, 64);
	put16(f.b + 14 + 40 + 2, 185 << 3);
	cr_expect_eq(judge(p, f), REFUSED);
	f = ip6("2001:db8:1::9", 17, 1, 443, 0, frag, 1, 64);
	put16(f.b + 14 + 40 + 2, 185 << 3);
	cr_expect_eq(judge(p, f), PASS, "the /48 takes any udp");

	/* More extension headers than walked. */
	uint8_t many[9];
	memset(many, 60, sizeof(many));
	cr_expect_eq(judge(p, ip6("2001:db8:5::1", 6, 1, 443, SYN, many, 9, 64)), MALFORMED);
	egress_policy_free(p);
}

Test(egress_classify, ipv4_fragments)
{
	struct egress_policy *p = policy("10.0.0.0/8:tcp:80;10.1.0.0/16:udp");
	struct frame f = ip4("10.2.0.1", 6, 1, 80, SYN);

	put16(f.b + 14 + 6, 0x2000); /* MF, offset 0: the first, with its ports */
	cr_expect_eq(judge(p, f), PASS);
	put16(f.b + 14 + 6, 0x0010); /* a later one */
	cr_expect_eq(judge(p, f), REFUSED);
	f = ip4("10.1.0.1", 17, 1, 9, 0);
	put16(f.b + 14 + 6, 0x0010);
	cr_expect_eq(judge(p, f), PASS);
	f = ip4("10.2.0.1", 6, 1, 80, SYN);
	f.len = 14 + 20 + 10; /* a first fragment too short for the TCP flags */
	cr_expect_eq(judge(p, f), MALFORMED);
	egress_policy_free(p);
}

Test(egress_classify, malformed_frames)
{
	struct egress_policy *p = policy("0.0.0.0/0;::/0");
	struct frame f = ip4("10.0.2.2", 6, 1, 80, SYN);

	cr_expect_eq(judge(p, f), PASS, "everything allowed");
	for (size_t len = 0; len < 14 + 20 + 14; len++)
		cr_expect_eq(egress_classify(p, f.b, len), MALFORMED, "cut at %zu", len);
	f.b[14] = 0x44; /* IHL 4 */
	cr_expect_eq(judge(p, f), MALFORMED);
	f.b[14] = 0x65; /* version 6 in an IPv4 frame */
	cr_expect_eq(judge(p, f), MALFORMED);
	f.b[14] = 0x4f; /* IHL 15: 60 bytes, the TCP header then past the frame */
	cr_expect_eq(judge(p, f), MALFORMED);
	f = ip6("::1", 6, 1, 80, SYN, NULL, 0, 64);
	f.b[14] = 0x40;
	cr_expect_eq(judge(p, f), MALFORMED);
	f = ip4("10.0.2.2", 6, 1, 80, SYN);
	put16(f.b + 12, 0x8100); /* a VLAN tag */
	cr_expect_eq(judge(p, f), MALFORMED);
	put16(f.b + 12, 0x88cc); /* LLDP */
	cr_expect_eq(judge(p, f), MALFORMED);

	/* Headers that end past what the classifier reads. */
	uint8_t big[EGRESS_HEAD_MAX + 64] = {0};
	memcpy(big, ip6("::1", 6, 1, 80, SYN, (const uint8_t[]){0}, 1, 64).b, 14 + 48);
	big[14 + 40 + 1] = 30; /* hop-by-hop of 248 bytes */
	cr_expect_eq(egress_classify(p, big, sizeof(big)), MALFORMED);
	egress_policy_free(p);
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Not a test of speed: prints what 100 rules cost per frame (docs/networking.md quotes it). */
Test(egress_classify, cost_of_100_rules)
{
	static struct egress_rules rs;
	char text[64];
	struct frame hit = ip4("10.0.43.7", 6, 40000, 443, SYN);
	struct frame miss = ip4("192.168.1.1", 6, 40000, 443, SYN);
	enum { N = 2000000 };
	volatile int sink = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "10.0.%d.0/%d:tcp:%d", i, i % 3 ? 24 : 32,
			 400 + i % 50);
		cr_assert_eq(egress_rules_add(&rs, text, msg, sizeof(msg)), 0);
	}
	struct egress_policy *p = egress_policy_new(rs.rule, rs.n);
	cr_assert_eq(judge(p, hit), PASS);
	cr_assert_eq(judge(p, miss), REFUSED);
	double t0 = now_ns();
	for (int i = 0; i < N; i++)
		sink += egress_classify(p, hit.b, hit.len);
	double t1 = now_ns();
	for (int i = 0; i < N; i++)
		sink += egress_classify(p, miss.b, miss.len);
	double t2 = now_ns();
	cr_log_info("egress: 100 rules: %.1f ns per allowed frame, %.1f ns per refused frame",
		    (t1 - t0) / N, (t2 - t1) / N);
	fprintf(stderr, "egress: 100 rules: %.1f ns per allowed frame, %.1f ns per refused frame\n",
		(t1 - t0) / N, (t2 - t1) / N);
	egress_policy_free(p);
}
