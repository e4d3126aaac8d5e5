/* The egress filter (virtio/net/egress_filter.h) in a device's transmit path: allowed frames
 * reach the backend byte for byte (whatever their segments), refused ones are counted in
 * tx_egress_dropped and its metrics counter. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "virtio/net/egress.h"
#include "virtio/net/egress_filter.h"
#include "virtio_net_fixture.h"

TestSuite(virtio_net_egress, .fini = teardown);

/* A device over the loopback behind a filter of `rules`. */
static void create_filtered(bool vnet_hdr, const char *rules)
{
	static struct egress_rules rs;
	struct net_backend *lb;
	char err[256];

	memset(&rs, 0, sizeof(rs));
	cr_assert_eq(egress_rules_add(&rs, rules, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(net_loopback_create(&lb, vnet_hdr, vnet_hdr ? ALL_CAPS : 0), 0);
	struct net_backend *inner = lb;
	cr_assert_eq(net_egress_wrap(&lb, rs.rule, rs.n), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, &lb, 1, MAC), 0);
	attach();
	be = inner; /* what the tests look at: the loopback under the filter */
}

/* An IPv4 TCP frame of `len` bytes to `dst`:`port`, the payload recognisable. */
static const uint8_t *tcp_frame(const char *dst, unsigned port, size_t len)
{
	uint8_t *ip = frame + 14;

	make_frame(len, 3);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[9] = 6;
	inet_pton(AF_INET, dst, ip + 16);
	ip[22] = (uint8_t)(port >> 8);
	ip[23] = (uint8_t)port;
	ip[33] = 0x02; /* SYN */
	return frame;
}

/* The frame in descriptors of `piece` bytes each, after the header's own. */
static void add_tx_pieces(const uint8_t *data, uint32_t len, uint32_t piece)
{
	static struct mock_buf b[VIRTIO_NET_QUEUE_SIZE];
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	int n = 0;

	b[n++] = (struct mock_buf){mock_fill(TXV, &h, HDR), HDR, false};
	for (uint32_t off = 0; off < len; off += piece) {
		uint32_t k = len - off < piece ? len - off : piece;
		b[n++] = (struct mock_buf){mock_fill(TXV, data + off, k), k, false};
	}
	cr_assert_geq(add(TXV, b, n), 0);
}

static uint64_t metrics_counter;
static void take_counter(void *ctx, const char *name, uint64_t value)
{
	(void)ctx;
	if (!strcmp(name, "tx_egress_dropped"))
		metrics_counter = value;
}

static void expect_sent_as(size_t i, const uint8_t *want, size_t len, size_t hdr)
{
	size_t got;
	const uint8_t *s = net_loopback_sent(be, i, &got);

	cr_assert_eq(got, len + hdr);
	cr_expect_arr_eq(s + hdr, want, len, "frame %zu changed on its way", i);
}

static void allowed_and_refused(bool vnet_hdr)
{
	static uint8_t copy[2000];
	uint32_t id, len;
	size_t hdr = vnet_hdr ? HDR : 0;

	create_filtered(vnet_hdr, "10.0.2.2/32:tcp:8000;dns=10.0.2.3");
	driver_up(FEAT);
	memcpy(copy, tcp_frame("10.0.2.2", 8000, 1500), 1500);
	add_tx(&(struct virtio_net_hdr_v1){0}, copy, 1500);
	add_tx_pieces(copy, 1500, 13); /* the judged head spans 20 descriptors */
	add_tx_pieces(copy, 60, 1);
	add_tx_pieces(tcp_frame("10.0.2.2", 8001, 600), 600, 100);
	add_tx_pieces(tcp_frame("10.0.2.9", 8000, 300), 300, 300);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(net_loopback_sent_count(be), 3);
	expect_sent_as(0, copy, 1500, hdr);
	expect_sent_as(1, copy, 1500, hdr);
	expect_sent_as(2, copy, 60, hdr);
	struct virtio_net_stats s = stats();
	cr_expect_eq(s.tx_frames, 3);
	cr_expect_eq(s.tx_egress_dropped, 2);
	cr_expect_eq(s.tx_dropped, 0, "a refusal is not the backend's drop");
	cr_expect_eq(s.tx_errors, 0);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(used(TXV, &id, &len), 1, "buffer %d not completed", i);
	metrics_counter = 0;
	virtio_dev_extra_counters(dev, take_counter, NULL);
	cr_expect_eq(metrics_counter, 2, "the metrics' counter");
}

Test(virtio_net_egress, allowed_pass_whole_refused_are_counted)
{
	allowed_and_refused(false);
}

Test(virtio_net_egress, the_same_with_vnet_headers)
{
	allowed_and_refused(true);
}

Test(virtio_net_egress, backend_failures_stay_drops)
{
	create_filtered(false, "0.0.0.0/0");
	driver_up(FEAT);
	net_loopback_fail_send(be, -EIO);
	add_tx_pieces(tcp_frame("1.2.3.4", 80, 100), 100, 100);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(stats().tx_dropped, 1);
	cr_expect_eq(stats().tx_egress_dropped, 0);
}

Test(virtio_net_egress, no_policy_counts_zero)
{
	struct net_backend *lb;

	cr_assert_eq(net_loopback_create(&lb, false, 0), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, &lb, 1, MAC), 0);
	attach();
	metrics_counter = 7;
	virtio_dev_extra_counters(dev, take_counter, NULL);
	cr_expect_eq(metrics_counter, 0);
}

/* ---- the policy replaced while the NIC runs (virtio_net_set_egress()) ---- */

static struct egress_rules live_rules;

static const struct egress_rules *rules_of(const char *text)
{
	char err[256];

	memset(&live_rules, 0, sizeof(live_rules));
	cr_assert_eq(egress_rules_add(&live_rules, text, err, sizeof(err)), 0, "%s", err);
	return &live_rules;
}

/* A device over the loopback behind a filter without a policy (as every NIC has one), with
 * `served` kept for every later policy. */
static void create_unfiltered(const struct egress_rule *served, unsigned nserved)
{
	struct net_backend *lb;

	cr_assert_eq(net_loopback_create(&lb, false, 0), 0);
	struct net_backend *inner = lb;
	cr_assert_eq(net_egress_wrap_fixed(&lb, NULL, served, nserved), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, &lb, 1, MAC), 0);
	attach();
	be = inner;
	driver_up(FEAT);
}

/* One frame to dst:port sent; true when it reached the backend. */
static bool send_tcp(const char *dst, unsigned port)
{
	size_t before = net_loopback_sent_count(be);
	uint32_t id, len;

	add_tx_pieces(tcp_frame(dst, port, 100), 100, 100);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(used(TXV, &id, &len), 1);
	return net_loopback_sent_count(be) == before + 1;
}

Test(virtio_net_egress, refused_then_allowed_by_a_new_policy)
{
	create_unfiltered(NULL, 0);
	cr_expect(send_tcp("10.0.2.9", 80), "no policy: everything passes");
	cr_assert_eq(virtio_net_set_egress(dev, rules_of("10.0.2.2/32:tcp:8000")), 0);
	cr_expect_not(send_tcp("10.0.2.9", 80), "refused by the new rules");
	cr_expect(send_tcp("10.0.2.2", 8000));
	cr_assert_eq(virtio_net_set_egress(dev, rules_of("10.0.2.0/24:tcp")), 0);
	cr_expect(send_tcp("10.0.2.9", 80), "allowed by the rules after");
	cr_expect_not(send_tcp("10.0.3.1", 80));
	cr_expect_eq(stats().tx_egress_dropped, 2);
	cr_assert_eq(virtio_net_set_egress(dev, rules_of("none")), 0);
	cr_expect_not(send_tcp("10.0.2.9", 80), "none: only what the link needs");
	cr_assert_eq(virtio_net_set_egress(dev, NULL), 0);
	cr_expect(send_tcp("10.0.3.1", 80), "no policy again");
}

/* A served hostfwd port (libslirp) stays whatever rules replace the policy. */
Test(virtio_net_egress, served_ports_outlive_a_new_policy)
{
	struct egress_rule serve = {.kind = EGRESS_SERVE, .proto = 6, .port_lo = 22, .port_hi = 22};
	uint32_t id, len;

	create_unfiltered(&serve, 1);
	cr_assert_eq(virtio_net_set_egress(dev, rules_of("none")), 0);
	uint8_t *f = (uint8_t *)tcp_frame("10.0.2.2", 40000, 100);
	f[14 + 20] = 0, f[14 + 21] = 22; /* from port 22 */
	f[14 + 33] = 0x10;		 /* ACK: a reply */
	add_tx_pieces(f, 100, 100);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(used(TXV, &id, &len), 1);
	cr_expect_eq(net_loopback_sent_count(be), 1, "the served port's reply passes");
}

Test(virtio_net_egress, a_nic_without_a_filter_refuses)
{
	create(false, 0);
	cr_expect_eq(virtio_net_set_egress(dev, rules_of("none")), -ENODEV);
	cr_expect_eq(virtio_net_set_egress(NULL, NULL), -ENODEV);
}

/* Policies swapped by another thread while frames are judged: each frame meets one whole
 * policy (the run is for ASan/TSan and the counts: every frame sent or refused, none lost). */
struct swapper {
	atomic_bool stop;
	atomic_uint swaps;
	int err;
};

static void *swap_loop(void *arg)
{
	struct swapper *s = arg;
	static struct egress_rules a, b;
	char err[64];

	egress_rules_add(&a, "10.0.2.0/24", err, sizeof(err));
	egress_rules_add(&b, "10.0.3.0/24;10.0.2.9/32:tcp:80", err, sizeof(err));
	while (!atomic_load(&s->stop) && !s->err) {
		s->err = virtio_net_set_egress(dev, atomic_load(&s->swaps) % 2 ? &a : &b);
		atomic_fetch_add(&s->swaps, 1);
	}
	return NULL;
}

Test(virtio_net_egress, swaps_while_frames_flow)
{
	struct swapper s = {.err = 0};
	pthread_t t;
	unsigned passed = 0, frames = 300;

	atomic_init(&s.stop, false);
	atomic_init(&s.swaps, 0);
	create_unfiltered(NULL, 0);
	cr_assert_eq(pthread_create(&t, NULL, swap_loop, &s), 0);
	while (atomic_load(&s.swaps) == 0)
		sched_yield(); /* the frames below meet swapped policies */
	for (unsigned i = 0; i < frames; i++)
		passed += send_tcp("10.0.2.9", 80); /* both policies allow it */
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	cr_expect_eq(passed, frames, "a frame allowed by both policies was refused");
	cr_expect_eq(stats().tx_egress_dropped, 0);
	cr_expect_eq(s.err, 0);
	cr_expect_gt(atomic_load(&s.swaps), 1);
}
