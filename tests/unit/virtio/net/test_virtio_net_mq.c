/* virtio-net multiqueue (virtio 1.2 5.1.2, 5.1.4, 5.1.6.5.5) over loopback backends, one per
 * queue pair: VIRTIO_NET_F_MQ and max_virtqueue_pairs, the queue layout and groups, the control
 * queue's VQ_PAIRS_SET (valid, out of range, malformed, without MQ, before DRIVER_OK), receive
 * only on the pairs in use, transmit on every pair, reset, the snapshot state, the options, and
 * every pair at once on its own I/O thread. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "tests/mock_driver/net_loopback.h"
#include "virtio/net/features.h"
#include "virtio/net/net.h"
#include "virtio/net/net_test.h"
#include "virtio/net/tap.h"

#define F(bit)	  (1ull << (bit))
#define HDR	  12u
#define MB	  (1ull << 20)
#define RAM_SIZE  (64ull << 20)
#define MAXQ	  (2 * VIRTIO_NET_MAX_PAIRS + 1)
#define BASE_FEAT (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_CTRL_VQ))
#define MQ_FEAT	  (BASE_FEAT | F(VIRTIO_NET_F_MQ))
#define FRAME_LEN 100u
#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		for (int i_ = 0; i_ < 10000 && !(cond); i_++)                                      \
			usleep(1000);                                                              \
	} while (0)

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x01, 0x02, 0x03};

static struct mock_ram ram;
static struct mock_vq mv[MAXQ];
static struct virtio_dev *dev;
static unsigned npairs;
static _Atomic uint32_t irq_mask; /* bit q: queue q interrupted */

static void raise_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q < 32)
		atomic_fetch_or(&irq_mask, 1u << q);
}

/* A device of `pairs` pairs served by `threads` I/O threads (0: the default, one per pair). */
static void create_on(unsigned pairs, unsigned threads)
{
	struct net_backend *be[VIRTIO_NET_MAX_PAIRS];

	npairs = pairs;
	for (unsigned i = 0; i < pairs; i++)
		cr_assert_eq(net_loopback_create(&be[i], false, 0), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, be, pairs, MAC), 0);
	for (unsigned i = 0; i < pairs; i++)
		cr_assert_null(be[i], "the device took backend %u", i);
	if (threads)
		cr_assert_eq(virtio_net_set_io_threads(dev, threads), 0);
	dev->irq = (struct virtio_irq){raise_irq, NULL};
	atomic_store(&irq_mask, 0);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

static void create(unsigned pairs)
{
	create_on(pairs, 0);
}

static void teardown(void)
{
	if (dev) {
		virtio_dev_destroy(dev);
		free(dev);
		dev = NULL;
	}
	for (int q = 0; q < MAXQ; q++)
		mock_vq_free(&mv[q]);
	mock_ram_free(&ram);
}

static struct net_backend *pair_be(unsigned pair)
{
	return virtio_net_pair_backend(dev, pair);
}

static bool negotiate(uint64_t features)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	bool ok = dev->status & VIRTIO_CONFIG_S_FEATURES_OK;
	pthread_mutex_unlock(&dev->lock);
	return ok;
}

/* The first `nq` queues: rings 64 KiB apart, 3 MiB of buffers each. */
static void queues_up(unsigned nq)
{
	pthread_mutex_lock(&dev->lock);
	for (unsigned q = 0; q < nq; q++) {
		mock_vq_free(&mv[q]);
		cr_assert_eq(mock_vq_init(&mv[q], &ram, 256, false, MOCK_RAM_GPA + q * 0x10000ull),
			     0);
		mv[q].heap = MOCK_RAM_GPA + 2 * MB + q * 3 * MB;
		mv[q].heap_end = mv[q].heap + 3 * MB;
		dev->vqs[q].num = mv[q].size;
		dev->vqs[q].desc_addr = mv[q].desc;
		dev->vqs[q].driver_addr = mv[q].driver;
		dev->vqs[q].device_addr = mv[q].device;
		virtio_dev_set_queue_ready(dev, (uint16_t)q, true);
	}
	pthread_mutex_unlock(&dev->lock);
}

static void driver_ok(void)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
}

/* Features, every queue of the layout the features imply (5.1.2), DRIVER_OK. */
static void driver_up(uint64_t features)
{
	cr_assert(negotiate(features));
	queues_up((features & F(VIRTIO_NET_F_MQ)) ? 2 * npairs + 1 : 3);
	driver_ok();
}

static void kick(uint16_t q)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, q);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* What the I/O thread of the pair does when its backend is readable. */
static void rx_ready(unsigned pair)
{
	int fd = pair_be(pair)->rx_fd;

	for (int i = 0; i < dev->nfds; i++) {
		if (dev->fds[i].fd != fd)
			continue;
		pthread_mutex_lock(&dev->lock);
		virtio_dev_lock_groups(dev, -1);
		dev->fds[i].ready(dev, fd, EPOLLIN);
		virtio_dev_unlock_groups(dev, -1);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	cr_assert_fail("pair %u's rx fd is not registered", pair);
}

static const uint8_t *make_frame(uint8_t pair, uint8_t seq)
{
	static uint8_t f[FRAME_LEN];

	memcpy(f, MAC, 6);
	memset(f + 6, 0x02, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (unsigned i = 14; i < FRAME_LEN; i++)
		f[i] = (uint8_t)(pair * 31 + seq * 7 + i);
	return f;
}

/* One control command: header, `len` bytes of data, the ack byte. Returns the ack, or -1 when
 * the device did not answer. */
static int ctrl_cmd(uint16_t cq, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	struct virtio_net_ctrl_hdr h = {class, cmd};
	uint64_t ack = mock_alloc(&mv[cq], 1);
	struct mock_buf b[3] = {{mock_fill(&mv[cq], &h, sizeof(h)), sizeof(h), false},
				{len ? mock_fill(&mv[cq], data, len) : 0, len, false},
				{ack, 1, true}};
	uint32_t id, used_len;

	*(uint8_t *)mock_ram_host(&ram, ack) = 0xaa;
	if (len)
		cr_assert_geq(mock_split_add(&mv[cq], b, 3), 0);
	else
		cr_assert_geq(mock_split_add(&mv[cq], (struct mock_buf[]){b[0], b[2]}, 2), 0);
	kick(cq);
	if (mock_split_get_used(&mv[cq], &id, &used_len) != 1)
		return -1;
	cr_assert_eq(used_len, 1);
	return *(uint8_t *)mock_ram_host(&ram, ack);
}

static int set_pairs(uint16_t cq, uint16_t pairs)
{
	struct virtio_net_ctrl_mq mq = {htole16(pairs)};

	return ctrl_cmd(cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &mq, sizeof(mq));
}

/* Posts one receive buffer on pair `pair`; returns its address. */
static uint64_t post_rx(unsigned pair)
{
	struct mock_vq *q = &mv[2 * pair];
	uint64_t a = mock_alloc(q, HDR + 1514);
	struct mock_buf b = {a, HDR + 1514, true};

	cr_assert(a);
	memset(mock_ram_host(&ram, a), 0xee, HDR + 1514);
	cr_assert_geq(mock_split_add(q, &b, 1), 0);
	return a;
}

/* The frame delivered into the buffer at `a` is (pair, seq)'s. */
static void check_rx(uint64_t a, uint8_t pair, uint8_t seq)
{
	const uint8_t *p = mock_ram_host(&ram, a);

	cr_assert_eq(memcmp(p + HDR, make_frame(pair, seq), FRAME_LEN), 0,
		     "frame %u of pair %u damaged", seq, pair);
}

static void send_tx(unsigned pair, uint8_t seq)
{
	struct mock_vq *q = &mv[2 * pair + 1];
	struct virtio_net_hdr_v1 h = {0};
	struct mock_buf b[2] = {
	    {mock_fill(q, &h, HDR), HDR, false},
	    {mock_fill(q, make_frame((uint8_t)pair, seq), FRAME_LEN), FRAME_LEN, false}};

	cr_assert_geq(mock_split_add(q, b, 2), 0);
}

TestSuite(net_mq, .fini = teardown);

/* ---- description ---- */

Test(net_mq, one_pair_offers_no_mq)
{
	create(1);
	cr_assert_eq(dev->num_queues, 3);
	cr_assert_eq(virtio_dev_groups(dev), 1);
	cr_assert_not(dev->host_features & F(VIRTIO_NET_F_MQ));
	cr_assert_eq(le16toh(((struct virtio_net_config *)dev->config)->max_virtqueue_pairs), 1);
}

Test(net_mq, four_pairs_layout_and_groups)
{
	create(4);
	cr_assert(dev->host_features & F(VIRTIO_NET_F_MQ));
	cr_assert(dev->host_features & F(VIRTIO_NET_F_CTRL_VQ));
	cr_assert_eq(dev->num_queues, 9, "receiveq1..4, transmitq1..4, controlq (5.1.2)");
	cr_assert_eq(virtio_dev_groups(dev), 4);
	for (unsigned q = 0; q < 8; q++)
		cr_assert_eq(dev->queue_group[q], q / 2, "queue %u", q);
	cr_assert_eq(dev->queue_group[8], 0, "the control queue is in group 0");
	cr_assert_eq(le16toh(((struct virtio_net_config *)dev->config)->max_virtqueue_pairs), 4);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(net_loopback_enabled(pair_be(i)), i == 0,
			     "only pair 0's backend takes frames before VQ_PAIRS_SET");
	cr_assert_null(pair_be(4));
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
}

Test(net_mq, bad_pair_counts_refused)
{
	struct net_backend *be[VIRTIO_NET_MAX_PAIRS + 1];

	cr_assert_eq(virtio_net_create_with_backends(&dev, be, 0, MAC), -EINVAL);
	for (unsigned i = 0; i <= VIRTIO_NET_MAX_PAIRS; i++)
		cr_assert_eq(net_loopback_create(&be[i], false, 0), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, be, VIRTIO_NET_MAX_PAIRS + 1, MAC),
		     -EINVAL); /* and the backends were freed (ASan run) */
	dev = NULL;
}

Test(net_mq, mq_needs_ctrl_vq)
{
	create(2);
	cr_assert_not(negotiate(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MQ)),
		      "5.1.3.1: MQ without CTRL_VQ");
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert(negotiate(MQ_FEAT));
}

/* ---- the control queue (5.1.6.5.5) ---- */

Test(net_mq, pairs_set_valid_values)
{
	create(4);
	driver_up(MQ_FEAT);
	cr_assert_eq(set_pairs(8, 4), VIRTIO_NET_OK, "controlq is 2N = 8");
	cr_assert_eq(virtio_net_pairs_in_use(dev), 4);
	for (unsigned i = 0; i < 4; i++)
		cr_assert(net_loopback_enabled(pair_be(i)));
	cr_assert_eq(set_pairs(8, 2), VIRTIO_NET_OK);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 2);
	cr_assert(net_loopback_enabled(pair_be(1)));
	cr_assert_not(net_loopback_enabled(pair_be(2)));
	cr_assert_not(net_loopback_enabled(pair_be(3)));
	cr_assert_eq(set_pairs(8, 1), VIRTIO_NET_OK);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
	cr_assert(virtio_dev_running(dev));
}

Test(net_mq, pairs_set_out_of_range_or_malformed)
{
	create(4);
	driver_up(MQ_FEAT);
	cr_assert_eq(set_pairs(8, 0), VIRTIO_NET_ERR);
	cr_assert_eq(set_pairs(8, 5), VIRTIO_NET_ERR, "more than max_virtqueue_pairs");
	cr_assert_eq(set_pairs(8, 0x8000), VIRTIO_NET_ERR);
	cr_assert_eq(set_pairs(8, 0xffff), VIRTIO_NET_ERR);
	cr_assert_eq(ctrl_cmd(8, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x02", 1),
		     VIRTIO_NET_ERR, "one byte");
	cr_assert_eq(
	    ctrl_cmd(8, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x02\x00\x00", 3),
	    VIRTIO_NET_ERR, "three bytes");
	cr_assert_eq(ctrl_cmd(8, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, NULL, 0),
		     VIRTIO_NET_ERR, "no data");
	cr_assert_eq(ctrl_cmd(8, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, "\x02\x00", 2),
		     VIRTIO_NET_ERR, "RSS not offered");
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1, "nothing changed");
	cr_assert(virtio_dev_running(dev), "a bad command fails the command, not the device");
	cr_assert_eq(set_pairs(8, 3), VIRTIO_NET_OK);
}

/* 5.1.2: without MQ negotiated the control queue is queue 2 even on a 4-pair device, and
 * VQ_PAIRS_SET is refused. */
Test(net_mq, without_mq_ctrl_is_queue_2)
{
	create(4);
	driver_up(BASE_FEAT);
	cr_assert_eq(set_pairs(2, 2), VIRTIO_NET_ERR);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
	/* the other commands are answered there too (MAC_ADDR_SET not negotiated: ERR, but an
	 * answer) */
	cr_assert_eq(ctrl_cmd(2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, MAC, 6),
		     VIRTIO_NET_ERR);
	cr_assert(virtio_dev_running(dev));
}

Test(net_mq, pairs_set_before_driver_ok_is_not_served)
{
	create(2);
	cr_assert(negotiate(MQ_FEAT));
	queues_up(5);
	cr_assert_eq(set_pairs(4, 2), -1, "no answer before DRIVER_OK (2.1.2)");
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
	driver_ok();
	kick(4);
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&mv[4], &id, &len), 1, "served after DRIVER_OK");
	cr_assert_eq(virtio_net_pairs_in_use(dev), 2);
}

/* ---- data ---- */

Test(net_mq, rx_only_on_pairs_in_use)
{
	uint64_t a[4];
	uint32_t id, len;

	create(4);
	driver_up(MQ_FEAT);
	for (unsigned p = 0; p < 4; p++) {
		a[p] = post_rx(p);
		kick((uint16_t)(2 * p));
		cr_assert_eq(net_loopback_inject(pair_be(p), make_frame((uint8_t)p, 1), FRAME_LEN),
			     0);
	}
	for (unsigned p = 0; p < 4; p++)
		rx_ready(p);
	cr_assert_eq(mock_split_get_used(&mv[0], &id, &len), 1);
	cr_assert_eq(len, HDR + FRAME_LEN);
	check_rx(a[0], 0, 1);
	for (unsigned p = 1; p < 4; p++)
		cr_assert_eq(mock_split_used_idx(&mv[2 * p]), 0,
			     "5.1.6.5.5: nothing on receiveq%u before VQ_PAIRS_SET", p + 1);
	/* 3 pairs: the frames waiting for pairs 1 and 2 arrive, pair 3 stays quiet */
	cr_assert_eq(set_pairs(8, 3), VIRTIO_NET_OK);
	for (unsigned p = 1; p < 3; p++) {
		kick((uint16_t)(2 * p)); /* the kick VQ_PAIRS_SET made, served here */
		cr_assert_eq(mock_split_get_used(&mv[2 * p], &id, &len), 1, "pair %u", p);
		check_rx(a[p], (uint8_t)p, 1);
	}
	rx_ready(3);
	cr_assert_eq(mock_split_used_idx(&mv[6]), 0);
	/* back to 1 pair: pair 1 receives nothing more */
	cr_assert_eq(set_pairs(8, 1), VIRTIO_NET_OK);
	post_rx(1);
	cr_assert_eq(net_loopback_inject(pair_be(1), make_frame(1, 2), FRAME_LEN), 0);
	rx_ready(1);
	kick(2);
	cr_assert_eq(mock_split_used_idx(&mv[2]), 1);
	cr_assert(atomic_load(&irq_mask) & (1u << 0 | 1u << 2 | 1u << 4));
}

Test(net_mq, tx_on_every_pair)
{
	size_t len;

	create(4);
	driver_up(MQ_FEAT);
	/* pairs in use or not: a driver may send on any transmit queue it set up */
	for (unsigned p = 0; p < 4; p++) {
		send_tx(p, 1);
		send_tx(p, 2);
		kick((uint16_t)(2 * p + 1));
	}
	for (unsigned p = 0; p < 4; p++) {
		struct net_backend *be = pair_be(p);
		cr_assert_eq(net_loopback_sent_count(be), 2, "pair %u's backend", p);
		for (uint8_t s = 1; s <= 2; s++) {
			const uint8_t *f = net_loopback_sent(be, s - 1u, &len);
			cr_assert_eq(len, FRAME_LEN);
			cr_assert_eq(memcmp(f, make_frame((uint8_t)p, s), FRAME_LEN), 0);
		}
		cr_assert_eq(mock_split_used_idx(&mv[2 * p + 1]), 2);
	}
	struct virtio_net_stats st;
	virtio_net_get_stats(dev, &st);
	cr_assert_eq(st.tx_frames, 8, "summed over the pairs");
	cr_assert_eq(st.tx_bytes, 8 * FRAME_LEN);
}

Test(net_mq, reset_goes_back_to_one_pair)
{
	create(3);
	driver_up(MQ_FEAT);
	cr_assert_eq(set_pairs(6, 3), VIRTIO_NET_OK);
	cr_assert(net_loopback_enabled(pair_be(2)));
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
	cr_assert_not(net_loopback_enabled(pair_be(1)));
	cr_assert_not(net_loopback_enabled(pair_be(2)));
	/* a driver without MQ after the reset: one pair, control queue 2 */
	driver_up(BASE_FEAT);
	cr_assert_eq(set_pairs(2, 2), VIRTIO_NET_ERR);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
}

/* ---- snapshot state ---- */

Test(net_mq, snapshot_keeps_pairs)
{
	uint8_t buf[8192];
	size_t len;

	create(4);
	driver_up(MQ_FEAT);
	cr_assert_eq(set_pairs(8, 3), VIRTIO_NET_OK);
	pthread_mutex_lock(&dev->lock);
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &len), 0);
	pthread_mutex_unlock(&dev->lock);
	virtio_dev_destroy(dev);
	free(dev);
	dev = NULL;
	mock_ram_free(&ram);

	/* a new device of the same configuration, features as the transport state restores them */
	create(4);
	pthread_mutex_lock(&dev->lock);
	dev->driver_features = MQ_FEAT;
	cr_assert_eq(dev->ops->restore(dev, buf, len), 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 3);

	/* pairs beyond the device, or more than one without MQ: refused */
	uint8_t bad[8192];
	memcpy(bad, buf, len);
	bad[len - 8] = 5;
	pthread_mutex_lock(&dev->lock);
	cr_assert_eq(dev->ops->restore(dev, bad, len), -EINVAL);
	bad[len - 8] = 0;
	cr_assert_eq(dev->ops->restore(dev, bad, len), -EINVAL);
	dev->driver_features = BASE_FEAT;
	cr_assert_eq(dev->ops->restore(dev, buf, len), -EINVAL, "3 pairs without MQ");
	/* an older state (before multiqueue) ends before the pairs: one pair */
	cr_assert_eq(dev->ops->restore(dev, buf, len - 8), 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
	virtio_dev_destroy(dev);
	free(dev);
	dev = NULL;
	mock_ram_free(&ram);

	/* another queues=: refused */
	create(2);
	pthread_mutex_lock(&dev->lock);
	dev->driver_features = MQ_FEAT;
	cr_assert_eq(dev->ops->restore(dev, buf, len), -EINVAL);
	pthread_mutex_unlock(&dev->lock);
}

/* ---- options ---- */

Test(net_mq, options)
{
	struct virtio_net_opts o;
	char err[256];

	cr_assert_eq(
	    virtio_net_opts_parse("tap=t0,queues=4,iothread-cpus=0:1-2", &o, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(o.queues, 4);
	cr_assert_eq(o.iothread_cpus.n, 3);
	cr_assert_eq(o.iothread_cpus.cpu[2], 2);
	cr_assert_eq(virtio_net_opts_parse("tap=t0", &o, err, sizeof(err)), 0);
	cr_assert_eq(o.queues, 0);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=8", &o, err, sizeof(err)), 0);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=9", &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "from 1 to 8"), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=0", &o, err, sizeof(err)), -EINVAL);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=2,queues=2", &o, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(virtio_net_opts_parse("user,queues=2", &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "needs tap="), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("tapfd=3,queues=2", &o, err, sizeof(err)), -EINVAL);
	cr_assert_eq(virtio_net_opts_parse("user,queues=1", &o, err, sizeof(err)), 0);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,iothread-cpus=x", &o, err, sizeof(err)),
		     -EINVAL);
	/* io-threads=: 1..queues */
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=4,io-threads=2", &o, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(o.io_threads, 2);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,io-threads=1", &o, err, sizeof(err)), 0);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=2,io-threads=3", &o, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "more I/O threads than queue pairs"), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,io-threads=2", &o, err, sizeof(err)), -EINVAL);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=2,io-threads=0", &o, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "from 1 to 8"), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,queues=2,io-threads=1,io-threads=1", &o, err,
					   sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "given twice"), "%s", err);
}

/* ---- every pair at once, on their I/O threads ---- */

/* Frames both ways on each of the N pairs of the device just created, every queue kicked at
 * once; then a pause, a resume and a reset. */
static void every_pair_at_once(void)
{
	enum { N = 4, FRAMES = 16 };
	uint64_t a[N][FRAMES];
	uint64_t one = 1;

	driver_up(MQ_FEAT);
	cr_assert_eq(set_pairs(8, N), VIRTIO_NET_OK);
	/* buffers and frames first (the mock driver and the loopback are not thread-safe), then
	 * the threads, then every kick at once */
	for (unsigned p = 0; p < N; p++) {
		for (unsigned i = 0; i < FRAMES; i++) {
			a[p][i] = post_rx(p);
			send_tx(p, (uint8_t)i);
			cr_assert_eq(net_loopback_inject(
					 pair_be(p), make_frame((uint8_t)p, (uint8_t)i), FRAME_LEN),
				     0);
		}
	}
	cr_assert_eq(virtio_dev_start(dev), 0);
	for (unsigned p = 0; p < N; p++) {
		cr_assert_eq(write(dev->kick_fd[2 * p], &one, sizeof(one)), 8);
		cr_assert_eq(write(dev->kick_fd[2 * p + 1], &one, sizeof(one)), 8);
	}
	for (unsigned p = 0; p < N; p++) {
		WAIT_FOR(mock_split_used_idx(&mv[2 * p]) == FRAMES &&
			 mock_split_used_idx(&mv[2 * p + 1]) == FRAMES);
		cr_assert_eq(mock_split_used_idx(&mv[2 * p]), FRAMES, "rx of pair %u", p);
		cr_assert_eq(mock_split_used_idx(&mv[2 * p + 1]), FRAMES, "tx of pair %u", p);
		for (unsigned i = 0; i < FRAMES; i++)
			check_rx(a[p][i], (uint8_t)p, (uint8_t)i);
		cr_assert_eq(net_loopback_sent_count(pair_be(p)), FRAMES);
	}
	WAIT_FOR((atomic_load(&irq_mask) & 0xff) == 0xff);
	cr_assert_eq(atomic_load(&irq_mask) & 0xff, 0xff,
		     "an interrupt on each of the 8 queues: 0x%x", atomic_load(&irq_mask));
	struct virtio_net_stats st;
	virtio_net_get_stats(dev, &st);
	cr_assert_eq(st.rx_frames, N * FRAMES);
	cr_assert_eq(st.tx_frames, N * FRAMES);
	/* pause and resume every group, then a reset from the "vCPU" */
	virtio_dev_pause(dev);
	virtio_dev_resume(dev);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(virtio_net_pairs_in_use(dev), 1);
}

Test(net_mq, four_pairs_on_their_threads)
{
	create(4);
	every_pair_at_once();
}

Test(net_mq, four_pairs_on_two_threads)
{
	create_on(4, 2);
	cr_assert_eq(virtio_dev_groups(dev), 2);
	for (unsigned q = 0; q < 8; q++)
		cr_assert_eq(dev->queue_group[q], q / 2 % 2, "pair %u on thread %u", q / 2,
			     q / 2 % 2);
	cr_assert_eq(dev->queue_group[8], 0, "the control queue is in group 0");
	every_pair_at_once();
}

Test(net_mq, four_pairs_on_one_thread)
{
	create_on(4, 1);
	cr_assert_eq(virtio_dev_groups(dev), 1, "one group: its lock is dev->lock");
	every_pair_at_once();
}

Test(net_mq, io_threads_out_of_range_or_too_late)
{
	struct net_backend *be[2];

	for (unsigned i = 0; i < 2; i++)
		cr_assert_eq(net_loopback_create(&be[i], false, 0), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, be, 2, MAC), 0);
	cr_assert_eq(virtio_net_set_io_threads(dev, 0), -EINVAL);
	cr_assert_eq(virtio_net_set_io_threads(dev, 3), -EINVAL);
	cr_assert_eq(virtio_dev_groups(dev), 2, "unchanged");
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
	cr_assert_eq(virtio_net_set_io_threads(dev, 1), -EBUSY, "the groups exist already");
	cr_assert_eq(virtio_dev_groups(dev), 2);
}

/* ---- a real multi-queue tap (private network namespace) ---- */

static void need_tun_namespace(void)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("SKIP: no /dev/net/tun");
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("SKIP: cannot create a network namespace: %s", strerror(errno));
}

/* Whether the tap queue behind `be` is attached: detaching an attached queue works (and is
 * undone), detaching a detached one is EINVAL. */
static bool tap_queue_attached(struct net_backend *be)
{
	struct ifreq ifr = {.ifr_flags = IFF_DETACH_QUEUE};

	if (ioctl(be->rx_fd, TUNSETQUEUE, &ifr) < 0) {
		cr_assert_eq(errno, EINVAL);
		return false;
	}
	ifr.ifr_flags = IFF_ATTACH_QUEUE;
	cr_assert_eq(ioctl(be->rx_fd, TUNSETQUEUE, &ifr), 0);
	return true;
}

Test(net_mq, multi_queue_tap_follows_the_pairs)
{
	struct net_backend *be[3], *single;
	struct ifreq ifr = {0};

	need_tun_namespace();
	cr_assert_eq(net_tap_open_mq(be, "mqtap0", 3), 0);
	cr_assert_eq(ioctl(be[1]->rx_fd, TUNGETIFF, &ifr), 0);
	cr_assert(ifr.ifr_flags & IFF_MULTI_QUEUE);
	cr_assert(be[0]->vnet_hdr && be[2]->vnet_hdr);
	npairs = 3;
	cr_assert_eq(virtio_net_create_with_backends(&dev, be, 3, MAC), 0);
	struct net_backend *tap[3] = {pair_be(0), pair_be(1), pair_be(2)};
	dev->irq = (struct virtio_irq){raise_irq, NULL};
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
	cr_assert(tap_queue_attached(tap[0]));
	cr_assert_not(tap_queue_attached(tap[1]), "unused pairs' queues are detached");
	cr_assert_not(tap_queue_attached(tap[2]));
	driver_up(MQ_FEAT);
	cr_assert_eq(set_pairs(6, 3), VIRTIO_NET_OK);
	cr_assert(tap_queue_attached(tap[1]));
	cr_assert(tap_queue_attached(tap[2]));
	cr_assert_eq(set_pairs(6, 2), VIRTIO_NET_OK);
	cr_assert(tap_queue_attached(tap[1]));
	cr_assert_not(tap_queue_attached(tap[2]));
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_not(tap_queue_attached(tap[1]), "a reset detaches them again");

	/* a tap made without IFF_MULTI_QUEUE cannot take queues=: refused, nothing left open */
	cr_assert_eq(net_tap_open(&single, "sqtap0"), 0);
	cr_assert_lt(net_tap_open_mq(be, "sqtap0", 2), 0);
	net_backend_destroy(single);
}
