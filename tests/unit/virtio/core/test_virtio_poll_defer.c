/* Kicks deferred to the poll (virtio_dev_rearm_kicks(), virtio/core/poll.c): a serve loop that
 * drains a ring on a polling I/O thread leaves the driver's kicks off and the next window watches
 * the queue instead; a hit on one queue keeps the other queues' kicks off; a window that passes
 * in vain, a release before a pause and a thread that does not poll all want kicks again. Two
 * queues, EVENT_IDX: the mock driver decides about each kick as a real one would (2.7.10). */
#include <criterion/criterion.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "tests/unit/virtio/core/poll_fixture.h"
#include "virtio/core/device.h"
#include "virtio/core/poll.h"

#define QSIZE 16
#define MS    1000000ull
#define ALL   3u /* both queues */

static struct mock_ram ram;
static struct mock_vq mv[2];
static uint16_t kicked_idx[2]; /* the driver's avail index at its last kick decision */
static struct virtio_dev dev;
static int epfd, evfd;

static void attach(uint16_t q)
{
	dev.vqs[q].num = mv[q].size;
	dev.vqs[q].desc_addr = mv[q].desc;
	dev.vqs[q].driver_addr = mv[q].driver;
	dev.vqs[q].device_addr = mv[q].device;
	virtio_dev_set_queue_ready(&dev, q, true);
}

static void setup(void)
{
	const uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	dev = (struct virtio_dev){.name = "defer-test",
				  .num_queues = 2,
				  .queue_max_size = QSIZE,
				  .host_features = 1ull << VIRTIO_RING_F_EVENT_IDX,
				  .poll_max_ns = 2000 * MS,
				  .ops = &poll_test_ops};
	cr_assert_eq(virtio_dev_init(&dev, &ram.mem), 0);
	cr_assert_eq(mock_vq_init(&mv[0], &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	cr_assert_eq(mock_vq_init(&mv[1], &ram, QSIZE, false, MOCK_RAM_GPA + MOCK_RAM_SIZE / 2), 0);
	virtio_dev_set_status(&dev, st);
	virtio_dev_set_features(&dev, 0, 1u << VIRTIO_RING_F_EVENT_IDX);
	virtio_dev_set_features(&dev, 1, 1); /* VERSION_1 */
	virtio_dev_set_status(&dev, st | VIRTIO_CONFIG_S_FEATURES_OK);
	attach(0);
	attach(1);
	virtio_dev_set_status(&dev, st | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(&dev));
	kicked_idx[0] = kicked_idx[1] = 0;
	poll_fds_open(&epfd, &evfd);
}

static void teardown(void)
{
	poll_fds_close(epfd, evfd);
	virtio_dev_destroy(&dev);
	mock_vq_free(&mv[0]);
	mock_vq_free(&mv[1]);
	mock_ram_free(&ram);
}

TestSuite(defer, .init = setup, .fini = teardown);

/* The driver adds one buffer to queue q and says whether it would kick (2.7.10). */
static bool driver_adds(uint16_t q)
{
	struct mock_buf b = {mock_alloc(&mv[q], 16), 16, false};
	uint16_t idx = (uint16_t)(kicked_idx[q] + 1);
	bool kick;

	mock_split_add(&mv[q], &b, 1);
	kick = vring_need_event(mock_split_avail_event(&mv[q]), idx, kicked_idx[q]);
	kicked_idx[q] = idx;
	return kick;
}

/* What a serve loop does with queue q: pop what is there, then rearm at the empty ring. */
static int drain(uint16_t q)
{
	struct vq_chain c;
	int r;

	pthread_mutex_lock(&dev.lock);
	while ((r = vq_pop(&dev.vqs[q], dev.mem, &c)) > 0)
		vq_push(&dev.vqs[q], dev.mem, &c);
	if (r == 0)
		r = virtio_dev_rearm_kicks(&dev, &dev.vqs[q]);
	pthread_mutex_unlock(&dev.lock);
	return r;
}

static void *add_to_queue_1_later(void *arg)
{
	(void)arg;
	usleep(POLL_LATER_US);
	return (void *)(uintptr_t)driver_adds(1);
}

Test(defer, a_thread_without_a_poll_enables_kicks)
{
	cr_expect_eq(drain(0), 0);
	cr_expect(dev.vqs[0].kicks_enabled);
	cr_expect(driver_adds(0), "the driver kicks for its next buffer");
}

Test(defer, a_polling_thread_keeps_kicks_off_and_watches_the_queue)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	void *kick;

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(1), 0);
	cr_expect_not(dev.vqs[1].kicks_enabled, "left off for the poll");
	cr_expect_eq(p.deferred, 2u);
	cr_expect_eq(poll_while(&dev, &p, ALL, epfd, ev, add_to_queue_1_later, NULL, &kick), 0,
		     "queue work, no fd event");
	cr_expect_eq(dev.pending & 2u, 2u, "queue 1 found by the poll");
	cr_expect_not(kick, "the driver saw kicks off");
}

Test(defer, a_hit_keeps_the_other_queues_kicks_off)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	void *kick;

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(0), 0);
	cr_expect_eq(drain(1), 0);
	cr_expect_eq(poll_while(&dev, &p, ALL, epfd, ev, add_to_queue_1_later, NULL, &kick), 0);
	cr_expect_not(kick);
	cr_expect_eq(dev.pending, 2u);
	cr_expect_not(dev.vqs[0].kicks_enabled, "queue 0 stays with the poll");
	cr_expect_eq(p.deferred, 1u);
	cr_expect_not(driver_adds(0), "no kick while the thread serves queue 1");
	/* The next window finds queue 0's buffer at once. */
	dev.pending = 0;
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, ALL, epfd, ev, 4), 0);
	cr_expect_eq(dev.pending & 1u, 1u);
}

Test(defer, a_window_in_vain_wants_kicks_before_sleeping)
{
	struct virtio_poll p;
	struct epoll_event ev[4];

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = 1000; /* passes long before the fd event */
	cr_expect_eq(drain(0), 0);
	cr_expect_eq(poll_while(&dev, &p, ALL, epfd, ev, eventfd_later, &evfd, NULL), 1);
	cr_expect_eq(p.sleeps, 1);
	cr_expect(dev.vqs[0].kicks_enabled, "kicks wanted while asleep");
	cr_expect_eq(p.deferred, 0);
	cr_expect(driver_adds(0));
}

Test(defer, a_window_shrunk_to_nothing_still_enables_deferred_kicks)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	uint64_t one = 1;

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(0), 0);
	p.window_ns = 0; /* no window: the thread goes to sleep at once */
	cr_assert_eq(write(evfd, &one, sizeof(one)), sizeof(one));
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, ALL, epfd, ev, 4), 1);
	cr_expect(dev.vqs[0].kicks_enabled);
	cr_expect(driver_adds(0));
}

Test(defer, a_buffer_that_came_before_the_sleep_is_found)
{
	struct virtio_poll p;
	struct epoll_event ev[4];

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(0), 0);
	cr_expect_not(driver_adds(0));
	p.window_ns = 0;
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, ALL, epfd, ev, 4), 0,
		     "found when kicks come back on, not slept through");
	cr_expect_eq(dev.pending, 1u);
}

Test(defer, release_before_a_pause)
{
	struct virtio_poll p;

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(0), 0);
	cr_expect_eq(drain(1), 0);
	cr_expect_not(driver_adds(1));
	virtio_poll_release(&dev, &p, &dev.lock);
	cr_expect_eq(p.deferred, 0);
	cr_expect(dev.vqs[0].kicks_enabled);
	cr_expect(dev.vqs[1].kicks_enabled);
	cr_expect_eq(dev.pending, 2u, "queue 1's buffer is not lost");
	cr_expect(driver_adds(0));
}

Test(defer, queues_of_another_thread_and_a_buffer_meanwhile)
{
	struct virtio_poll p;

	virtio_poll_init(&p, &dev, ALL);
	p.queues = 1u; /* a thread that defers, serving queue 0 and others, not queue 1 */
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(1), 0);
	cr_expect(dev.vqs[1].kicks_enabled, "not this thread's queue: kicks on");
	cr_expect_eq(p.deferred, 0);
	/* A buffer already there when the ring is rearmed: serve on, nothing deferred (the device
	 * rearms again when it is done). */
	driver_adds(0);
	pthread_mutex_lock(&dev.lock);
	cr_expect_eq(virtio_dev_rearm_kicks(&dev, &dev.vqs[0]), 1);
	pthread_mutex_unlock(&dev.lock);
	cr_expect_eq(p.deferred, 0);
	cr_expect_not(dev.vqs[0].kicks_deferred);
}

/* A device that stops serving a queue on purpose after a deferral (no free request slot, a
 * throttled queue) disables its kicks: the poll must not take the queue's buffers for work it
 * would find again and again. */
Test(defer, a_queue_the_device_stalls_is_not_watched)
{
	struct virtio_poll p;
	struct epoll_event ev[4];

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = 50 * MS;
	cr_expect_eq(drain(0), 0);
	pthread_mutex_lock(&dev.lock);
	vq_disable_notify(&dev.vqs[0], dev.mem); /* the device stalls */
	pthread_mutex_unlock(&dev.lock);
	driver_adds(0);
	cr_expect_eq(poll_while(&dev, &p, ALL, epfd, ev, eventfd_later, &evfd, NULL), 1,
		     "the fd event");
	cr_expect_eq(dev.pending, 0, "the stalled queue is not work");
	cr_expect_not(dev.vqs[0].kicks_enabled, "left as the device set it");
}

Test(defer, a_reset_queue_is_left_as_the_reset_made_it)
{
	struct virtio_poll p;
	struct epoll_event ev[4];
	uint64_t one = 1;

	virtio_poll_init(&p, &dev, ALL);
	p.window_ns = 1000;
	cr_expect_eq(drain(0), 0);
	virtio_dev_set_status(&dev, 0); /* the driver resets the device */
	cr_assert_eq(write(evfd, &one, sizeof(one)), sizeof(one));
	cr_expect_eq(virtio_poll_wait(&dev, &p, &dev.lock, ALL, epfd, ev, 4), 1);
	cr_expect_eq(dev.pending, 0);
	cr_expect_eq(p.deferred, 0);
}

/* A thread with one queue has nothing to serve between the rearm and its window: no kick to
 * save, so it does not defer (virtio_poll_init()). */
Test(defer, a_thread_with_one_queue_does_not_defer)
{
	struct virtio_poll p;

	virtio_poll_init(&p, &dev, 1u);
	p.window_ns = p.max_ns;
	cr_expect_eq(drain(0), 0);
	cr_expect(dev.vqs[0].kicks_enabled);
	cr_expect_not(dev.vqs[0].kicks_deferred);
	cr_expect_eq(p.deferred, 0);
}
