/* virtio-net rate limiters (virtio/net/throttle.c) on the device over the loopback backend:
 * what a refused frame leaves behind (tx: the chain back in the ring; rx: the frame staged and the
 * backend no longer read), the one-shot timer that serves the direction again, a limit changed
 * at run time, and a timer that fires on a device that failed meanwhile. Limits of a few tokens
 * per minute make "nothing refills during the test" true on any machine. */
#include "virtio_net_fixture.h"

#include <sys/timerfd.h>
#include <time.h>

#include "virtio/core/rate_limiter.h"

/* Replaces whole directions (NULL: leave it), as a PATCH naming both buckets does. */
static int set_limiters(struct virtio_dev *d, const struct rate_limiter_cfg *rx,
			const struct rate_limiter_cfg *tx)
{
	struct rate_limiter_patch prx = {.has_bw = true, .has_ops = true}, ptx = prx;

	if (rx)
		prx.cfg = *rx;
	if (tx)
		ptx.cfg = *tx;
	return virtio_net_patch_rate_limiters(d, rx ? &prx : NULL, tx ? &ptx : NULL, NULL, NULL);
}

TestSuite(virtio_net_throttle, .fini = teardown);

/* `size` frames per refill_ms, no bandwidth limit. */
static struct rate_limiter_cfg ops(uint64_t size, uint64_t refill_ms)
{
	return (struct rate_limiter_cfg){.ops = {.size = size, .refill_ms = refill_ms}};
}

static const struct rate_limiter_cfg no_limit;

/* A direction's throttle timer: the device registers pair 0's rx timer and then its tx timer
 * after the backend's fds, at the first DRIVER_OK. NULL when they are not registered. */
static struct virtio_fd_handler *timer_handler(bool rx)
{
	int i = dev->nfds - (rx ? 2 : 1);
	struct virtio_fd_handler *h = i >= 0 ? &dev->fds[i] : NULL;

	return h && h->fd != be->rx_fd ? h : NULL;
}

static bool timer_armed(struct virtio_fd_handler *h)
{
	struct itimerspec its;

	cr_assert_eq(timerfd_gettime(h->fd, &its), 0);
	return its.it_value.tv_sec || its.it_value.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

static void add_tx_frames(int n)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);

	for (int i = 0; i < n; i++)
		cr_assert_geq(add_tx(&h, make_frame(60, (uint8_t)i), 60), 0);
}

static void serve_pending(void)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

Test(virtio_net_throttle, tx_refused_frames_stay_in_the_ring_until_the_limit_changes)
{
	struct rate_limiter_cfg tx = ops(2, 60000);
	struct virtio_fd_handler *t;
	uint32_t id, len;
	int n = 0;

	create(false, 0);
	cr_assert_eq(set_limiters(dev, NULL, &tx), 0);
	driver_up(FEAT);
	add_tx_frames(5);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(net_loopback_sent_count(be), 2, "the bucket holds 2 frames");
	while (used(TXV, &id, &len) == 1)
		n++;
	cr_expect_eq(n, 2, "only the frames sent are used");
	t = timer_handler(false);
	cr_assert(t, "a refused frame arms the tx timer");
	cr_expect(timer_armed(t));
	kick(VIRTIO_NET_TXQ); /* the guest kicks again: still waiting */
	cr_expect_eq(net_loopback_sent_count(be), 2);

	cr_assert_eq(set_limiters(dev, NULL, &no_limit), 0);
	serve_pending(); /* what the I/O thread does with the kick the update made */
	cr_expect_eq(net_loopback_sent_count(be), 5, "no limit: the 3 waiting frames go");
	for (n = 0; used(TXV, &id, &len) == 1;)
		n++;
	cr_expect_eq(n, 3);
	fd_ready(t->fd); /* the old timer still fires once: nothing to do */
	cr_expect_eq(net_loopback_sent_count(be), 5);
	cr_expect_eq(stats().tx_frames, 5);
	cr_expect_eq(stats().tx_dropped, 0);
}

Test(virtio_net_throttle, tx_timer_serves_the_queue_when_the_wait_is_over)
{
	/* 1 frame per 100 ms: long enough that no second token comes before the kick is served,
	 * even under qemu-user on a loaded host (2 ms let two frames through there) */
	struct rate_limiter_cfg tx = ops(1, 100);

	create(false, 0);
	cr_assert_eq(set_limiters(dev, NULL, &tx), 0);
	driver_up(FEAT);
	add_tx_frames(2);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(net_loopback_sent_count(be), 1);
	sleep_ms(150);
	fd_ready(timer_handler(false)->fd);
	cr_expect_eq(net_loopback_sent_count(be), 2, "the timer pops the refused frame again");
	cr_expect_eq(irqs[VIRTIO_NET_TXQ], 2);
}

Test(virtio_net_throttle, tx_timer_on_a_failed_device_sends_nothing)
{
	struct rate_limiter_cfg tx = ops(1, 100); /* as above */

	create(false, 0);
	cr_assert_eq(set_limiters(dev, NULL, &tx), 0);
	driver_up(FEAT);
	add_tx_frames(2);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(net_loopback_sent_count(be), 1);
	mock_split_avail_entry(RXV, 0, 999); /* a broken rx ring fails the device */
	mock_split_set_avail_idx(RXV, 1);
	inject_frame(60, 1);
	rx_ready();
	cr_assert(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	sleep_ms(150);
	fd_ready(timer_handler(false)->fd);
	cr_expect_eq(net_loopback_sent_count(be), 1, "a failed device serves nothing until reset");
}

Test(virtio_net_throttle, rx_refused_frame_stays_staged_and_the_backend_is_not_read)
{
	struct rate_limiter_cfg rx = ops(1, 60000);
	struct virtio_fd_handler *t;
	uint32_t id, len;

	create(false, 0);
	cr_assert_eq(set_limiters(dev, &rx, NULL), 0);
	driver_up(FEAT);
	for (int i = 0; i < 3; i++) {
		add_rx(rx_buf(2048), 2048);
		inject_frame(100 + i, (uint8_t)i);
	}
	rx_ready();
	cr_expect_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(len, HDR + 100);
	cr_expect_eq(used(RXV, &id, &len), 0, "the bucket held one frame");
	cr_expect_eq(rx_handler()->events, EPOLLONESHOT, "the backend must no longer be read");
	t = timer_handler(true);
	cr_assert(t);
	cr_expect(timer_armed(t));
	kick(VIRTIO_NET_RXQ); /* more buffers do not bypass the limit */
	rx_ready();
	cr_expect_eq(used(RXV, &id, &len), 0);

	cr_assert_eq(set_limiters(dev, &no_limit, NULL), 0);
	serve_pending();
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(used(RXV, &id, &len), 1, "frame %d", i);
		cr_expect_eq(len, HDR + 100 + (uint32_t)i);
	}
	cr_expect_eq(rx_handler()->events, EPOLLIN, "reading resumes");
	cr_expect_eq(stats().rx_frames, 3);
	cr_expect_eq(stats().rx_dropped, 0);
}

Test(virtio_net_throttle, rx_bandwidth_counts_frame_bytes_without_the_header)
{
	/* 160 bytes: a 100-byte and a 60-byte frame pass, the next 60-byte one waits. */
	struct rate_limiter_cfg rx = {.bw = {.size = 160, .refill_ms = 60000}};
	uint32_t id, len;
	int n = 0;

	create(false, 0);
	cr_assert_eq(set_limiters(dev, &rx, NULL), 0);
	driver_up(FEAT);
	for (int i = 0; i < 3; i++)
		add_rx(rx_buf(2048), 2048);
	inject_frame(100, 1);
	inject_frame(60, 2);
	inject_frame(60, 3);
	rx_ready();
	while (used(RXV, &id, &len) == 1)
		n++;
	cr_expect_eq(n, 2);
	cr_expect_eq(stats().rx_bytes, 160);
}

/* PATCH /network-interfaces: only the buckets and directions named change; a waiting direction
 * whose limit a patch removes is served again. */
Test(virtio_net_throttle, a_patch_changes_only_what_it_names)
{
	struct rate_limiter_cfg rx = {.bw = {1000000, 0, 60000}, .ops = {7, 0, 60000}};
	struct rate_limiter_cfg tx = {.bw = {1000000, 0, 60000}, .ops = {2, 0, 60000}};
	struct rate_limiter_cfg rx_now, tx_now;
	struct rate_limiter_patch p_rx = {.cfg = {.bw = {5000, 0, 10}}, .has_bw = true};
	struct rate_limiter_patch p_tx = {.has_ops = true}; /* size 0: tx ops off */
	struct rate_limiter_patch none = {0};

	create(false, 0);
	cr_assert_eq(set_limiters(dev, &rx, &tx), 0);
	driver_up(FEAT);
	add_tx_frames(4);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(net_loopback_sent_count(be), 2, "the tx ops bucket holds 2 frames");

	cr_assert_eq(virtio_net_patch_rate_limiters(dev, &p_rx, &none, &rx_now, &tx_now), 0);
	cr_expect_eq(rx_now.bw.size, 5000);
	cr_expect_eq(rx_now.ops.size, 7, "rx ops not named: kept");
	cr_expect_eq(tx_now.ops.size, 2, "tx not named: kept");
	serve_pending();
	cr_expect_eq(net_loopback_sent_count(be), 2, "tx still waits");

	p_rx.cfg.bw.refill_ms = 0; /* refused: a size without a refill time */
	cr_assert_eq(virtio_net_patch_rate_limiters(dev, &p_rx, &p_tx, &rx_now, &tx_now), -EINVAL);
	cr_assert_eq(virtio_net_patch_rate_limiters(dev, NULL, &p_tx, &rx_now, &tx_now), 0);
	cr_expect_eq(rx_now.bw.size, 5000, "the refused patch changed nothing");
	cr_expect_eq(tx_now.ops.size, 0);
	cr_expect_eq(tx_now.bw.size, 1000000, "tx bandwidth not named: kept");
	serve_pending();
	cr_expect_eq(net_loopback_sent_count(be), 4, "tx ops removed: the waiting frames go");
}
