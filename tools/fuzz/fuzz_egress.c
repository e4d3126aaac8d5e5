/* libFuzzer target: a NIC's egress policy (virtio/net/egress_parse.c, egress.c,
 * egress_filter.c). Input: a length byte and that many bytes of rule text (a ';' list, as
 * --net egress= takes it), then frames, each a 2-byte length, a segmentation seed byte and the
 * frame. Invariants: a refused list says why and adds nothing; every accepted rule formats to
 * text that parses back to the same rule; the classifier judges any bytes; a frame the filter
 * passes reaches the backend byte for byte whatever its segments, and one it refuses not at all,
 * as egress_classify() says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "tests/mock_driver/net_loopback.h"
#include "tools/fuzz/fuzz_input.h"
#include "virtio/net/egress.h"
#include "virtio/net/egress_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 16

static struct egress_rules rules;

static void check_round_trip(const struct egress_rule *r)
{
	char text[EGRESS_RULE_TEXT], err[256];
	struct egress_rule back;

	egress_rule_format(r, text, sizeof(text));
	if (egress_rule_parse(text, &back, err, sizeof(err)) || memcmp(&back, r, sizeof(back))) {
		fprintf(stderr, "rule '%s' does not read back\n", text);
		abort();
	}
}

static bool parse_rules(struct fz_in *in)
{
	char text[256], err[512] = "";
	size_t n = fz_u8(in);

	fz_bytes(in, text, n);
	text[n] = '\0';
	memset(&rules, 0, sizeof(rules));
	if (egress_rules_add(&rules, text, err, sizeof(err))) {
		if (!err[0] || rules.n || rules.on)
			abort(); /* a refusal says why and adds nothing */
		return false;
	}
	for (unsigned i = 0; i < rules.n; i++)
		check_round_trip(&rules.rule[i]);
	return true;
}

/* The frame cut into pieces of sizes the seed gives (1..16 bytes, then the rest). */
static int cut(const uint8_t *f, size_t len, uint8_t seed, struct iovec *iov, int max)
{
	int n = 0;
	size_t off = 0;

	while (off < len && n < max - 1) {
		size_t k = 1 + (size_t)((seed = (uint8_t)(seed * 37 + 11)) % 16);
		k = k < len - off ? k : len - off;
		iov[n++] = (struct iovec){(void *)(f + off), k};
		off += k;
	}
	if (off < len)
		iov[n++] = (struct iovec){(void *)(f + off), len - off};
	return n;
}

static void send_frames(struct fz_in *in, struct net_backend *be, struct net_backend *lb,
			const struct egress_policy *p)
{
	static uint8_t frame[2048];
	struct iovec iov[300];

	for (int i = 0; i < MAX_FRAMES && !fz_done(in); i++) {
		size_t len = fz_u16(in) % sizeof(frame), before = net_loopback_sent_count(lb);
		uint8_t seed = fz_u8(in);
		fz_bytes(in, frame, len);
		bool pass = egress_classify(p, frame, len) == EGRESS_PASS;
		int r = be->ops->send(be, iov, cut(frame, len, seed, iov, 300));
		if (pass != (r == 0) || (!pass && r != -NET_SEND_REFUSED))
			abort();
		if (!pass) {
			if (net_loopback_sent_count(lb) != before)
				abort();
			continue;
		}
		size_t got;
		const uint8_t *sent = net_loopback_sent(lb, before, &got);
		if (got != len || memcmp(sent, frame, len))
			abort(); /* the head copy changed the frame */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct net_backend *lb, *be;

	if (!parse_rules(&in))
		return 0;
	struct egress_policy *p = egress_policy_new(rules.rule, rules.n);
	if (!p || net_loopback_create(&lb, false, 0)) {
		egress_policy_free(p);
		return 0;
	}
	be = lb;
	if (net_egress_wrap(&be, rules.rule, rules.n) == 0)
		send_frames(&in, be, lb, p);
	net_backend_destroy(be);
	egress_policy_free(p);
	return 0;
}
