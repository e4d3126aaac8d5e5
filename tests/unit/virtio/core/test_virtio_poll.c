/* Adaptive polling of an I/O thread (virtio/core/poll.c): the window's growth and shrinking, and
 * the poll itself against a mock driver: a buffer added during the window is found without a
 * kick (the driver sees kicks suppressed, EVENT_IDX included), an fd event ends the window (the
 * queue stays watched for the next one), and a window that passes in vain wants kicks again
 * before the thread sleeps. */
#include <criterion/criterion.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/mock_driver/mock_driver.h"
#include "tests/unit/virtio/core/poll_fixture.h"
#include "virtio/core/device.h"
#include "virtio/core/poll.h"
#include "virtio/core/poll_test.h"

#define QSIZE 16
#define MS    1000000ull

static struct mock_ram ram;
static struct mock_vq mv;
static struct virtio_dev dev;
static int epfd, evfd;

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	dev = (struct virtio_dev){.name = "poll-test",
				  .num_queues = 1,
				  .queue_max_size = QSIZE,
				  .host_features = 1ull << VIRTIO_RING_F_EVENT_IDX,
				  .ops = &poll_test_ops};
	cr_assert_eq(virtio_dev_init(&dev, &ram.mem), 0);
	cr_assert_eq(mock_vq_init(&mv, &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	virtio_dev_set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(&dev, 0, 1u << VIRTIO_RING_F_EVENT_IDX);
	virtio_dev_set_features(&dev, 1, 1); /* VERSION_1 */
	virtio_dev_set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					VIRTIO_CONFIG_S_FEATURES_OK);
	dev.vqs[0].num = mv.size;
	dev.vqs[0].desc_addr = mv.desc;
	dev.vqs[0].driver_addr = mv.driver;
	dev.vqs[0].device_addr = mv.device;
	virtio_dev_set_queue_ready(&dev, 0, true);
	virtio_dev_set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(&dev));
	cr_assert(dev.vqs[0].event_idx);
	cr_assert_eq(vq_enable_notify(&dev.vqs[0], dev.mem), 0); /* waiting for a kick */
	poll_fds_open(&epfd, &evfd);
}

static void teardown(void)
{
	poll_fds_close(epfd, evfd);
	virtio_dev_destroy(&dev);
	mock_vq_free(&mv);
	mock_ram_free(&ram);
}

/* ---- the window ---- */

Test(poll_adapt, grows_from_nothing_when_events_come_soon)
{
	uint64_t max = 32000;
	uint64_t w = virtio_poll_adapt(0, max, 10000);

	cr_expect_eq(w, POLL_GROW_BASE_NS);
	w = virtio_poll_adapt(w, max, 5000);
	cr_expect_eq(w, 2 * POLL_GROW_BASE_NS);
	for (int i = 0; i < 10; i++)
		w = virtio_poll_adapt(w, max, 1000);
	cr_expect_eq(w, max, "capped at the maximum");
}

Test(poll_adapt, shrinks_to_off_when_sleeps_are_long)
{
	uint64_t w = 32000;
	int steps = 0;

	while (w && steps < 100) {
		w = virtio_poll_adapt(w, 32000, 10 * MS);
		steps++;
	}
	cr_expect_eq(w, 0);
	cr_expect_leq(steps, 6, "halving, then off below 1 us");
	cr_expect_eq(virtio_poll_adapt(0, 32000, 10 * MS), 0, "stays off on an idle device");
}

Test(poll_adapt, off_when_no_maximum)
{
	cr_expect_eq(virtio_poll_adapt(0, 0, 100), 0);
	cr_expect_eq(virtio_poll_adapt(8000, 0, 100), 0);
}

/* ---- the poll ---- */

static void *add_later(void *arg)
{
	(void)arg;
	usleep(POLL_LATER_US);
	uint16_t kicked_idx = 0;
	struct mock_buf b = {mock_alloc(&mv, 16), 16, false};
	mock_split_add(&mv, &b, 1);
	/* What a driver decides after adding index 0 (2.7.10): kick or not. */
	uintptr_t kick = vring_need_event(mock_split_avail_event(&mv), 1, kicked_idx);
	return (void *)kick;
}

TestSuite(poll, .init = setup, .fini = teardown);

Test(poll, finds_a_buffer_without_a_kick)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	void *kick;

	dev.poll_max_ns = 2000 * MS; /* long enough for any loaded machine */
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = p.max_ns;
	cr_expect_eq(poll_while(&dev, &p, UINT32_MAX, epfd, ev, add_later, NULL, &kick), 0,
		     "queue work, no fd event");
	cr_expect_eq(dev.pending, 1u, "queue 0 marked pending");
	cr_expect_not(kick, "the driver saw kicks suppressed");
	cr_expect_eq(p.hits, 1);
	cr_expect_eq(p.sleeps, 0);
}

Test(poll, an_fd_event_ends_the_window_and_kicks_are_wanted_before_sleeping)
{
	struct virtio_poll p;
	struct epoll_event ev[4];

	dev.poll_max_ns = 2000 * MS;
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = p.max_ns;
	cr_expect_eq(poll_while(&dev, &p, UINT32_MAX, epfd, ev, eventfd_later, &evfd, NULL), 1);
	cr_expect_eq(ev[0].data.u32, POLL_FD_TAG);
	cr_expect_eq(dev.pending, 0);
	/* The thread serves the event and polls again: the queue stays watched meanwhile. */
	cr_expect_not(dev.vqs[0].kicks_enabled, "kicks still off");
	cr_expect_eq(p.deferred, 1u, "the queue stays with the poll");
	/* The next window passes in vain: kicks on before the thread sleeps. */
	uint64_t count;
	cr_assert_eq(read(evfd, &count, sizeof(count)), sizeof(count));
	p.window_ns = 1000;
	cr_expect_eq(poll_while(&dev, &p, UINT32_MAX, epfd, ev, eventfd_later, &evfd, NULL), 1);
	cr_expect(dev.vqs[0].kicks_enabled, "watched in vain: kicks wanted again");
	cr_expect_eq(mock_split_avail_event(&mv), 0, "avail_event at the next index");
}

Test(poll, a_vain_window_sleeps_then_adapts)
{
	struct virtio_poll p;
	struct epoll_event ev[4];

	dev.poll_max_ns = 50000; /* 50 us: the 20 ms wait is long, the window shrinks */
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = 40000;
	cr_expect_eq(poll_while(&dev, &p, UINT32_MAX, epfd, ev, eventfd_later, &evfd, NULL), 1);
	cr_expect_eq(p.sleeps, 1);
	cr_expect_eq(p.window_ns, 20000, "halved after a long sleep");
	cr_expect(dev.vqs[0].kicks_enabled, "kicks wanted while asleep");
}

Test(poll, unwatched_queues_and_off)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	uint64_t one = 1;

	/* Off: straight to epoll_wait(). */
	dev.poll_max_ns = 0;
	virtio_poll_init(&p, &dev, UINT32_MAX);
	cr_assert_eq(write(evfd, &one, sizeof(one)), sizeof(one));
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, UINT32_MAX, epfd, ev, 4), 1);
	cr_expect_eq(p.polls + p.sleeps, 0);
	cr_assert_eq(read(evfd, &one, sizeof(one)), sizeof(one));

	/* A queue the device does not wait on (kicks disabled by the device, like net rx with
	 * buffers to spare) is not work when a buffer appears. */
	cr_assert_eq(vq_disable_notify(&dev.vqs[0], dev.mem), 0);
	struct mock_buf b = {mock_alloc(&mv, 16), 16, false};
	mock_split_add(&mv, &b, 1);
	dev.poll_max_ns = 1 * MS;
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = 1 * MS;
	cr_assert_eq(write(evfd, &one, sizeof(one)), sizeof(one));
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, UINT32_MAX, epfd, ev, 4), 1);
	cr_expect_eq(dev.pending, 0);
	cr_expect_not(dev.vqs[0].kicks_enabled, "left as the device set it");
}

/* ---- the guest's clock (virtio_dev guest_cpu_ns) ---- */

static uint64_t stopped_guest(const void *ctx)
{
	(void)ctx;
	return 1234; /* the vCPUs do not run */
}

static uint64_t running_guest(const void *ctx)
{
	static uint64_t ran;

	(void)ctx;
	/* vCPUs that ran a second between any two looks: more than any span of these tests, also
	 * when this thread loses its CPU between its reads (a loaded host, qemu-user) */
	return ran += 1000 * MS;
}

/* Thread body: once the window of *cut_poll has been cut (or after 10 s; the test then fails, not
 * hangs), one count on the eventfd: the event comes while the thread sleeps, however late the
 * cut came on a loaded host. */
static struct virtio_poll *cut_poll;

static void *eventfd_after_cut(void *fdp)
{
	uint64_t one = 1, t0 = mono_ns();

	while (!__atomic_load_n(&cut_poll->cuts, __ATOMIC_ACQUIRE) && mono_ns() - t0 < 10000 * MS)
		usleep(1000);
	if (write(*(const int *)fdp, &one, sizeof(one)) < 0)
		return NULL;
	return NULL;
}

Test(poll, a_window_the_guest_does_not_run_in_is_cut_and_halves)
{
	struct virtio_poll p;
	struct epoll_event ev[4];

	dev.poll_max_ns = 2000 * MS; /* it would outlast the event */
	dev.guest_cpu_ns = stopped_guest;
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = p.max_ns;
	cut_poll = &p;
	cr_expect_eq(poll_while(&dev, &p, UINT32_MAX, epfd, ev, eventfd_after_cut, &evfd, NULL), 1);
	cr_expect_eq(p.cuts, 1, "cut at its second look at the guest's clock");
	cr_expect_eq(p.sleeps, 1, "then slept until the event");
	cr_expect_eq(p.hits, 0);
	cr_expect_eq(p.window_ns, 1000 * MS, "halved, although the event came soon");
	cr_expect(dev.vqs[0].kicks_enabled, "kicks wanted while asleep");
}

Test(poll, a_running_guest_keeps_its_window)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	void *kick;

	dev.poll_max_ns = 2000 * MS;
	dev.guest_cpu_ns = running_guest;
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = p.max_ns;
	cr_expect_eq(poll_while(&dev, &p, UINT32_MAX, epfd, ev, add_later, NULL, &kick), 0);
	cr_expect_eq(p.cuts, 0);
	cr_expect_eq(p.hits, 1, "the buffer found by the window");
	cr_expect_eq(dev.pending, 1u);
	cr_expect_not(kick, "the driver saw kicks suppressed");
}

static unsigned clock_reads;

static uint64_t counted_guest(const void *ctx)
{
	(void)ctx;
	clock_reads++;
	return mono_ns();
}

Test(poll, a_short_window_does_not_read_the_guests_clock)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	uint64_t one = 1;

	dev.poll_max_ns = 2000 * MS;
	dev.guest_cpu_ns = counted_guest;
	clock_reads = 0;
	virtio_poll_init(&p, &dev, UINT32_MAX);
	p.window_ns = p.max_ns;
	cr_assert_eq(write(evfd, &one, sizeof(one)), (ssize_t)sizeof(one)); /* ready at once */
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, UINT32_MAX, epfd, ev, 4), 1);
	cr_expect_eq(p.hits, 1);
	cr_expect_eq(clock_reads, 0,
		     "a window that ends within POLL_GUEST_LOOK_NS costs no read "
		     "(a system call that locks the vCPU's run queue)");
}
