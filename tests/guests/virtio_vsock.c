/* virtio-vsock (virtio 1.2 section 5.10) from the guest side: a minimal polling vsock driver over
 * virtio-mmio or virtio-pci (transport=pci) and four phases against a host helper
 * (tests/integration/lib/vsock_host.py) behind the VMM's Unix sockets:
 *   1. echo:   connect to host port 1234 (an echo server), send `echo` bytes of a pattern while
 *              taking the echo back, check every byte; then SHUTDOWN and wait for the RST;
 *   2. many:   `conns` connections to port 1234 open at once, 1 KiB each, every echo checked;
 *   3. credit: connect to port 1235 (a source sending `credit` bytes) advertising only 4 KiB of
 *              buffer and consuming nothing until the device has filled it: the device must stop
 *              there (a byte past the credit fails the test), then each CREDIT_UPDATE lets more
 *              through, until everything arrived intact;
 *   4. host:   accept the host's connection to our port 5000 (REQUEST -> RESPONSE), check the
 *              `host` bytes it sends and echo them back, until the host closes.
 * The device's own credit is respected when sending (5.10.6.3). Sizes: cmdline echo=, credit=,
 * host=, conns=, and rxbuf= (payload bytes per rx buffer, 4096 by default like Linux's).
 * With bench=N instead: N bytes guest->host to port 1236 (a sink that answers one byte when it
 * has them all) and N bytes host->guest from port 1237 (a source), no pattern checks, timed by
 * the guest: "BENCH vsock g2h bytes=N us=T" and "... h2g ...". The bench runs in ring 3
 * (run_user: on hosts whose KVM emulates guest ring 0 only ring 3 runs natively), with 64 KiB
 * packets from the guest, up to NTX of them in flight, 64 KiB rx buffers (rxbuf= changes it)
 * and 1 MiB of advertised buffer per connection.
 * With snapshot=1 instead (tests/integration/snapshot/test_snapshot_vsock.py): open a connection to
 * port 1234, echo 4 KiB, print SNAP-READY and wait for VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (the VMM
 * is snapshotted and restored meanwhile); then drop every connection (5.10.6.7), check that the
 * device forgot the old one (a packet on it is answered by RST), connect again and echo 4 KiB. */
#include "guest.h"
#include "platform.h"
#include "user.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#define HDR	     ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define NRX	     64
#define RX_PAYLOAD   4096 /* default rx buffer payload (test mode) */
#define RX_MAX	     65536
#define NTX	     8 /* tx buffers: one in flight in test mode, up to NTX in bench mode */
#define MAX_CONNS    64
#define CHUNK	     4096
#define BENCH_CHUNK  65536
#define HOST_CID     2
#define BUF_ALLOC    (256u * 1024)
#define BENCH_ALLOC  (1024u * 1024)
#define TIMEOUT_MS   30000
#define NEV	     4
#define SNAP_WAIT_MS 300000 /* the snapshot, the kill and the restore happen meanwhile */

struct conn {
	bool used, open, reset, peer_shut, listen_made;
	uint32_t lport, pport;
	uint8_t seed;	    /* pattern of the bytes we expect (and echo) */
	bool consume;	    /* consume on arrival (else phase 3 consumes by hand) */
	bool nocheck;	    /* bench: bytes are not checked */
	uint32_t buf_alloc; /* what we advertise */
	uint32_t fwd_cnt;   /* bytes we consumed */
	uint32_t fwd_sent;  /* fwd_cnt the device last heard */
	uint32_t rx_cnt;    /* bytes received */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t credit_reqs;
};

static struct vdev *d;
static struct vq rxq, txq, evq;
static struct virtio_vsock_event *evbufs;
static uint64_t cid;
static struct conn conns[MAX_CONNS];
static uint8_t *txbufs[NTX];
static bool tx_busy[NTX];
static bool tx_async; /* bench: don't wait for each tx buffer to come back */
static uint32_t rx_payload = RX_PAYLOAD;
static uint32_t conn_alloc = BUF_ALLOC; /* what connect() advertises by default */
static uint32_t next_port = 40000;
static uint64_t ticks_per_ms;

static uint8_t pattern(uint8_t seed, uint32_t off)
{
	return (uint8_t)(off * 7 + seed + (off >> 8));
}

static uint64_t now_ms(void)
{
	return clock_ticks() / ticks_per_ms;
}

/* ---- packets ---- */

/* Takes back the tx buffers the device has used. Returns how many are still in flight. */
static unsigned tx_reclaim(void)
{
	uint32_t ulen;
	uint8_t *buf;
	unsigned busy = 0;

	while ((buf = vq_get_used(&txq, &ulen)) != NULL)
		for (int i = 0; i < NTX; i++)
			if (txbufs[i] == buf)
				tx_busy[i] = false;
	for (int i = 0; i < NTX; i++)
		busy += tx_busy[i];
	return busy;
}

/* A free tx buffer, waiting for one if every buffer is in flight. */
static uint8_t *tx_get(void)
{
	uint64_t end = now_ms() + TIMEOUT_MS;
	for (;;) {
		tx_reclaim();
		for (int i = 0; i < NTX; i++)
			if (!tx_busy[i])
				return txbufs[i];
		TEST_ASSERT_MSG(now_ms() < end, "tx buffers never returned");
		cpu_relax();
	}
}

/* Sends the packet in `buf` (payload already at HDR); in test mode waits until the device has
 * taken it. */
static void tx_send(struct conn *c, uint8_t *buf, uint16_t op, uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr *h = (struct virtio_vsock_hdr *)buf;
	struct vq_buf b = {virt_to_phys(buf), HDR + len, false};

	*h = (struct virtio_vsock_hdr){
	    .src_cid = cid,
	    .dst_cid = HOST_CID,
	    .src_port = c->lport,
	    .dst_port = c->pport,
	    .len = len,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = op,
	    .flags = flags,
	    .buf_alloc = c->buf_alloc,
	    .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_sent = c->fwd_cnt;
	for (int i = 0; i < NTX; i++)
		if (txbufs[i] == buf)
			tx_busy[i] = true;
	TEST_ASSERT_EQ(vq_add(&txq, &b, 1, buf, 0), 0);
	vq_kick(&txq);
	uint64_t end = now_ms() + TIMEOUT_MS;
	while (!tx_async && tx_reclaim())
		TEST_ASSERT_MSG(now_ms() < end, "tx buffer never returned");
}

static void tx_packet(struct conn *c, uint16_t op, uint32_t flags, uint32_t len)
{
	tx_send(c, tx_get(), op, flags, len);
}

/* `len` pattern bytes from stream offset c->tx_cnt. */
static void tx_data(struct conn *c, uint8_t seed, uint32_t len)
{
	uint8_t *buf = tx_get();
	for (uint32_t i = 0; i < len; i++)
		buf[HDR + i] = pattern(seed, c->tx_cnt + i);
	tx_send(c, buf, VIRTIO_VSOCK_OP_RW, 0, len);
	c->tx_cnt += len;
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;
	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

static struct conn *conn_find(uint32_t lport, uint32_t pport)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].lport == lport && conns[i].pport == pport)
			return &conns[i];
	return NULL;
}

static struct conn *conn_new(uint32_t lport, uint32_t pport, uint8_t seed)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		if (!conns[i].used) {
			conns[i] = (struct conn){.used = true,
						 .lport = lport,
						 .pport = pport,
						 .seed = seed,
						 .consume = true,
						 .buf_alloc = BUF_ALLOC};
			return &conns[i];
		}
	}
	TEST_ASSERT_MSG(false, "out of connection slots");
	return NULL;
}

static void rx_post(void *buf)
{
	struct vq_buf b = {virt_to_phys(buf), HDR + rx_payload, true};
	TEST_ASSERT_EQ(vq_add(&rxq, &b, 1, buf, 0), 0);
}

static void rx_data(struct conn *c, const uint8_t *p, uint32_t len)
{
	/* 5.10.6.3: the device may not send more than our free space */
	TEST_ASSERT_MSG(c->rx_cnt - c->fwd_cnt + len <= c->buf_alloc,
			"device sent past our credit: %u in flight + %u > %u",
			c->rx_cnt - c->fwd_cnt, len, c->buf_alloc);
	for (uint32_t i = 0; i < len && !c->nocheck; i++)
		TEST_ASSERT_MSG(p[i] == pattern(c->seed, c->rx_cnt + i),
				"port %u byte %u: 0x%x, expected 0x%x", c->lport, c->rx_cnt + i,
				p[i], pattern(c->seed, c->rx_cnt + i));
	c->rx_cnt += len;
	if (c->consume) {
		c->fwd_cnt = c->rx_cnt;
		if (c->fwd_cnt - c->fwd_sent >= c->buf_alloc / 4)
			tx_packet(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
	}
}

static void rx_packet(const struct virtio_vsock_hdr *h, const uint8_t *payload, uint32_t len)
{
	TEST_ASSERT_EQ(h->src_cid, HOST_CID);
	TEST_ASSERT_EQ(h->dst_cid, cid);
	TEST_ASSERT_EQ(h->type, VIRTIO_VSOCK_TYPE_STREAM);
	TEST_ASSERT_EQ(h->len, len);
	struct conn *c = conn_find(h->dst_port, h->src_port);
	if (!c && h->op == VIRTIO_VSOCK_OP_REQUEST && h->dst_port == 5000) {
		c = conn_new(5000, h->src_port, 50);
		c->open = c->listen_made = true;
		c->peer_buf_alloc = h->buf_alloc;
		c->peer_fwd_cnt = h->fwd_cnt;
		tx_packet(c, VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
		return;
	}
	if (!c)
		return; /* e.g. the RST after our own RST */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		c->open = true;
		break;
	case VIRTIO_VSOCK_OP_RST:
		c->reset = true;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->peer_shut = true;
		break;
	case VIRTIO_VSOCK_OP_RW:
		rx_data(c, payload, len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->credit_reqs++;
		tx_packet(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	default:
		TEST_ASSERT_MSG(false, "device sent op %u", h->op);
	}
}

/* Takes every packet the device sent, reposting the buffers. Returns how many. */
static unsigned rx_poll(void)
{
	unsigned n = 0;
	uint32_t len;
	uint8_t *buf;

	while ((buf = vq_get_used(&rxq, &len)) != NULL) {
		TEST_ASSERT_MSG(len >= HDR, "rx packet of %u bytes", len);
		rx_packet((const struct virtio_vsock_hdr *)buf, buf + HDR, len - HDR);
		rx_post(buf);
		n++;
	}
	if (n)
		vq_kick(&rxq);
	return n;
}

/* Polls until cond(c) holds; fails after TIMEOUT_MS. */
static void wait_for(bool (*cond)(struct conn *), struct conn *c, const char *what)
{
	uint64_t end = now_ms() + TIMEOUT_MS;
	while (!cond(c)) {
		TEST_ASSERT_MSG(now_ms() < end, "timeout waiting for %s", what);
		if (!rx_poll())
			cpu_relax();
	}
}

static bool is_open(struct conn *c)
{
	TEST_ASSERT_MSG(!c->reset, "port %u reset by the device", c->lport);
	return c->open;
}

static bool is_reset(struct conn *c)
{
	return c->reset;
}

static struct conn *connect(uint32_t port, uint8_t seed, uint32_t buf_alloc)
{
	struct conn *c = conn_new(next_port++, port, seed);
	c->buf_alloc = buf_alloc; /* announced with the REQUEST already */
	tx_packet(c, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	return c;
}

/* Full shutdown; the device answers with RST (5.10.6.4). */
static void close_conn(struct conn *c)
{
	tx_packet(c, VIRTIO_VSOCK_OP_SHUTDOWN,
		  VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, 0);
	wait_for(is_reset, c, "the RST after SHUTDOWN");
	c->used = false;
}

/* Sends `total` pattern bytes within the device's credit while taking what comes back. */
static void send_all(struct conn *c, uint32_t total, uint32_t expect_back)
{
	uint64_t end = now_ms() + 4 * TIMEOUT_MS;
	while (c->tx_cnt < total || c->rx_cnt < expect_back) {
		TEST_ASSERT_MSG(now_ms() < end, "port %u stuck: sent %u of %u, got %u of %u",
				c->lport, c->tx_cnt, total, c->rx_cnt, expect_back);
		TEST_ASSERT_MSG(!c->reset, "port %u reset by the device", c->lport);
		uint32_t n = total - c->tx_cnt, cr = peer_credit(c);
		n = n > CHUNK ? CHUNK : n;
		n = n > cr ? cr : n;
		if (n)
			tx_data(c, c->seed, n);
		if (!rx_poll() && !n)
			cpu_relax();
	}
}

/* ---- phases ---- */

static void phase_echo(uint32_t total)
{
	struct conn *c = connect(1234, 34, BUF_ALLOC);
	wait_for(is_open, c, "RESPONSE from port 1234");
	send_all(c, total, total);
	close_conn(c);
	printf("echo: %u bytes both ways ok\n", total);
}

static bool got_any(struct conn *c)
{
	return c->rx_cnt > 0;
}

static bool got_all(struct conn *c)
{
	return c->rx_cnt >= c->tx_cnt; /* tx_cnt: the expected total here */
}

/* Guest -> host throughput: the sink answers one byte once it has every byte. */
static void bench_g2h(uint32_t total)
{
	uint64_t t0 = clock_ticks();
	struct conn *c = connect(1236, 0, conn_alloc);
	c->nocheck = true;
	wait_for(is_open, c, "RESPONSE from port 1236");
	uint64_t end = now_ms() + 4 * TIMEOUT_MS;
	while (c->tx_cnt < total) {
		TEST_ASSERT_MSG(now_ms() < end, "g2h stuck at %u of %u", c->tx_cnt, total);
		uint32_t n = total - c->tx_cnt, cr = peer_credit(c);
		n = n > BENCH_CHUNK ? BENCH_CHUNK : n;
		n = n > cr ? cr : n;
		if (n && tx_reclaim() == NTX)
			n = 0; /* every buffer in flight: look at rx meanwhile */
		if (n) {
			tx_send(c, tx_get(), VIRTIO_VSOCK_OP_RW, 0, n);
			c->tx_cnt += n;
		}
		if (!rx_poll() && !n)
			cpu_relax();
	}
	wait_for(got_any, c, "the sink's answer");
	uint64_t us = (clock_ticks() - t0) * 1000 / ticks_per_ms;
	close_conn(c);
	printf("BENCH vsock g2h bytes=%u us=%llu\n", total, (unsigned long long)us);
}

/* Host -> guest throughput: the source sends `total` bytes at once. Timed from the REQUEST on
 * (one rx_poll() may already take every byte while it waits for the RESPONSE). */
static void bench_h2g(uint32_t total)
{
	uint64_t t0 = clock_ticks();
	struct conn *c = connect(1237, 0, conn_alloc);
	c->nocheck = true;
	c->tx_cnt = total; /* only for got_all(); we send no data */
	wait_for(is_open, c, "RESPONSE from port 1237");
	wait_for(got_all, c, "every byte from the source");
	uint64_t us = (clock_ticks() - t0) * 1000 / ticks_per_ms;
	c->tx_cnt = 0;
	close_conn(c);
	printf("BENCH vsock h2g bytes=%u us=%llu\n", total, (unsigned long long)us);
}

/* Both directions, in ring 3. */
static uint64_t bench_user(void *arg)
{
	uint32_t total = (uint32_t)(uintptr_t)arg;
	bench_g2h(total);
	bench_h2g(total);
	return 0;
}

static void phase_many(unsigned n)
{
	struct conn *cs[MAX_CONNS];
	for (unsigned i = 0; i < n; i++)
		cs[i] = connect(1234, (uint8_t)(100 + i), BUF_ALLOC);
	for (unsigned i = 0; i < n; i++)
		wait_for(is_open, cs[i], "RESPONSE (many)");
	for (unsigned i = 0; i < n; i++)
		tx_data(cs[i], cs[i]->seed, 1024);
	for (unsigned i = 0; i < n; i++)
		send_all(cs[i], 1024, 1024);
	for (unsigned i = 0; i < n; i++)
		close_conn(cs[i]);
	printf("many: %u connections ok\n", n);
}

static bool credit_full(struct conn *c)
{
	return c->rx_cnt - c->fwd_cnt == c->buf_alloc || c->rx_cnt == c->tx_cnt;
}

/* The device fills our 4 KiB, stops, and carries on after each CREDIT_UPDATE. `tx_cnt` holds
 * the expected total here (nothing is sent on this connection). */
static void phase_credit(uint32_t total)
{
	struct conn *c = connect(1235, 35, 4096);
	unsigned stalls = 0;

	c->consume = false;
	c->tx_cnt = total; /* only for credit_full(); we send no data */
	wait_for(is_open, c, "RESPONSE from port 1235");
	while (c->rx_cnt < total) {
		wait_for(credit_full, c, "the device to fill our credit");
		if (c->rx_cnt == total)
			break;
		/* exhausted: nothing more may come until we give credit */
		uint64_t end = now_ms() + 50;
		while (now_ms() < end)
			rx_poll();
		stalls++;
		c->fwd_cnt = c->rx_cnt;
		tx_packet(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
	}
	c->tx_cnt = 0;
	c->fwd_cnt = c->rx_cnt;
	close_conn(c);
	printf("credit: %u stalls at 4096 bytes, recovered each time, %u bytes ok\n", stalls,
	       total);
}

static struct conn *host_conn;

static bool host_arrived(struct conn *c)
{
	(void)c;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].listen_made)
			host_conn = &conns[i];
	return host_conn != NULL;
}

static bool peer_done(struct conn *c)
{
	return c->peer_shut || c->reset;
}

static void phase_host(uint32_t total)
{
	wait_for(host_arrived, NULL, "the host's connection to port 5000");
	struct conn *c = host_conn;
	c->seed = 50;
	send_all(c, total, total); /* the pattern we check is the one we echo */
	wait_for(peer_done, c, "the host to close");
	if (!c->reset)
		close_conn(c);
	printf("host: %u bytes from the host checked and echoed\n", total);
}

/* ---- snapshot=1 ---- */

static void ev_post(struct virtio_vsock_event *e)
{
	struct vq_buf b = {virt_to_phys(e), sizeof(*e), true};
	e->id = 0xffffffffu;
	TEST_ASSERT_EQ(vq_add(&evq, &b, 1, e, 0), 0);
}

/* Takes the device's events (reposting the buffers): true when one was TRANSPORT_RESET. */
static bool transport_reset_seen(void)
{
	struct virtio_vsock_event *e;
	uint32_t len;
	bool seen = false;

	while ((e = vq_get_used(&evq, &len)) != NULL) {
		TEST_ASSERT_EQ(len, sizeof(*e));
		TEST_ASSERT_MSG(e->id == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, "event id %u", e->id);
		seen = true;
		ev_post(e);
	}
	if (seen)
		vq_kick(&evq);
	return seen;
}

static void phase_snapshot(void)
{
	struct conn *c = connect(1234, 60, BUF_ALLOC);
	wait_for(is_open, c, "RESPONSE from port 1234");
	send_all(c, 4096, 4096);
	printf("snapshot: port %u connected to host port 1234, 4096 bytes echoed\n", c->lport);
	printf("SNAP-READY\n");
	uint64_t end = now_ms() + SNAP_WAIT_MS;
	while (!transport_reset_seen()) {
		TEST_ASSERT_MSG(now_ms() < end, "no TRANSPORT_RESET came");
		if (!rx_poll())
			cpu_relax();
	}
	/* 5.10.6.7: every connection is gone; the CID is read again */
	struct conn old = *c;
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].used = false;
	TEST_ASSERT_EQ(vdev_config64(d, 0), cid);
	printf("snapshot: TRANSPORT_RESET received, connections dropped, CID still %llu\n",
	       (unsigned long long)cid);
	/* the device has no such connection any more: it answers RST */
	c = conn_new(old.lport, old.pport, old.seed);
	tx_packet(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0);
	wait_for(is_reset, c, "the RST for the connection of before the snapshot");
	c->used = false;
	printf("snapshot: the old connection is gone (RST)\n");
	c = connect(1234, 61, BUF_ALLOC);
	wait_for(is_open, c, "RESPONSE from port 1234 after the restore");
	send_all(c, 4096, 4096);
	close_conn(c);
	printf("snapshot: connected again after the restore, 4096 bytes echoed\n");
}

static void setup(void)
{
	static uint8_t *rxbufs[NRX];
	char ring[16] = "split";

	cmdline_get_str("ring", ring, sizeof(ring));
	d = vdev_find(VIRTIO_ID_VSOCK, 0);
	TEST_ASSERT_MSG(d, "no virtio-vsock device (transport %s)", vdev_transport_name());
	vdev_print(d, "vsock");
	TEST_ASSERT_EQ(vdev_negotiate(d, 1ULL << VIRTIO_RING_F_EVENT_IDX,
				      !strcmp(ring, "packed") ? 1ULL << VIRTIO_F_RING_PACKED : 0),
		       0);
	TEST_ASSERT_EQ(vq_setup(&rxq, d, 0, 0), 0);
	TEST_ASSERT_EQ(vq_setup(&txq, d, 1, 0), 0);
	TEST_ASSERT_EQ(vq_setup(&evq, d, 2, 0), 0);
	cid = vdev_config64(d, 0);
	for (int i = 0; i < NTX; i++) {
		txbufs[i] = virtio_alloc(HDR + BENCH_CHUNK, 64);
		TEST_ASSERT(txbufs[i]);
	}
	for (int i = 0; i < NRX; i++) {
		rxbufs[i] = virtio_alloc(HDR + rx_payload, 64);
		TEST_ASSERT(rxbufs[i]);
		rx_post(rxbufs[i]);
	}
	evbufs = virtio_alloc(NEV * sizeof(*evbufs), 64);
	TEST_ASSERT(evbufs);
	for (int i = 0; i < NEV; i++)
		ev_post(&evbufs[i]);
	vdev_driver_ok(d);
	vq_kick(&rxq);
	vq_kick(&evq);
	printf("virtio-vsock at 0x%llx: guest CID %llu, %s ring, %u-byte rx buffers\n",
	       (unsigned long long)d->base, (unsigned long long)cid,
	       rxq.packed ? "packed" : "split", rx_payload);
}

int guest_main(void)
{
	uint64_t echo = 65536, credit = 32768, host = 65536, nconns = 16, bench = 0, rxbuf = 0;
	uint64_t snapshot = 0;

	ticks_per_ms = clock_ticks_per_us() * 1000;
	cmdline_get_u64("echo", &echo);
	cmdline_get_u64("credit", &credit);
	cmdline_get_u64("host", &host);
	cmdline_get_u64("conns", &nconns);
	cmdline_get_u64("bench", &bench);
	cmdline_get_u64("rxbuf", &rxbuf);
	cmdline_get_u64("snapshot", &snapshot);
	TEST_ASSERT(nconns <= MAX_CONNS);
	rx_payload = rxbuf ? (uint32_t)rxbuf : bench ? RX_MAX : RX_PAYLOAD;
	TEST_ASSERT_MSG(rx_payload >= 64 && rx_payload <= RX_MAX, "rxbuf=%u: 64 to %u", rx_payload,
			RX_MAX);
	setup();
	if (bench) {
		tx_async = true;
		conn_alloc = BENCH_ALLOC;
		vq_disable_interrupts(&rxq); /* we poll: spare the device its interrupts */
		vq_disable_interrupts(&txq);
		TEST_ASSERT_EQ(run_user(bench_user, (void *)(uintptr_t)bench), 0);
		return 0;
	}
	if (snapshot) {
		phase_snapshot();
		return 0;
	}
	phase_echo((uint32_t)echo);
	phase_many((unsigned)nconns);
	phase_credit((uint32_t)credit);
	phase_host((uint32_t)host);
	return 0;
}
