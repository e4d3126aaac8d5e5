/* vhost_user_check net: dpdk-testpmd's vhost-user port (net_vhost PMD) through the VMM's
 * vhost-user-net device model (virtio/vhost_user/vu_net.c), with testpmd looping its one port
 * in macswap mode (--port-topology=loop --forward-mode=macswap): a frame the "guest" sends on
 * tx comes back on rx with its addresses swapped. Checked: the config space (MAC, link up), the
 * features offered (no control queue, no packed ring), DRIVER_OK handing both rings over, the
 * frame's round trip byte for byte, interrupts raised by the device's I/O thread. With a
 * back-end pid and a restart command: testpmd SIGKILLed while rx buffers are posted, the device
 * reconnects to the restarted one by itself (rings resumed at their used indexes, no driver
 * reset), and a frame makes the round trip again. */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/vhost_user/vu_check.h"
#include "virtio/vhost_user/vu_device.h"
#include "virtio/vhost_user/vu_net.h"

#define RXQ	   0
#define TXQ	   1
#define HDR	   12 /* struct virtio_net_hdr_v1 with VERSION_1 (5.1.6) */
#define RX_BUF	   2048
#define RX_POSTED  16
#define FRAME_LEN  98
#define CHECK_MAC  "02:00:00:00:00:11"
#define ETHER_TYPE 0x88b5 /* IEEE local experimental */

static uint64_t rx_gpa[CHECK_QSIZE];
static int rx_next;   /* the next posted buffer the back-end fills (in order) */
static int rx_posted; /* buffers posted so far */

static void post_rx(struct check_env *env, struct virtio_dev *dev, int n)
{
	for (int i = 0; i < n; i++) {
		struct mock_vq *mv = &env->q[RXQ].mv;
		uint64_t gpa = mock_alloc(mv, RX_BUF);
		struct mock_buf b = {gpa, RX_BUF, true};
		rx_gpa[rx_posted++ % CHECK_QSIZE] = gpa; /* filled in the order posted */
		if (mock_split_add(mv, &b, 1) < 0)
			check_fail("mock_split_add rx");
	}
	check_dev_kick(dev, RXQ);
}

static void round_trip(struct check_env *env, struct virtio_dev *dev, uint8_t seed)
{
	uint8_t frame[HDR + FRAME_LEN] = {0}, back[HDR + FRAME_LEN];
	const uint8_t *mac = ((struct virtio_net_config *)dev->config)->mac;
	static const uint8_t peer[6] = {0x02, 0, 0, 0, 0, 0x22};
	uint8_t *eth = frame + HDR;
	int irqs = check_dev_irqs(RXQ);

	memcpy(eth, peer, 6);
	memcpy(eth + 6, mac, 6);
	eth[12] = ETHER_TYPE >> 8, eth[13] = ETHER_TYPE & 0xff;
	for (int i = 14; i < FRAME_LEN; i++)
		eth[i] = (uint8_t)(seed + i);
	struct mock_vq *tx = &env->q[TXQ].mv;
	struct mock_buf b = {mock_fill(tx, frame, sizeof(frame)), sizeof(frame), false};
	if (check_dev_request(env, dev, TXQ, &b, 1) < 0)
		check_fail("the tx buffer was not used");
	uint32_t len;
	if (check_dev_wait_used(env, RXQ, &len))
		check_fail("no frame came back on rx within %d ms", CHECK_WAIT_MS);
	if (len != sizeof(frame))
		check_fail("rx used length %u, sent %zu", len, sizeof(frame));
	guest_mem_read(&env->ram.mem, rx_gpa[rx_next++ % CHECK_QSIZE], back, sizeof(back));
	if (memcmp(back + HDR, eth + 6, 6) || memcmp(back + HDR + 6, eth, 6) ||
	    memcmp(back + HDR + 12, eth + 12, FRAME_LEN - 12))
		check_fail("the frame came back changed (not a macswap of it)");
	for (int i = 0; i < 100 && check_dev_irqs(RXQ) == irqs; i++)
		usleep(10000);
	if (check_dev_irqs(RXQ) == irqs)
		check_fail("no rx interrupt");
	printf("ok: a %d-byte frame sent on tx came back on rx with its MACs swapped\n", FRAME_LEN);
	post_rx(env, dev, 1); /* keep RX_POSTED buffers posted */
}

static struct virtio_dev *create(const char *socket)
{
	struct vu_opts o;
	char arg[200], err[160];
	snprintf(arg, sizeof(arg), "vhost-user=%s,mac=" CHECK_MAC, socket);
	if (vu_opts_parse(arg, VU_OPTS_NET, &o, err, sizeof(err)))
		check_fail("options: %s", err);
	struct virtio_dev *dev = NULL;
	int rc = 0;
	for (int i = 0; i < 20 * 1000 / 100; i++) { /* testpmd takes seconds to start */
		rc = vu_net_create(&dev, &o, CHECK_WAIT_MS);
		if (rc != -ENOENT && rc != -ECONNREFUSED)
			break;
		usleep(100 * 1000);
	}
	if (rc)
		check_fail("vu_net_create: %s", strerror(-rc));
	return dev;
}

static void config(struct virtio_dev *dev)
{
	struct virtio_net_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	if (memcmp(c.mac, "\x02\x00\x00\x00\x00\x11", 6) ||
	    le16toh(c.status) != VIRTIO_NET_S_LINK_UP)
		check_fail("config: mac or status wrong");
	uint64_t never =
	    1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ | 1ull << VIRTIO_F_RING_PACKED;
	if (dev->host_features & never)
		check_fail("features %#llx: control queue or packed ring offered",
			   (unsigned long long)dev->host_features);
	printf("ok: config mac " CHECK_MAC ", link up; features %#llx (back-end offered %#llx)\n",
	       (unsigned long long)dev->host_features,
	       (unsigned long long)vu_device_of(dev)->fe.features);
}

int check_net(int argc, char **argv)
{
	struct check_env env;

	if (argc != 1 && argc != 3) {
		fprintf(stderr, "usage: vhost_user_check net SOCKET [PID RESTART]\n");
		return 2;
	}
	check_env_init(&env, 2);
	struct virtio_dev *dev = create(argv[0]);
	check_dev_attach(&env, dev);
	config(dev);
	check_dev_driver_start(&env, dev,
			       1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
				   1ull << VIRTIO_NET_F_STATUS);
	post_rx(&env, dev, RX_POSTED);
	round_trip(&env, dev, 0x10);
	round_trip(&env, dev, 0x20);
	if (argc == 3) {
		check_dev_restart_backend(dev, (pid_t)atoi(argv[1]), argv[2]);
		round_trip(&env, dev, 0x30);
	}
	check_dev_free(dev);
	check_env_free(&env);
	printf("PASS\n");
	return 0;
}
