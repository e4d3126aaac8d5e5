/* virtio-net receive with a backend that reads frames in batches (backend.h recv_batch, the
 * tap's io_uring path): frames read ahead wait in the device in order, none is lost or
 * reordered when guest buffers run out, a reset drops them (counted), the budget hands leftovers
 * to the next pass, and the batch size adapts. */
#include "tests/unit/virtio/net/virtio_net_fixture.h"

TestSuite(virtio_net_rx_batch, .fini = teardown);

/* A device over a batching loopback with vnet headers, the driver up without offloads. */
static void batch_up(void)
{
	create(true, 0);
	cr_assert_eq(net_loopback_set_batch(be, true), 0);
	driver_up(FEAT);
}

/* Queues header + recognisable frame, as the tap returns them. */
static void inject_numbered(size_t len, uint8_t seed)
{
	static uint8_t buf[HDR + 2048];

	memset(buf, 0, HDR);
	memcpy(buf + HDR, make_frame(len, seed), len);
	inject(buf, HDR + len);
}

static uint64_t post_rx(void)
{
	uint64_t a = rx_buf(1526);

	cr_assert_geq(add_rx(a, 1526), 0);
	return a;
}

/* The next used buffer holds the frame of `len` bytes numbered `seed`. */
static void expect_next(uint64_t a, size_t len, uint8_t seed)
{
	uint32_t id, ulen;

	cr_assert_eq(used(RXV, &id, &ulen), 1, "frame %u not delivered", seed);
	cr_expect_eq(ulen, HDR + len);
	cr_expect_eq(memcmp(mock_ram_host(&ram, a + HDR), make_frame(len, seed), len), 0,
		     "frame %u out of order or damaged", seed);
}

Test(virtio_net_rx_batch, a_burst_arrives_in_order_with_fewer_reads)
{
	uint64_t a[40];
	unsigned last_n;

	batch_up();
	for (int i = 0; i < 40; i++)
		a[i] = post_rx();
	for (int i = 0; i < 40; i++)
		inject_numbered(60 + (size_t)i, (uint8_t)i);
	rx_ready();
	for (int i = 0; i < 40; i++)
		expect_next(a[i], 60 + (size_t)i, (uint8_t)i);
	/* asked 1, 2, 4, 8, 16 (NET_RX_BATCH_MAX), 16 (9 came), then 10 (none): 7 reads, not 41 */
	cr_expect_eq(net_loopback_batch_calls(be, &last_n), 7);
	cr_expect_eq(last_n, 10u);
	cr_expect_eq(stats().rx_frames, 40);
	cr_expect_eq(irqs[VIRTIO_NET_RXQ], 1, "one interrupt for the burst");
}

Test(virtio_net_rx_batch, frames_read_ahead_wait_for_buffers)
{
	uint64_t a[10];

	batch_up();
	a[0] = post_rx();
	a[1] = post_rx();
	for (int i = 0; i < 10; i++)
		inject_numbered(100, (uint8_t)i);
	rx_ready(); /* reads 1, then 2: frame 2 waits, staged, with no buffer */
	expect_next(a[0], 100, 0);
	expect_next(a[1], 100, 1);
	cr_expect_eq(rx_handler()->events, EPOLLONESHOT, "no reading while a frame waits");
	for (int i = 2; i < 10; i++)
		a[i] = post_rx();
	kick(VIRTIO_NET_RXQ);
	for (int i = 2; i < 10; i++)
		expect_next(a[i], 100, (uint8_t)i);
	cr_expect_eq(stats().rx_dropped, 0);
	cr_expect_eq(stats().rx_frames, 10);
}

Test(virtio_net_rx_batch, a_reset_drops_frames_read_ahead)
{
	uint32_t id, len;

	batch_up();
	post_rx();
	for (int i = 0; i < 4; i++)
		inject_numbered(80, (uint8_t)i);
	rx_ready(); /* frame 0 delivered; the batch of 2 leaves frame 2 read ahead, 1 staged */
	cr_assert_eq(used(RXV, &id, &len), 1);
	set_status(0);
	cr_expect_eq(stats().rx_dropped, 2, "the staged frame and the one read ahead");
	driver_up(FEAT);
	uint64_t a = post_rx();
	kick(VIRTIO_NET_RXQ);
	rx_ready();
	expect_next(a, 80, 3); /* frame 3 was still in the backend */
}

Test(virtio_net_rx_batch, bad_frames_in_a_batch_are_dropped_alone)
{
	uint64_t a[3];
	uint8_t runt[HDR + 10] = {0};

	batch_up();
	for (int i = 0; i < 3; i++)
		a[i] = post_rx();
	inject_numbered(60, 0);
	inject(runt, sizeof(runt));
	inject_numbered(61, 1);
	inject_numbered(62, 2);
	rx_ready();
	expect_next(a[0], 60, 0);
	expect_next(a[1], 61, 1);
	expect_next(a[2], 62, 2);
	cr_expect_eq(stats().rx_errors, 1, "the runt");
}

Test(virtio_net_rx_batch, budget_leftovers_come_back_on_the_next_pass)
{
	uint8_t runt[HDR + 10] = {0};
	uint64_t a[20];

	batch_up();
	for (int i = 0; i < 20; i++)
		a[i] = post_rx();
	for (int i = 0; i < 250; i++) /* 250 of the 256 steps go to runts */
		inject(runt, sizeof(runt));
	for (int i = 0; i < 20; i++)
		inject_numbered(70, (uint8_t)i);
	rx_ready();
	pthread_mutex_lock(&dev->lock);
	cr_expect_neq(dev->pending & (1u << VIRTIO_NET_RXQ), 0, "leftovers rescheduled");
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	rx_ready(); /* what the backend still had */
	for (int i = 0; i < 20; i++)
		expect_next(a[i], 70, (uint8_t)i);
}

Test(virtio_net_rx_batch, a_failing_backend_stops_receiving)
{
	batch_up();
	post_rx();
	inject_numbered(60, 0);
	net_loopback_fail_batch(be, -EIO);
	rx_ready();
	cr_expect_eq(stats().rx_errors, 1);
	cr_expect_eq(rx_handler()->events, EPOLLONESHOT, "a broken backend is not watched");
}

Test(virtio_net_rx_batch, the_batch_shrinks_to_what_comes)
{
	unsigned last_n;

	batch_up();
	for (int i = 0; i < 40; i++)
		post_rx();
	for (int i = 0; i < 12; i++)
		inject_numbered(60, (uint8_t)i);
	rx_ready(); /* asks 1, 2, 4, 8 (5 came), then 6 (5 plus one; none came) */
	cr_expect_eq(net_loopback_batch_calls(be, &last_n), 5);
	cr_expect_eq(last_n, 6u);
	inject_numbered(60, 99);
	rx_ready(); /* an empty read started over: asks 1, then 2 */
	cr_expect_eq(net_loopback_batch_calls(be, &last_n), 7);
	cr_expect_eq(last_n, 2u);
	cr_expect_eq(stats().rx_frames, 13);
}
