/* virtio-vsock (virtio 1.2 section 5.10) driven by a mock driver on its three queues, with real
 * Unix sockets in a temporary directory as the host side: connections both ways (REQUEST /
 * RESPONSE, the CONNECT / OK handshake), data both ways, credit (the guest's buf_alloc caps what
 * it gets; a guest past our credit is reset), shutdown, RSTs for unknown connections, bad CIDs,
 * ops and lengths, TRANSPORT_RESET after a restore, and the option parser. */
/* Before linux/vm_sockets.h, which uses struct sockaddr without including it (with the kernel
 * headers of Debian's arm64 cross toolchain, nothing else brings it in before). */
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/vsock/vsock.h"
#include "virtio/vsock/vsock_test.h"

#define CID	42
#define HDR	sizeof(struct virtio_vsock_hdr)
#define RXBUF	(HDR + 4096)
#define NRX	32
#define QSIZE	64
#define RX_HEAP (MOCK_RAM_GPA + 0x40000)
#define TX_HEAP (MOCK_RAM_GPA + 0x100000)
#define EV_HEAP (MOCK_RAM_GPA + 0x380000)
#define RAM_END (MOCK_RAM_GPA + MOCK_RAM_SIZE)

static struct mock_ram ram;
static struct mock_vq q[3]; /* rx, tx, event */
static struct virtio_dev *dev;
static char dir[32], uds[64];
static uint64_t rx_addr[QSIZE]; /* by head descriptor */
static uint64_t rx_pool[NRX];
static unsigned rx_next;
static uint64_t tx_buf;

static void setup_queue(int i, uint64_t ring, uint64_t heap, uint64_t heap_end)
{
	cr_assert_eq(mock_vq_init(&q[i], &ram, QSIZE, false, ring), 0);
	q[i].heap = heap;
	q[i].heap_end = heap_end;
	dev->vqs[i].num = q[i].size;
	dev->vqs[i].desc_addr = q[i].desc;
	dev->vqs[i].driver_addr = q[i].driver;
	dev->vqs[i].device_addr = q[i].device;
	virtio_dev_set_queue_ready(dev, (uint16_t)i, true);
}

static void create(void)
{
	struct virtio_vsock_opts o = {.cid = CID};

	snprintf(dir, sizeof(dir), "/tmp/vsock-test-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(o.uds, sizeof(o.uds), "%s", uds);
	cr_assert_eq(virtio_vsock_create(&dev, &o), 0);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
	uint64_t f = 1ull << VIRTIO_F_VERSION_1;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(dev, 1, (uint32_t)(f >> 32));
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(0, MOCK_RAM_GPA, RX_HEAP, TX_HEAP);
	setup_queue(1, MOCK_RAM_GPA + 0x10000, TX_HEAP, EV_HEAP);
	setup_queue(2, MOCK_RAM_GPA + 0x20000, EV_HEAP, RAM_END);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
	for (unsigned i = 0; i < NRX; i++)
		rx_pool[i] = mock_alloc(&q[0], RXBUF);
	rx_next = 0;
	tx_buf = mock_alloc(&q[1], HDR + 65536 + 4096);
}

static void teardown(void)
{
	char path[160];
	if (dev) {
		virtio_dev_destroy(dev);
		free(dev);
		dev = NULL;
	}
	for (int i = 0; i < 3; i++)
		mock_vq_free(&q[i]);
	mock_ram_free(&ram);
	unlink(uds);
	for (unsigned p = 1000; p < 1010; p++) {
		snprintf(path, sizeof(path), "%s_%u", uds, p);
		unlink(path);
	}
	rmdir(dir);
}

TestSuite(virtio_vsock, .init = create, .fini = teardown);

static void serve_queue(uint16_t qi)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, qi);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* What the I/O thread does when a host socket is ready. */
static void poll_host(void)
{
	struct pollfd p = {.fd = virtio_vsock_epoll_fd(dev), .events = POLLIN};
	poll(&p, 1, 200);
	pthread_mutex_lock(&dev->lock);
	virtio_vsock_poll(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* Offers n rx buffers (cycling through the pool). */
static void give_rx(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = rx_pool[rx_next++ % NRX];
		struct mock_buf b = {a, RXBUF, true};
		int head = mock_split_add(&q[0], &b, 1);
		cr_assert_geq(head, 0);
		rx_addr[head] = a;
	}
	serve_queue(0);
}

/* The next packet the device sent; false when none. */
static bool rx_get(struct virtio_vsock_hdr *h, void *data, uint32_t *dlen)
{
	uint32_t id, len;
	if (!mock_split_get_used(&q[0], &id, &len))
		return false;
	cr_assert_geq(len, HDR);
	const uint8_t *p = mock_ram_host(&ram, rx_addr[id]);
	memcpy(h, p, HDR);
	cr_assert_eq(le32toh(h->len), len - HDR, "used len matches the header");
	if (data)
		memcpy(data, p + HDR, len - HDR);
	if (dlen)
		*dlen = len - HDR;
	return true;
}

static struct virtio_vsock_hdr pkt(uint32_t src, uint32_t dst, uint16_t op, uint32_t len)
{
	return (struct virtio_vsock_hdr){
	    .src_cid = htole64(CID),
	    .dst_cid = htole64(VMADDR_CID_HOST),
	    .src_port = htole32(src),
	    .dst_port = htole32(dst),
	    .len = htole32(len),
	    .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
	    .op = htole16(op),
	    .buf_alloc = htole32(65536),
	};
}

/* Sends a packet (header + len bytes of data) on tx and serves it; the chain comes back. */
static void tx_send_raw(const struct virtio_vsock_hdr *h, const void *data, uint32_t len)
{
	uint8_t *p = mock_ram_host(&ram, tx_buf);
	uint32_t id, ulen;
	memcpy(p, h, HDR);
	if (len)
		memcpy(p + HDR, data, len);
	struct mock_buf b = {tx_buf, (uint32_t)HDR + len, false};
	cr_assert_geq(mock_split_add(&q[1], &b, 1), 0);
	serve_queue(1);
	cr_assert_eq(mock_split_get_used(&q[1], &id, &ulen), 1, "tx chain returned");
	cr_assert_eq(ulen, 0);
}

static void tx_send(uint32_t src, uint32_t dst, uint16_t op, const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = pkt(src, dst, op, len);
	tx_send_raw(&h, data, len);
}

static void expect_pkt(uint16_t op, uint32_t src, uint32_t dst)
{
	struct virtio_vsock_hdr h;
	cr_assert(rx_get(&h, NULL, NULL), "a packet (op %u) was sent", op);
	cr_expect_eq(le16toh(h.op), op);
	cr_expect_eq(le64toh(h.src_cid), VMADDR_CID_HOST);
	cr_expect_eq(le64toh(h.dst_cid), CID);
	cr_expect_eq(le32toh(h.src_port), src);
	cr_expect_eq(le32toh(h.dst_port), dst);
	cr_expect_eq(le16toh(h.type), VIRTIO_VSOCK_TYPE_STREAM);
	cr_expect_eq(le32toh(h.buf_alloc), VIRTIO_VSOCK_BUF_ALLOC);
}

static int host_listen(unsigned port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds, port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	return fd;
}

/* A listening Unix socket at `path`. */
static int host_listen_path(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static int host_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Guest port 5000 connects to host port 1000; returns the host's accepted socket. */
static int guest_connects(int *lfd)
{
	*lfd = host_listen(1000);
	give_rx(8);
	tx_send(5000, 1000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RESPONSE, 1000, 5000);
	int fd = accept(*lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(virtio_vsock_conn_count(dev), 1);
	return fd;
}

Test(virtio_vsock, description)
{
	uint64_t cid;
	cr_expect_eq(dev->device_id, VIRTIO_ID_VSOCK);
	cr_expect_eq(dev->num_queues, 3);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, 0, &cid, 8);
	pthread_mutex_unlock(&dev->lock);
	cr_expect_eq(le64toh(cid), CID);
}

Test(virtio_vsock, guest_connects_data_both_ways_and_closes)
{
	int lfd, fd = guest_connects(&lfd);
	char buf[64] = {0};
	struct virtio_vsock_hdr h;
	uint32_t len;

	tx_send(5000, 1000, VIRTIO_VSOCK_OP_RW, "hello", 5);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 5);
	cr_expect_str_eq(buf, "hello");

	cr_assert_eq(write(fd, "world!", 6), 6);
	poll_host();
	cr_assert(rx_get(&h, buf, &len));
	cr_expect_eq(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	cr_expect_eq(len, 6);
	cr_expect_eq(memcmp(buf, "world!", 6), 0);
	cr_expect_eq(le32toh(h.fwd_cnt), 5, "our fwd_cnt counts what reached the socket");

	/* 5.10.6.4: a full shutdown from the guest is answered with RST, the socket closes */
	struct virtio_vsock_hdr s = pkt(5000, 1000, VIRTIO_VSOCK_OP_SHUTDOWN, 0);
	s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx_send_raw(&s, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1000, 5000);
	cr_expect_eq(read(fd, buf, sizeof(buf)), 0, "host sees EOF");
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	close(fd);
	close(lfd);
}

Test(virtio_vsock, host_eof_is_shutdown_send)
{
	int lfd, fd = guest_connects(&lfd);
	struct virtio_vsock_hdr h;
	char buf[8];

	shutdown(fd, SHUT_WR);
	poll_host();
	cr_assert(rx_get(&h, NULL, NULL), "the host's EOF reached the guest");
	cr_expect_eq(le16toh(h.op), VIRTIO_VSOCK_OP_SHUTDOWN);
	cr_expect_eq(le32toh(h.src_port), 1000);
	cr_expect_eq(le32toh(h.dst_port), 5000);
	cr_expect_eq(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND,
		     "the host sends no more but still receives");
	/* the guest may still send: half-closed */
	tx_send(5000, 1000, VIRTIO_VSOCK_OP_RW, "late", 4);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	close(lfd);
}

Test(virtio_vsock, guest_connect_refused_gets_rst)
{
	give_rx(2);
	tx_send(5000, 1001, VIRTIO_VSOCK_OP_REQUEST, NULL, 0); /* nobody listens on PATH_1001 */
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1001, 5000);
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
}

Test(virtio_vsock, host_connects)
{
	int fd = host_connect();
	struct virtio_vsock_hdr h;
	char buf[64] = {0};
	uint32_t len;

	give_rx(8);
	cr_assert_eq(write(fd, "CONNECT 7000\nearly", 18), 18);
	poll_host();
	poll_host();
	cr_assert(rx_get(&h, NULL, NULL));
	cr_assert_eq(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(le32toh(h.dst_port), 7000);
	uint32_t hp = le32toh(h.src_port);
	cr_assert(!rx_get(&h, NULL, NULL), "no data before the guest accepts");

	tx_send(7000, hp, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	char want[32];
	int wl = snprintf(want, sizeof(want), "OK %u\n", hp);
	cr_assert_eq(read(fd, buf, (size_t)wl), wl);
	cr_expect_eq(memcmp(buf, want, (size_t)wl), 0);
	/* bytes the host sent right after its CONNECT line are the stream's first */
	cr_assert(rx_get(&h, buf, &len));
	cr_expect_eq(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	cr_expect_eq(len, 5);
	cr_expect_eq(memcmp(buf, "early", 5), 0);

	tx_send(7000, hp, VIRTIO_VSOCK_OP_RW, "pong", 4);
	cr_assert_eq(read(fd, buf, 4), 4);
	cr_expect_eq(memcmp(buf, "pong", 4), 0);

	/* the guest resets: the host socket closes */
	tx_send(7000, hp, VIRTIO_VSOCK_OP_RST, NULL, 0);
	cr_expect_eq(read(fd, buf, sizeof(buf)), 0);
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	close(fd);
}

Test(virtio_vsock, host_bad_handshake_closed)
{
	int fd = host_connect();
	char buf[8];

	cr_assert_eq(write(fd, "HELLO\n", 6), 6);
	poll_host();
	poll_host();
	cr_expect_eq(read(fd, buf, sizeof(buf)), 0);
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	close(fd);
}

/* A host connection that never sends its CONNECT line is closed after the handshake timeout;
 * one that sends it in time is not. */
Test(virtio_vsock, host_silent_handshake_times_out)
{
	char buf[8];
	virtio_vsock_set_handshake_timeout(dev, 100);
	int silent = host_connect();
	poll_host(); /* accepted: a pending handshake */
	cr_assert_eq(virtio_vsock_conn_count(dev), 1);
	for (int i = 0; i < 20 && virtio_vsock_conn_count(dev); i++)
		poll_host(); /* the timer fires within the 200 ms each poll may wait */
	cr_assert_eq(virtio_vsock_conn_count(dev), 0, "closed after 100 ms");
	cr_expect_eq(read(silent, buf, sizeof(buf)), 0, "the host sees EOF");
	close(silent);

	/* a later one that speaks in time goes on to the guest (REQUEST owed) */
	int fd = host_connect();
	poll_host();
	cr_assert_eq(write(fd, "CONNECT 9\n", 10), 10);
	poll_host();
	usleep(150 * 1000);
	poll_host();
	cr_expect_eq(virtio_vsock_conn_count(dev), 1, "past its handshake: no timeout");
	close(fd);
}

/* PATH goes with the device, unless another socket was bound there since. */
Test(virtio_vsock, the_socket_file_is_removed_at_destroy)
{
	cr_assert_eq(access(uds, F_OK), 0);
	virtio_dev_destroy(dev);
	free(dev);
	dev = NULL;
	cr_expect_neq(access(uds, F_OK), 0, "removed");

	struct virtio_vsock_opts o = {.cid = CID};
	struct virtio_dev *d2;
	snprintf(o.uds, sizeof(o.uds), "%s", uds);
	cr_assert_eq(virtio_vsock_create(&d2, &o), 0);
	/* another process replaces it (a restored clone with the same path) */
	cr_assert_eq(unlink(uds), 0);
	int other = host_listen_path(uds);
	virtio_dev_destroy(d2);
	free(d2);
	cr_expect_eq(access(uds, F_OK), 0, "not ours any more: left alone");
	close(other);
}

Test(virtio_vsock, host_guest_refuses)
{
	int fd = host_connect();
	struct virtio_vsock_hdr h;
	char buf[8];

	give_rx(2);
	cr_assert_eq(write(fd, "CONNECT 9\n", 10), 10);
	poll_host();
	poll_host();
	cr_assert(rx_get(&h, NULL, NULL));
	tx_send(9, le32toh(h.src_port), VIRTIO_VSOCK_OP_RST, NULL, 0);
	cr_expect_eq(read(fd, buf, sizeof(buf)), 0, "no OK: closed");
	close(fd);
}

Test(virtio_vsock, unknown_connection_gets_rst)
{
	give_rx(4);
	tx_send(5000, 1002, VIRTIO_VSOCK_OP_RW, "x", 1);
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1002, 5000);
	tx_send(5000, 1002, VIRTIO_VSOCK_OP_CREDIT_UPDATE, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1002, 5000);
	tx_send(5000, 1002, VIRTIO_VSOCK_OP_RST, NULL, 0); /* never answered */
	tx_send(5000, 1002, 99, NULL, 0);		   /* unknown op */
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1002, 5000);
	cr_expect(!rx_get(&(struct virtio_vsock_hdr){0}, NULL, NULL));
}

Test(virtio_vsock, wrong_cids_and_types)
{
	struct virtio_vsock_hdr h = pkt(5000, 1000, VIRTIO_VSOCK_OP_REQUEST, 0);
	int lfd = host_listen(1000);

	give_rx(4);
	h.src_cid = htole64(CID + 1);
	tx_send_raw(&h, NULL, 0);
	h.src_cid = htole64(CID);
	h.dst_cid = htole64(7);
	tx_send_raw(&h, NULL, 0);
	cr_expect(!rx_get(&(struct virtio_vsock_hdr){0}, NULL, NULL), "dropped without answer");
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	h.dst_cid = htole64(VMADDR_CID_HOST);
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	tx_send_raw(&h, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1000, 5000);
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	struct virtio_dev_counters_snapshot s;
	virtio_dev_counters_read(dev, &s);
	cr_expect_eq(s.errors, 3);
	close(lfd);
}

Test(virtio_vsock, bad_lengths_reset_the_connection)
{
	int lfd, fd = guest_connects(&lfd);
	struct virtio_vsock_hdr h = pkt(5000, 1000, VIRTIO_VSOCK_OP_RW, 100);
	char buf[8];

	tx_send_raw(&h, "abc", 3); /* says 100, carries 3 */
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1000, 5000);
	cr_expect_eq(read(fd, buf, sizeof(buf)), 0);
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	close(fd);
	/* a header cut short: the chain is returned, nothing else happens */
	struct mock_buf b = {tx_buf, 10, false};
	uint32_t id, len;
	cr_assert_geq(mock_split_add(&q[1], &b, 1), 0);
	serve_queue(1);
	cr_expect_eq(mock_split_get_used(&q[1], &id, &len), 1);
	cr_expect(virtio_dev_running(dev));
	close(lfd);
}

Test(virtio_vsock, rx_buffer_smaller_than_header_fails_device)
{
	give_rx(0);
	tx_send(5000, 1003, VIRTIO_VSOCK_OP_RW, NULL, 0); /* RST owed */
	struct mock_buf b = {rx_pool[0], 10, true};
	cr_assert_geq(mock_split_add(&q[0], &b, 1), 0);
	serve_queue(0);
	cr_expect(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

Test(virtio_vsock, credit_limits_what_the_guest_gets)
{
	int lfd, fd = guest_connects(&lfd);
	struct virtio_vsock_hdr h = pkt(5000, 1000, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	static char data[3000];
	char buf[4096];
	uint32_t len, got = 0;

	h.buf_alloc = htole32(1000); /* the guest has 1000 bytes of room */
	tx_send_raw(&h, NULL, 0);
	memset(data, 'z', sizeof(data));
	cr_assert_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	give_rx(8);
	poll_host();
	while (rx_get(&h, buf, &len)) {
		if (le16toh(h.op) == VIRTIO_VSOCK_OP_RW)
			got += len;
		else
			cr_expect_eq(le16toh(h.op), VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	}
	cr_expect_eq(got, 1000, "exactly the credit");
	/* the guest consumed 1000 bytes: 1000 more */
	h = pkt(5000, 1000, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	h.buf_alloc = htole32(1000);
	h.fwd_cnt = htole32(1000);
	tx_send_raw(&h, NULL, 0);
	got = 0;
	while (rx_get(&h, buf, &len))
		if (le16toh(h.op) == VIRTIO_VSOCK_OP_RW)
			got += len;
	cr_expect_eq(got, 1000);
	/* and a credit request is answered with our counters */
	tx_send(5000, 1000, VIRTIO_VSOCK_OP_CREDIT_REQUEST, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1000, 5000);
	close(fd);
	close(lfd);
}

Test(virtio_vsock, guest_past_credit_is_reset_and_memory_bounded)
{
	int lfd, fd = guest_connects(&lfd);
	static uint8_t chunk[65536];
	struct virtio_vsock_hdr h;
	bool reset = false;

	/* the host never reads: the socket fills, then the device's buffer, then the guest goes
	 * past the 256 KiB we advertised */
	for (int i = 0; i < 64 && !reset; i++) {
		tx_send(5000, 1000, VIRTIO_VSOCK_OP_RW, chunk, sizeof(chunk));
		while (rx_get(&h, NULL, NULL))
			if (le16toh(h.op) == VIRTIO_VSOCK_OP_RST)
				reset = true;
		give_rx(1);
	}
	cr_expect(reset, "the connection was reset");
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	close(fd);
	close(lfd);
}

Test(virtio_vsock, buffered_data_reaches_the_host_when_it_reads)
{
	int lfd, fd = guest_connects(&lfd);
	static uint8_t chunk[65536], in[65536];
	struct virtio_vsock_hdr h;
	uint32_t sent = 0, fwd = 0;
	uint64_t total = 0;

	for (unsigned i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 7);
	/* within credit: 3 packets (192 KiB <= 256 KiB) even if the socket takes less */
	for (int i = 0; i < 3; i++) {
		tx_send(5000, 1000, VIRTIO_VSOCK_OP_RW, chunk, sizeof(chunk));
		sent += sizeof(chunk);
	}
	give_rx(8);
	while (total < sent) {
		ssize_t n = read(fd, in, sizeof(in));
		cr_assert_gt(n, 0);
		for (ssize_t i = 0; i < n; i++)
			cr_assert_eq(in[i], (uint8_t)((total + (uint64_t)i) % 65536 * 7));
		total += (uint64_t)n;
		poll_host();
	}
	while (rx_get(&h, NULL, NULL))
		fwd = le32toh(h.fwd_cnt);
	cr_expect_eq(total, sent);
	cr_expect_eq(virtio_vsock_conn_count(dev), 1, "no reset");
	(void)fwd;
	close(fd);
	close(lfd);
}

Test(virtio_vsock, many_connections)
{
	int lfd = host_listen(1000), fds[50];
	give_rx(NRX);
	for (int i = 0; i < 50; i++) {
		if (i % 16 == 0)
			give_rx(NRX / 2);
		tx_send(6000 + (uint32_t)i, 1000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
		fds[i] = accept(lfd, NULL, NULL);
		cr_assert_geq(fds[i], 0);
	}
	cr_expect_eq(virtio_vsock_conn_count(dev), 50);
	/* a device reset drops them all */
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_expect_eq(virtio_vsock_conn_count(dev), 0);
	char c;
	for (int i = 0; i < 50; i++) {
		cr_expect_eq(read(fds[i], &c, 1), 0);
		close(fds[i]);
	}
	close(lfd);
}

Test(virtio_vsock, transport_reset_after_restore)
{
	uint8_t st[64];
	size_t len;
	uint32_t id, ulen;

	pthread_mutex_lock(&dev->lock);
	cr_assert_eq(dev->ops->save(dev, st, sizeof(st), &len), 0);
	cr_assert_eq(dev->ops->restore(dev, st, len), 0);
	uint64_t other = CID + 1;
	cr_expect_eq(dev->ops->restore(dev, &other, sizeof(other)), -EINVAL);
	pthread_mutex_unlock(&dev->lock);
	uint64_t a = mock_alloc(&q[2], 4);
	struct mock_buf b = {a, 4, true};
	cr_assert_geq(mock_split_add(&q[2], &b, 1), 0);
	serve_queue(2);
	cr_assert_eq(mock_split_get_used(&q[2], &id, &ulen), 1);
	cr_expect_eq(ulen, 4);
	cr_expect_eq(*(uint32_t *)mock_ram_host(&ram, a),
		     htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET));
}

/* A running device made a new generation (a clone or fork: vm_snapshot_new_generation()): its
 * host connections close (the host program reads EOF), the guest gets TRANSPORT_RESET once an
 * event buffer is there, and a packet on the old connection is answered with RST; with no
 * connection, or a reset still owed, nothing more is sent. A new connection works afterwards. */
Test(virtio_vsock, transport_reset_of_a_running_device)
{
	int lfd, fd = guest_connects(&lfd);
	uint32_t id, ulen;
	char c;

	cr_assert_eq(virtio_vsock_conn_count(dev), 1);
	cr_assert(virtio_vsock_transport_reset(dev), "a connection to end: a reset owed");
	cr_expect_eq(virtio_vsock_conn_count(dev), 0, "no stale connection");
	cr_expect_eq(read(fd, &c, 1), 0, "the host's socket closed: EOF");
	cr_expect_not(virtio_vsock_transport_reset(dev), "still owed: not twice");

	uint64_t a = mock_alloc(&q[2], 4);
	struct mock_buf b = {a, 4, true};
	cr_assert_geq(mock_split_add(&q[2], &b, 1), 0);
	serve_queue(2);
	cr_assert_eq(mock_split_get_used(&q[2], &id, &ulen), 1, "the event buffer used");
	cr_expect_eq(*(uint32_t *)mock_ram_host(&ram, a),
		     htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET));
	cr_expect_not(virtio_vsock_transport_reset(dev), "nothing to end: no second reset");
	cr_assert_eq(mock_split_get_used(&q[2], &id, &ulen), 0);

	tx_send(5000, 1000, VIRTIO_VSOCK_OP_RW, "late", 4);
	expect_pkt(VIRTIO_VSOCK_OP_RST, 1000, 5000);
	close(fd);

	give_rx(2);
	tx_send(5001, 1000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RESPONSE, 1000, 5001);
	int fd2 = accept(lfd, NULL, NULL);
	cr_assert_geq(fd2, 0, "a new connection after the reset");
	cr_expect_eq(virtio_vsock_conn_count(dev), 1);
	close(fd2);
	close(lfd);
}

Test(virtio_vsock_opts, parser)
{
	struct virtio_vsock_opts o;
	char err[160];

	cr_assert_eq(virtio_vsock_opts_parse("cid=3,uds=/tmp/x", &o, err, sizeof(err)), 0);
	cr_expect_eq(o.cid, 3);
	cr_expect_str_eq(o.uds, "/tmp/x");
	cr_expect_str_eq(o.id, "");
	cr_assert_eq(virtio_vsock_opts_parse("uds=/a,cid=4294967294", &o, err, sizeof(err)), 0);
	cr_assert_eq(virtio_vsock_opts_parse("cid=3,uds=/a,id=vs0", &o, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_str_eq(o.id, "vs0");
	cr_assert_eq(virtio_vsock_opts_parse("cid=3,uds=/a,,b,id=v,,s", &o, err, sizeof(err)),
		     -EINVAL, "an id has no comma");
	cr_assert_eq(virtio_vsock_opts_parse("cid=3,uds=/a,,b,,", &o, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_str_eq(o.uds, "/a,b,", "\",,\" is a comma in the path");
	const char *bad[] = {"",
			     "cid=3,uds=/a,id=",
			     "cid=3,uds=/a,id=x/y",
			     "cid=3,uds=/a,id=x,id=y",
			     "cid=2,uds=/a",
			     "cid=3",
			     "uds=/a",
			     "cid=x,uds=/a",
			     "cid=3,uds=",
			     "cid=3,uds=/a,cid=4",
			     "cid=3,uds=/a,foo=1",
			     "cid=4294967295,uds=/a",
			     "cid=3,,uds=/a", /* the cid "3,uds=/a" */
			     "cid=3,uds=/a,,,",
			     "cid=-3,uds=/a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(virtio_vsock_opts_parse(bad[i], &o, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
	char longp[200] = "cid=3,uds=/";
	memset(longp + 11, 'a', 120);
	cr_expect_eq(virtio_vsock_opts_parse(longp, &o, err, sizeof(err)), -EINVAL);
}

/* The socket's path is checked before the VM exists: its directory, and an existing non-socket
 * (which create would refuse) is reported; nothing is created. */
Test(virtio_vsock_opts, check_before_create)
{
	struct virtio_vsock_opts o = {.cid = 3};
	char err[300], dir[] = "/tmp/vsock-check-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	snprintf(o.uds, sizeof(o.uds), "%s/v.sock", dir);
	cr_expect_eq(virtio_vsock_check_opts(&o, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(access(o.uds, F_OK), 0, "the check created nothing");
	snprintf(o.uds, sizeof(o.uds), "%s/nodir/v.sock", dir);
	cr_expect_eq(virtio_vsock_check_opts(&o, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "nodir/v.sock") != NULL, "%s", err);
	snprintf(o.uds, sizeof(o.uds), "%s/file", dir);
	FILE *f = fopen(o.uds, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_expect_eq(virtio_vsock_check_opts(&o, err, sizeof(err)), -EEXIST);
	cr_expect(strstr(err, "not a socket") != NULL, "%s", err);
	snprintf(o.uds, sizeof(o.uds), "%s/file/v.sock", dir);
	cr_expect_eq(virtio_vsock_check_opts(&o, err, sizeof(err)), -ENOTDIR);
	snprintf(o.uds, sizeof(o.uds), "relative.sock");
	cr_expect_eq(virtio_vsock_check_opts(&o, err, sizeof(err)), 0, "%s", err);
	snprintf(o.uds, sizeof(o.uds), "%s/file", dir);
	unlink(o.uds);
	rmdir(dir);
}
