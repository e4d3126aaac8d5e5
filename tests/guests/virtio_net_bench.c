/* virtio-net packet rate and throughput, guest <-> tap, for
 * tests/integration/bench/test_net_bench.py. The hot loops run in ring 3 (run_user: on hosts whose
 * KVM emulates ring 0 only ring 3 runs at native speed) and poll the used rings; kicks are MMIO
 * writes from ring 3. No interrupts.
 *
 *   tx: for tx_ms, frames of EtherType 0x88b9 to the tap's side (broadcast), 60 bytes (-> pps)
 *       then 1514 bytes (-> Mbit/s); the host counts what arrives.
 *   rx: the guest prints "BENCH rx ready SIZE" and polls; the host sends frames of SIZE bytes as
 *       fast as it can; the rate is frames over the time from the first to the last frame
 *       (the burst ends after rx_idle_ms without a frame). 60 bytes, then 1514.
 * Prints "BENCH net tx_pps=... tx_mbps=... rx_pps=... rx_mbps=...". The clock's rate is measured
 * first (platform_clock_calibrate(); x86: the TSC against the LAPIC timer: CPUID may not give its
 * frequency, and the runtime's 2 GHz guess made every rate wrong by the ratio;
 * tests/integration/net/test_rate_limit_net.py checks rates to 10%). On arm64 the loops run in
 * place (run_user), at EL1.
 *
 * pairs=N (N >= 2): N queue pairs (VIRTIO_NET_F_MQ and CTRL_VQ negotiated, VQ_PAIRS_SET N; the
 * guest fails if the device refuses). tx sends each frame on the next transmit queue in turn,
 * rx polls every receive queue; the frames per pair are printed ("tx SIZE-byte frames per
 * pair: A B ...", every pair must carry some; "rx ...", where the tap's flow hash decides, so
 * the host sends IPv4/UDP frames of several flows to port 0x88b9, which count too). Prints
 * "BENCH net-mq pairs=N tx_pps=... tx_mbps=... rx_pps=... rx_mbps=...".
 * tx_udp=1: the tx frames are IPv4/UDP from 192.168.77.2 to 192.168.77.1, port 0x88b9 both ways
 * (tools/benchmarks/egress.py: frames an egress policy has to judge, and lets pass).
 * Command line: [tx_ms=MS] [rx_idle_ms=MS] [rx_wait_ms=MS] (how long to wait for the first
 * frame) [pairs=N] [tx_udp=1] */
#include "guest.h"
#include "net_dev.h"
#include "user.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define ETH_BENCH 0x88b9
#define SMALL	  60u
#define LARGE	  1514u

struct run {
	struct net_dev *n;
	uint32_t size;
	uint64_t ms;	  /* tx: duration; rx: idle time that ends the burst */
	uint64_t wait_ms; /* rx: how long to wait for the first frame */
	uint8_t *frame;
	bool udp; /* tx frames are IPv4/UDP (tx_udp=1) */
	uint64_t frames, ticks;
	uint64_t per_pair[NET_MAX_PAIRS]; /* frames on each pair */
};

/* Ring 3: sends frames for r->ms, one per pair in turn, counts them per pair and the clock ticks
 * taken. */
static uint64_t tx_loop(void *arg)
{
	struct run *r = arg;
	uint64_t t0 = clock_ticks(), end = t0 + r->ms * 1000 * clock_ticks_per_us(), now = t0;
	uint16_t p = 0, pairs = r->n->npairs;

	while (now < end) {
		if (net_send_on(r->n, p, r->frame, r->size, NULL) == 0)
			r->per_pair[p]++;
		p = (uint16_t)(p + 1 < pairs ? p + 1 : 0);
		now = clock_ticks();
	}
	/* Let the device finish what is in flight: those frames count, and take time too. */
	while (net_tx_in_flight(r->n) && clock_ticks() - now < 1000000 * clock_ticks_per_us())
		net_tx_reclaim(r->n);
	r->ticks = clock_ticks() - t0;
	return 0;
}

/* EtherType 0x88b9, or IPv4/UDP (a 20-byte IP header) to port 0x88b9. */
static bool bench_frame(const uint8_t *f)
{
	if (f[12] == (ETH_BENCH >> 8) && f[13] == (ETH_BENCH & 0xff))
		return true;
	return f[12] == 0x08 && f[13] == 0x00 && f[14] == 0x45 && f[23] == 17 /* UDP */ &&
	       f[36] == (ETH_BENCH >> 8) && f[37] == (ETH_BENCH & 0xff);
}

/* Ring 3: counts frames of the right size from the first until r->ms pass without one. */
static uint64_t rx_loop(void *arg)
{
	struct run *r = arg;
	uint64_t tpu = clock_ticks_per_us(), first = 0, last = clock_ticks();
	uint64_t start = last, idle = r->ms * 1000 * tpu;

	for (;;) {
		int len = net_recv(r->n, r->frame, LARGE, NULL);
		uint64_t now = clock_ticks();

		if (len > 0 && bench_frame(r->frame)) {
			if (!r->frames++)
				first = now;
			last = now;
		} else if (len == 0) {
			if (r->frames ? now - last > idle : now - start > r->wait_ms * 1000 * tpu)
				break;
			cpu_relax();
		}
	}
	r->ticks = r->frames > 1 ? last - first : 0;
	return 0;
}

static uint64_t per_second(uint64_t count, uint64_t ticks)
{
	uint64_t us = ticks / clock_ticks_per_us();

	return us ? count * 1000000 / us : 0;
}

/* With several pairs: "DIR SIZE-byte frames per pair: A B ...". */
static void print_pairs(const struct run *r, const char *dir)
{
	if (r->n->npairs < 2)
		return;
	printf("%s %u-byte frames per pair:", dir, r->size);
	for (uint16_t p = 0; p < r->n->npairs; p++)
		printf(" %llu", (unsigned long long)r->per_pair[p]);
	printf("\n");
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 header (at f + 14) and a UDP header for a frame of size bytes, 192.168.77.2 ->
 * 192.168.77.1, port 0x88b9 to 0x88b9, UDP checksum 0 (none). */
static void udp_headers(uint8_t *f, uint32_t size)
{
	static const uint8_t ips[8] = {192, 168, 77, 2, 192, 168, 77, 1};
	uint8_t *ip = f + 14, *udp = f + 34;
	uint32_t sum = 0;

	put_be16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put_be16(ip + 2, size - 14);
	put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, ips, 8);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put_be16(ip + 10, ~sum & 0xffff);
	put_be16(udp, ETH_BENCH);
	put_be16(udp + 2, ETH_BENCH);
	put_be16(udp + 4, size - 34);
	put_be16(udp + 6, 0);
}

static void run_tx(struct run *r, uint64_t *pps, uint64_t *mbps)
{
	memset(r->frame, 0xff, 6); /* broadcast: the host side counts by EtherType */
	memcpy(r->frame + 6, r->n->mac, 6);
	if (r->udp) {
		udp_headers(r->frame, r->size);
	} else {
		r->frame[12] = ETH_BENCH >> 8;
		r->frame[13] = ETH_BENCH & 0xff;
	}
	memset(r->per_pair, 0, sizeof(r->per_pair));
	run_user(tx_loop, r);
	r->frames = 0;
	for (uint16_t p = 0; p < r->n->npairs; p++)
		r->frames += r->per_pair[p];
	*pps = per_second(r->frames, r->ticks);
	*mbps = per_second(r->frames * r->size * 8, r->ticks) / 1000000;
	printf("tx %u-byte frames: %llu in %llu us\n", r->size, (unsigned long long)r->frames,
	       (unsigned long long)(r->ticks / clock_ticks_per_us()));
	print_pairs(r, "tx");
	for (uint16_t p = 0; p < r->n->npairs; p++)
		TEST_ASSERT_MSG(r->per_pair[p], "pair %u carried no %u-byte frames", p, r->size);
}

static void run_rx(struct run *r, uint64_t *pps, uint64_t *mbps)
{
	uint64_t intervals;

	r->frames = 0;
	for (uint16_t p = 0; p < r->n->npairs; p++)
		r->per_pair[p] = r->n->pair[p].rx_frames;
	printf("BENCH rx ready %u\n", r->size);
	run_user(rx_loop, r);
	for (uint16_t p = 0; p < r->n->npairs; p++)
		r->per_pair[p] = r->n->pair[p].rx_frames - r->per_pair[p];
	intervals = r->frames > 1 ? r->frames - 1 : 0;
	*pps = per_second(intervals, r->ticks);
	*mbps = per_second(intervals * r->size * 8, r->ticks) / 1000000;
	printf("rx %u-byte frames: %llu in %llu us\n", r->size, (unsigned long long)r->frames,
	       (unsigned long long)(r->ticks / clock_ticks_per_us()));
	print_pairs(r, "rx");
}

/* Both tx phases: 60-byte frames (-> pps), then 1514-byte frames (-> Mbit/s). */
static void tx_phases(struct run *r, uint64_t *pps, uint64_t *mbps)
{
	uint64_t dummy;

	r->size = SMALL;
	run_tx(r, pps, &dummy);
	r->size = LARGE;
	run_tx(r, &dummy, mbps);
}

/* The tx phases, then the rx phases (the host floods on "BENCH rx ready SIZE"). */
static void bench(struct run *r, uint64_t idle)
{
	uint64_t tx_pps, tx_mbps, rx_pps, rx_mbps, dummy;
	char name[32];

	tx_phases(r, &tx_pps, &tx_mbps);
	printf("BENCH tx done\n");
	r->ms = idle;
	r->size = SMALL;
	run_rx(r, &rx_pps, &dummy);
	r->size = LARGE;
	run_rx(r, &dummy, &rx_mbps);
	TEST_ASSERT_MSG(r->frames > 1, "no frames received");
	if (r->n->npairs > 1)
		snprintf(name, sizeof(name), "net-mq pairs=%u", r->n->npairs);
	else
		snprintf(name, sizeof(name), "net");
	printf("BENCH %s tx_pps=%llu tx_mbps=%llu rx_pps=%llu rx_mbps=%llu\n", name,
	       (unsigned long long)tx_pps, (unsigned long long)tx_mbps, (unsigned long long)rx_pps,
	       (unsigned long long)rx_mbps);
}

int guest_main(void)
{
	static struct net_dev n;
	struct net_dev_config cfg = {.tx_nbufs = 128, .tx_buf_len = 2048};
	struct run r = {.n = &n, .ms = 2000, .wait_ms = 20000};
	uint64_t idle = 300, pairs = 1, udp = 0, hz;
	struct vdev *d = vdev_find(VIRTIO_ID_NET, 0);
	const char *how;
	int err;

	TEST_ASSERT_MSG(d, "no virtio-net device on %s", vdev_transport_name());
	hz = platform_clock_calibrate(&how);
	printf("clock: %llu kHz, %s\n", (unsigned long long)(hz / 1000), how);
	cmdline_get_u64("tx_ms", &r.ms);
	cmdline_get_u64("rx_idle_ms", &idle);
	cmdline_get_u64("rx_wait_ms", &r.wait_ms);
	cmdline_get_u64("pairs", &pairs);
	cmdline_get_u64("tx_udp", &udp);
	r.udp = udp != 0;
	TEST_ASSERT_MSG(pairs >= 1 && pairs <= NET_MAX_PAIRS, "pairs=%llu: 1 to %u",
			(unsigned long long)pairs, NET_MAX_PAIRS);
	cfg.pairs = (uint16_t)pairs;
	err = net_dev_init(&n, d, &cfg);
	TEST_ASSERT_MSG(err == 0, "virtio-net setup with %llu queue pair(s) failed: %d",
			(unsigned long long)pairs, err);
	r.frame = virtio_alloc(NET_FRAME_MAX, 64);
	TEST_ASSERT(r.frame);
	memset(r.frame, 0, LARGE);
	if (pairs > 1)
		printf("MQ: %u queue pairs in use (max_virtqueue_pairs %u)\n", n.npairs,
		       n.max_pairs);
	bench(&r, idle);
	return 0;
}
