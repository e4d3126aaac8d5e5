/* User-mode networking through libslirp behind the device: ARP and ping to the virtual host
 * 10.0.2.2 (answered by slirp itself), a host port forward reaching the guest, and the same
 * ping through the device's real I/O thread. Needs no privileges and no network. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/virtio/net/virtio_net_fixture.h"
#include "virtio/net/slirp.h"

static const uint8_t GUEST_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void create_user(const char *spec)
{
	struct virtio_net_opts o;
	char err[256] = "";

	cr_assert_eq(virtio_net_opts_parse(spec, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(virtio_net_create(&dev, &o), 0);
	attach();
}

static void put_ip(uint8_t *p, const char *dotted)
{
	inet_pton(AF_INET, dotted, p);
}

static size_t arp_request(uint8_t *f, const char *target)
{
	static const uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, 1};

	memset(f, 0xff, 6);
	memcpy(f + 6, GUEST_MAC, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, head, 8);
	memcpy(f + 22, GUEST_MAC, 6);
	put_ip(f + 28, NET_SLIRP_GUEST);
	memset(f + 32, 0, 6);
	put_ip(f + 38, target);
	return 42;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* ICMP echo request GUEST -> dst (RFC 792) with 8 bytes of payload: 50 bytes. */
static size_t ping(uint8_t *f, const uint8_t dst_mac[6], const char *dst)
{
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, GUEST_MAC, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	uint8_t *ip = f + 14, *icmp = ip + 20;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[3] = 36; /* total length */
	ip[8] = 64; /* TTL */
	ip[9] = 1;  /* ICMP */
	put_ip(ip + 12, NET_SLIRP_GUEST);
	put_ip(ip + 16, dst);
	uint16_t c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	memset(icmp, 0, 16);
	icmp[0] = 8; /* echo request */
	icmp[5] = 1; /* id */
	icmp[7] = 1; /* seq */
	memcpy(icmp + 8, "vmmping!", 8);
	c = csum(icmp, 16);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	return 50;
}

static void send_frame(const uint8_t *f, size_t n)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	add_tx(&h, f, (uint32_t)n);
	kick(VIRTIO_NET_TXQ);
}

/* Waits until the guest got a frame (polling slirp's fds / rx fd as the I/O thread would),
 * then returns its address in guest memory. */
static const uint8_t *receive(uint64_t buf, uint32_t *len)
{
	uint32_t id;
	for (int i = 0; i < 300; i++) {
		struct pollfd p[2] = {{.fd = be->rx_fd, .events = POLLIN},
				      {.fd = be->service_fd, .events = POLLIN}};
		if (poll(p, 2, 10) > 0) {
			if (p[1].revents)
				fd_ready(be->service_fd);
			rx_ready();
		}
		if (used(RXV, &id, len) == 1)
			return mock_ram_host(&ram, buf + HDR);
	}
	cr_assert_fail("no frame for the guest");
	return NULL;
}

TestSuite(virtio_net_slirp, .fini = teardown);

Test(virtio_net_slirp, offers_no_offloads)
{
	create_user("user");
	cr_expect_not(be->vnet_hdr);
	cr_expect_eq(dev->host_features, virtio_net_offered_features(false, 0));
	struct virtio_net_config cfg;
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	cr_expect_arr_eq(cfg.mac, GUEST_MAC, 6, "QEMU's default MAC for user networking");
}

Test(virtio_net_slirp, arp_and_ping_the_virtual_host)
{
	uint8_t f[64], host_mac[6];
	uint32_t len;

	create_user("user");
	driver_up(FEAT | F(VIRTIO_NET_F_MRG_RXBUF));
	uint64_t a = rx_buf(2048), b = rx_buf(2048);
	add_rx(a, 2048);
	send_frame(f, arp_request(f, NET_SLIRP_HOST));
	const uint8_t *r = receive(a, &len);
	cr_expect_eq(r[12], 0x08);
	cr_assert_eq(r[13], 0x06, "an ARP reply");
	cr_expect_eq(r[21], 2);
	memcpy(host_mac, r + 22, 6);

	add_rx(b, 2048);
	send_frame(f, ping(f, host_mac, NET_SLIRP_HOST));
	r = receive(b, &len);
	cr_assert_eq(r[13], 0x00, "IPv4");
	cr_expect_eq(r[14 + 9], 1, "ICMP");
	cr_expect_eq(r[34], 0, "echo reply");
	cr_expect_arr_eq(r + 42, "vmmping!", 8);
	cr_expect_eq(stats().rx_frames, 2);
	cr_expect_eq(stats().tx_frames, 2);
}

/* A free TCP port on 127.0.0.1 (bind to 0, read it back, close). */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	return ntohs(sa.sin_port);
}

Test(virtio_net_slirp, hostfwd_connection_reaches_the_guest)
{
	char spec[64];
	int port = free_port();
	uint32_t len;

	snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:22", port);
	create_user(spec);
	driver_up(FEAT);
	uint64_t a = rx_buf(2048);
	add_rx(a, 2048);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(0x7f000001)};
	int c = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	cr_assert(c == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
	/* slirp accepts, then must find the guest: an ARP request for 10.0.2.15 (or the SYN). */
	const uint8_t *r = receive(a, &len);
	uint8_t guest_ip[4];
	put_ip(guest_ip, NET_SLIRP_GUEST);
	if (r[13] == 0x06) {
		cr_expect_arr_eq(r + 38, guest_ip, 4, "ARP for the guest");
	} else {
		cr_expect_arr_eq(r + 30, guest_ip, 4, "to the guest");
		cr_expect_eq(r[36] << 8 | r[37], 22, "to port 22");
	}
	close(s);
}

Test(virtio_net_slirp, ping_through_the_io_thread)
{
	uint8_t f[64];
	uint32_t id, len;

	create_user("user");
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_up(FEAT);
	uint64_t a = rx_buf(2048);
	pthread_mutex_lock(&dev->lock);
	add_rx(a, 2048);
	pthread_mutex_unlock(&dev->lock);
	send_frame(f, arp_request(f, NET_SLIRP_DNS));
	bool got = false;
	for (int i = 0; i < 300 && !got; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&dev->lock);
		got = used(RXV, &id, &len) == 1;
		pthread_mutex_unlock(&dev->lock);
	}
	cr_assert(got, "the I/O thread delivered no ARP reply");
	const uint8_t *r = mock_ram_host(&ram, a + HDR);
	cr_expect_eq(r[21], 2);
	uint8_t dns[4];
	put_ip(dns, NET_SLIRP_DNS);
	cr_expect_arr_eq(r + 28, dns, 4);
	cr_expect_eq(irqs[VIRTIO_NET_RXQ], 1);
}
