/* The tap's batched receive (virtio/net/tap_rx.c) where the kernel refuses non-blocking io_uring
 * reads of the tap, as Linux 6.1 does (-EOPNOTSUPP): the reader falls back to read() for good
 * and no frame is lost. A SOCK_SEQPACKET socket stands in for the tap (one frame per read). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/net/tap_rx_test.h"

#ifndef HAVE_LIBURING
Test(virtio_net_tap_rx, needs_liburing)
{
	cr_skip_test("SKIP: built without liburing: the tap reads frame by frame");
}
#else

static int sv[2] = {-1, -1};
static struct tap_rx *rx;

static void setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	int r = tap_rx_init(&rx, sv[1], "test0");

	if (r < 0)
		cr_skip_test("SKIP: no io_uring here: %s", strerror(-r));
}

static void teardown(void)
{
	tap_rx_test_fail_nowait(0);
	tap_rx_destroy(rx);
	rx = NULL;
	close(sv[0]);
	close(sv[1]);
}

TestSuite(virtio_net_tap_rx, .init = setup, .fini = teardown);

/* Frame i is 60 + i bytes of the value i. */
static void send_frames(unsigned first, unsigned count)
{
	for (unsigned i = first; i < first + count; i++) {
		unsigned char buf[128];

		memset(buf, (int)i, 60 + i);
		cr_assert_eq(write(sv[0], buf, 60 + i), (ssize_t)(60 + i));
	}
}

static void expect_frames(const struct net_rx_frame *f, int got, unsigned first, unsigned count)
{
	cr_assert_eq(got, (int)count, "got %d frames, want %u", got, count);
	for (unsigned k = 0; k < count; k++) {
		unsigned i = first + k;
		const unsigned char *p = f[k].data;

		cr_assert_eq(f[k].len, (ssize_t)(60 + i), "frame %u: length %zd", i, f[k].len);
		cr_expect(p[0] == i && p[59 + i] == i, "frame %u out of order or damaged", i);
	}
}

Test(virtio_net_tap_rx, frames_arrive_through_the_ring)
{
	struct net_rx_frame f[NET_RX_BATCH_MAX];

	send_frames(0, 3);
	int r = tap_rx_batch(rx, f, NET_RX_BATCH_MAX);

	expect_frames(f, r, 0, 3);
	r = tap_rx_batch(rx, f, 4);
	cr_expect_eq(r, 0, "empty: %d", r);
}

Test(virtio_net_tap_rx, a_refused_nowait_read_falls_back_to_read_for_good)
{
	struct net_rx_frame f[NET_RX_BATCH_MAX];

	tap_rx_test_fail_nowait(EOPNOTSUPP);
	send_frames(0, 3);
	expect_frames(f, tap_rx_batch(rx, f, NET_RX_BATCH_MAX), 0, 3);
	cr_expect_eq(tap_rx_batch(rx, f, 4), 0, "an empty tap is not an error");
	/* more than one batch waiting: n at a time, in order */
	send_frames(3, 5);
	expect_frames(f, tap_rx_batch(rx, f, 2), 3, 2);
	expect_frames(f, tap_rx_batch(rx, f, 8), 5, 3);
	/* the ring is not asked again even once it would work */
	tap_rx_test_fail_nowait(0);
	send_frames(8, 1);
	expect_frames(f, tap_rx_batch(rx, f, 1), 8, 1);
}

Test(virtio_net_tap_rx, an_unsupported_flag_falls_back_too)
{
	struct net_rx_frame f[NET_RX_BATCH_MAX];

	tap_rx_test_fail_nowait(EINVAL);
	cr_expect_eq(tap_rx_batch(rx, f, 4), 0);
	send_frames(0, 2);
	expect_frames(f, tap_rx_batch(rx, f, 4), 0, 2);
}

Test(virtio_net_tap_rx, other_errors_still_count)
{
	struct net_rx_frame f[NET_RX_BATCH_MAX];

	tap_rx_test_fail_nowait(EIO);
	send_frames(0, 1);
	cr_expect_eq(tap_rx_batch(rx, f, 4), -EIO);
	tap_rx_test_fail_nowait(0);
	expect_frames(f, tap_rx_batch(rx, f, 4), 0, 1); /* nothing was consumed */
}
#endif
