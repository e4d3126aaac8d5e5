/* The tap backend against the real kernel, inside a private network namespace (so nothing
 * leaks into the host's interfaces): the guest ARPs for the tap's address and receives the
 * kernel's answer; offloads are set on a real tap; a tap fd passed in is checked. Skipped when
 * /dev/net/tun or CAP_SYS_ADMIN / CAP_NET_ADMIN (for unshare) is missing. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/virtio/net/virtio_net_fixture.h"
#include "virtio/net/tap.h"

#define TAP_IP	 "10.9.9.1"
#define GUEST_IP "10.9.9.2"

static void need_tun_namespace(void)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("SKIP: no /dev/net/tun");
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("SKIP: cannot create a network namespace: %s", strerror(errno));
}

/* ip addr add TAP_IP/24 dev IF; ip link set IF up (the ioctls ip(8) uses). */
static void configure(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	cr_assert_geq(s, 0);
	/* No IPv6 neighbour discovery chatter (this namespace's sysctl); best effort. */
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "disable_ipv6: %s\n", strerror(errno));
		close(fd);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, TAP_IP, &sin->sin_addr);
	cr_assert_eq(ioctl(s, SIOCSIFADDR, &ifr), 0, "SIOCSIFADDR: %s", strerror(errno));
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	cr_assert_eq(ioctl(s, SIOCSIFNETMASK, &ifr), 0);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

/* An ARP request "who has TAP_IP? tell GUEST_IP" from the guest's MAC (RFC 826), 42 bytes. */
static size_t arp_request(uint8_t *f)
{
	static const uint8_t arp_head[8] = {0, 1, 8, 0, 6, 4, 0, 1};

	memset(f, 0xff, 6);
	memcpy(f + 6, MAC, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, arp_head, 8);
	memcpy(f + 22, MAC, 6);
	inet_pton(AF_INET, GUEST_IP, f + 28);
	memset(f + 32, 0, 6);
	inet_pton(AF_INET, TAP_IP, f + 38);
	return 42;
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

static void create_tap(const char *spec)
{
	struct virtio_net_opts o;
	char err[256] = "";

	cr_assert_eq(virtio_net_opts_parse(spec, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(virtio_net_create(&dev, &o), 0);
	attach();
}

TestSuite(virtio_net_tap, .fini = teardown);

Test(virtio_net_tap, guest_arp_gets_the_kernels_answer)
{
	uint8_t req[64];
	uint32_t id, len;

	need_tun_namespace();
	create_tap("tap=vmmtest0,mac=52:54:00:aa:bb:cc");
	cr_expect(be->vnet_hdr);
	cr_expect_eq(be->offload_caps, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	configure("vmmtest0");
	driver_up(OFFLOAD_FEAT | F(VIRTIO_NET_F_MRG_RXBUF)); /* TUNSETOFFLOAD on a real tap */
	cr_assert(virtio_dev_running(dev));
	uint64_t a[8];
	for (int i = 0; i < 8; i++)
		add_rx(a[i] = rx_buf(4096), 4096);
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	size_t n = arp_request(req);
	add_tx(&h, req, (uint32_t)n);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(stats().tx_frames, 1);
	/* The kernel may send IPv6 neighbour discovery first: look for the ARP reply. */
	const uint8_t *reply = NULL;
	for (int i = 0; i < 8 && !reply; i++) {
		cr_assert(wait_readable(be->rx_fd, 3000), "no answer from the kernel");
		rx_ready();
		while (!reply && used(RXV, &id, &len) == 1) {
			const uint8_t *f = mock_ram_host(&ram, a[id] + HDR);
			cr_expect_eq(le16toh(hdr_at(a[id]).num_buffers), 1);
			if (f[12] == 0x08 && f[13] == 0x06)
				reply = f;
		}
	}
	cr_assert_not_null(reply, "no ARP reply among the frames received");
	uint8_t tap_ip[4];
	inet_pton(AF_INET, TAP_IP, tap_ip);
	cr_expect_arr_eq(reply, MAC, 6, "addressed to the guest");
	cr_expect_eq(reply[12], 0x08);
	cr_expect_eq(reply[13], 0x06);
	cr_expect_eq(reply[21], 2, "ARP reply");
	cr_expect_arr_eq(reply + 28, tap_ip, 4);
	cr_expect_geq(len, HDR + 42);
}

Test(virtio_net_tap, tapfd_without_vnet_header_offers_no_offloads)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	char spec[32];

	need_tun_namespace();
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vmmtest1");
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	snprintf(spec, sizeof(spec), "tapfd=%d", fd);
	create_tap(spec);
	cr_expect_not(be->vnet_hdr);
	cr_expect_eq(dev->host_features & F(VIRTIO_NET_F_GUEST_CSUM), 0);
	cr_expect_eq(dev->host_features & F(VIRTIO_NET_F_CSUM), 0);
	cr_expect_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
}

Test(virtio_net_tap, tapfd_that_is_not_a_tap_is_refused)
{
	struct net_backend *b;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_expect_lt(net_tap_from_fd(&b, fd), 0);
	cr_expect_eq(fcntl(fd, F_GETFD) >= 0, true, "the caller's fd stays open");
	close(fd);
}
