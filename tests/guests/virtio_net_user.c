/* virtio-net with user-mode networking (our VMM's `--net user`, QEMU's `-netdev user`: libslirp),
 * driven by tests/integration/net/test_net_user.py:
 *   1. DHCP: the guest must be offered and acknowledged 10.0.2.15 (mask, router 10.0.2.2, DNS);
 *   2. outbound TCP: connect to 10.0.2.2:port= (slirp NATs it to the host's 127.0.0.1:port),
 *      send "hello from the guest\n", expect "echo: hello from the guest\n", close;
 *   3. inbound TCP (a host port forward to listen=): accept one connection, expect
 *      "ping from the host\n", answer "pong: ping from the host\n", close.
 * Every wait sleeps on the device's interrupt.
 *
 * Command line: port=P listen=G */
#include "guest.h"
#include "net_dev.h"
#include "net_dhcp.h"
#include "net_stack.h"
#include "net_tcp.h"

#include <linux/virtio_ids.h>

#define VEC_NET	   0x52
#define WAIT_MS	   20000u
#define LOCAL_PORT 40000

#define IP_ARGS(ip) (ip) >> 24, ((ip) >> 16) & 0xff, ((ip) >> 8) & 0xff, (ip)&0xff

/* Reads until a newline (or cap - 1 bytes); returns the length of the NUL-terminated line. */
static int read_line(struct net_if *ifc, struct tcp_conn *c, char *buf, uint32_t cap)
{
	uint32_t n = 0;

	while (n < cap - 1 && (n == 0 || buf[n - 1] != '\n')) {
		int r = tcp_recv(ifc, c, buf + n, 1, WAIT_MS);

		TEST_ASSERT_MSG(r >= 0, "tcp_recv: %d after %u bytes", r, n);
		if (r == 0)
			break;
		n += (uint32_t)r;
	}
	buf[n] = 0;
	return (int)n;
}

static void check_dhcp(struct net_if *ifc)
{
	uint32_t server = 0;

	TEST_ASSERT_MSG(net_dhcp(ifc, WAIT_MS, &server) == 0, "no DHCP lease");
	printf("dhcp: %u.%u.%u.%u mask %u.%u.%u.%u router %u.%u.%u.%u dns %u.%u.%u.%u "
	       "(server %u.%u.%u.%u)\n",
	       IP_ARGS(ifc->ip), IP_ARGS(ifc->mask), IP_ARGS(ifc->gw), IP_ARGS(ifc->dns),
	       IP_ARGS(server));
	TEST_ASSERT_EQ(ifc->ip, NET_IP(10, 0, 2, 15));
	TEST_ASSERT_EQ(ifc->gw, NET_IP(10, 0, 2, 2));
	printf("dhcp: got 10.0.2.15: ok\n");
}

static void check_connect(struct net_if *ifc, uint16_t port)
{
	static struct tcp_conn c;
	static const char msg[] = "hello from the guest\n", want[] = "echo: hello from the guest\n";
	char line[128];
	int err = tcp_connect(ifc, &c, NET_IP(10, 0, 2, 2), port, LOCAL_PORT, WAIT_MS);

	TEST_ASSERT_MSG(err == 0, "connect to 10.0.2.2:%u: %d", port, err);
	TEST_ASSERT_EQ(tcp_send(ifc, &c, msg, sizeof(msg) - 1, WAIT_MS), 0);
	read_line(ifc, &c, line, sizeof(line));
	TEST_ASSERT_MSG(!strcmp(line, want), "got \"%s\"", line);
	TEST_ASSERT_EQ(tcp_close(ifc, &c, WAIT_MS), 0);
	printf("tcp connect to 10.0.2.2:%u: sent, echo received, closed: ok\n", port);
}

static void check_accept(struct net_if *ifc, uint16_t port)
{
	static struct tcp_conn c;
	static const char want[] = "ping from the host\n", reply[] = "pong: ping from the host\n";
	char line[128];
	int err;

	printf("listening on port %u\n", port);
	err = tcp_accept(ifc, &c, port, WAIT_MS);
	TEST_ASSERT_MSG(err == 0, "accept on %u: %d", port, err);
	printf("accepted a connection from %u.%u.%u.%u:%u\n", IP_ARGS(c.rip), c.rport);
	read_line(ifc, &c, line, sizeof(line));
	TEST_ASSERT_MSG(!strcmp(line, want), "got \"%s\"", line);
	TEST_ASSERT_EQ(tcp_send(ifc, &c, reply, sizeof(reply) - 1, WAIT_MS), 0);
	TEST_ASSERT_EQ(tcp_close(ifc, &c, WAIT_MS), 0);
	printf("tcp accept on %u: request received, answered, closed: ok\n", port);
}

int guest_main(void)
{
	static struct net_dev n;
	static struct net_if ifc;
	struct net_dev_config cfg = {.vector = VEC_NET};
	uint64_t port = 0, listen = 0;
	struct vdev *d;

	TEST_ASSERT_MSG(cmdline_get_u64("port", &port) && port && port < 65536, "port=P missing");
	TEST_ASSERT_MSG(cmdline_get_u64("listen", &listen) && listen && listen < 65536,
			"listen=G missing");
	d = vdev_find(VIRTIO_ID_NET, 0);
	TEST_ASSERT_MSG(d, "no virtio-net device on %s", vdev_transport_name());
	TEST_ASSERT_EQ(net_dev_init(&n, d, &cfg), 0);
	TEST_ASSERT_EQ(net_if_init(&ifc, &n), 0);
	check_dhcp(&ifc);
	check_connect(&ifc, (uint16_t)port);
	check_accept(&ifc, (uint16_t)listen);
	printf("rx %llu frames, tx %llu frames, %llu dropped\n", (unsigned long long)n.rx_frames,
	       (unsigned long long)n.tx_frames, (unsigned long long)ifc.dropped);
	return 0;
}
