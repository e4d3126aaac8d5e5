/* The bounded frame FIFO with its "not empty" eventfd (virtio/net/frame_queue.h), and the
 * loopback backend built on it (tests/mock_driver/net_loopback.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>

#include "tests/mock_driver/net_loopback.h"
#include "virtio/net/frame_queue.h"

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

Test(net_frame_queue, fifo_order_bound_and_readiness)
{
	struct net_frame_queue q;
	uint8_t buf[16];

	cr_assert_eq(net_frame_queue_init(&q, 2), 0);
	cr_expect_not(readable(q.event_fd));
	cr_expect_eq(net_frame_queue_pop(&q, buf, sizeof(buf)), -EAGAIN);
	cr_expect_eq(net_frame_queue_push(&q, "abc", 3), 0);
	cr_expect(readable(q.event_fd));
	cr_expect_eq(net_frame_queue_push(&q, "defgh", 5), 0);
	cr_expect_eq(net_frame_queue_push(&q, "x", 1), -ENOBUFS);
	cr_expect_eq(q.dropped, 1);
	cr_expect_eq(net_frame_queue_pop(&q, buf, sizeof(buf)), 3);
	cr_expect_arr_eq(buf, "abc", 3);
	cr_expect(readable(q.event_fd), "still one frame");
	cr_expect_eq(net_frame_queue_pop(&q, buf, 4), -EMSGSIZE);
	cr_expect_not(readable(q.event_fd));
	cr_expect_eq(q.count, 0);
	net_frame_queue_free(&q);
}

Test(net_frame_queue, loopback_records_and_delivers)
{
	struct net_backend *be;
	struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
	uint8_t buf[8];
	size_t len;
	unsigned calls;

	cr_assert_eq(net_loopback_create(&be, true, TUN_F_CSUM), 0);
	cr_expect(be->vnet_hdr);
	cr_expect_eq(be->offload_caps, TUN_F_CSUM);
	cr_expect_eq(be->ops->send(be, iov, 2), 0);
	cr_assert_eq(net_loopback_sent_count(be), 1);
	cr_expect_arr_eq(net_loopback_sent(be, 0, &len), "abcde", 5);
	cr_expect_eq(len, 5);
	net_loopback_fail_send(be, -EIO);
	cr_expect_eq(be->ops->send(be, iov, 2), -EIO);
	cr_expect_eq(net_loopback_inject(be, "xyz", 3), 0);
	cr_expect(readable(be->rx_fd));
	cr_expect_eq(be->ops->recv(be, buf, sizeof(buf)), 3);
	cr_expect_eq(be->ops->recv(be, buf, sizeof(buf)), -EAGAIN);
	cr_expect_eq(be->ops->set_offloads(be, TUN_F_CSUM), 0);
	cr_expect_eq(net_loopback_offloads(be, &calls), TUN_F_CSUM);
	cr_expect_eq(calls, 1);
	net_backend_destroy(be);
}
