/* The shared serve loop (virtio/core/serve.c) and the pending-queue pass
 * (virtio_dev_process_pending) driven by a mock driver through a tiny device whose chain handler
 * the test controls: a spent budget reschedules the queue and loses nothing, a handler that waits
 * gives the chain back, a chain error fails the device. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/core/device.h"
#include "virtio/core/serve.h"

#define QSIZE 16

static struct mock_ram ram;
static struct mock_vq mv;
static struct virtio_dev dev;
static struct vq_chain chain;
static struct virtio_server server;
static int verdict;	 /* what the handler returns */
static unsigned busy_us; /* the handler takes this long per chain */
static unsigned hold_at; /* this call (1-based) waits until a pause has been asked for */
static atomic_bool in_handler;
static atomic_uint handled; /* handler calls */
static unsigned notifies;   /* queue_notify calls */
static enum virtio_serve_result last;

static int handle(struct virtio_dev *d, struct vq_chain *c, void *opaque, uint64_t *bytes)
{
	(void)opaque;
	atomic_store(&in_handler, true);
	handled++;
	*bytes += vq_chain_readable(c);
	if (busy_us)
		usleep(busy_us);
	/* Mid-work, deterministically: wait (bounded) until the pauser has asked. */
	for (int i = 0; handled == hold_at && i < 10000 && !atomic_load(&d->paused); i++)
		usleep(1000);
	atomic_store(&in_handler, false);
	return verdict;
}

static void notify(struct virtio_dev *d, uint16_t q)
{
	notifies++;
	last = virtio_serve_queue(d, q, &server);
}

static const struct virtio_dev_ops ops = {.queue_notify = notify};

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	dev = (struct virtio_dev){
	    .name = "serve-test", .num_queues = 1, .queue_max_size = QSIZE, .ops = &ops};
	cr_assert_eq(virtio_dev_init(&dev, &ram.mem), 0);
	cr_assert_eq(mock_vq_init(&mv, &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	server = (struct virtio_server){.chain = &chain, .max_chains = 4, .handle = handle};
	verdict = VIRTIO_CHAIN_PUSH;
	handled = notifies = 0;
	busy_us = hold_at = 0;
	virtio_dev_set_status(&dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
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
}

static void teardown(void)
{
	virtio_dev_destroy(&dev);
	mock_vq_free(&mv);
	mock_ram_free(&ram);
}

TestSuite(virtio_serve, .init = setup, .fini = teardown);

static void add_chains(int n, uint32_t len)
{
	for (int i = 0; i < n; i++) {
		struct mock_buf b = {mock_alloc(&mv, len), len, false};
		cr_assert_geq(mock_split_add(&mv, &b, 1), 0);
	}
}

Test(virtio_serve, kick_is_served_only_by_process_pending)
{
	add_chains(1, 8);
	virtio_dev_kick(&dev, 0);
	cr_assert_eq(notifies, 0, "a kick marks the queue; it does not serve it inline");
	cr_assert_not(virtio_dev_process_pending(&dev));
	cr_assert_eq(notifies, 1);
	cr_assert_eq(mock_split_used_idx(&mv), 1);
	cr_assert_eq(last, VIRTIO_SERVE_IDLE);
	cr_assert_not(virtio_dev_process_pending(&dev));
	cr_assert_eq(notifies, 1, "nothing pending: nothing served");
}

Test(virtio_serve, chain_budget_reschedules_and_loses_nothing)
{
	add_chains(10, 8);
	virtio_dev_kick(&dev, 0);
	cr_assert(virtio_dev_process_pending(&dev), "work is left over");
	cr_assert_eq(last, VIRTIO_SERVE_YIELDED);
	cr_assert_eq(mock_split_used_idx(&mv), 4);
	cr_assert(virtio_dev_process_pending(&dev));
	cr_assert_eq(mock_split_used_idx(&mv), 8);
	cr_assert_not(virtio_dev_process_pending(&dev), "done, without another kick");
	cr_assert_eq(mock_split_used_idx(&mv), 10);
	cr_assert_eq(handled, 10);
}

Test(virtio_serve, byte_budget_reschedules)
{
	server.max_chains = 100;
	server.max_bytes = 100;
	add_chains(6, 40);
	virtio_dev_kick(&dev, 0);
	cr_assert(virtio_dev_process_pending(&dev));
	cr_assert_eq(mock_split_used_idx(&mv), 3, "stops once 100 bytes are reached");
	cr_assert(virtio_dev_process_pending(&dev));
	cr_assert_eq(mock_split_used_idx(&mv), 6);
	cr_assert_not(virtio_dev_process_pending(&dev));
}

Test(virtio_serve, wait_gives_the_chain_back)
{
	add_chains(2, 8);
	verdict = VIRTIO_CHAIN_WAIT;
	virtio_dev_kick(&dev, 0);
	cr_assert_not(virtio_dev_process_pending(&dev), "waiting is not rescheduling");
	cr_assert_eq(last, VIRTIO_SERVE_WAITING);
	cr_assert_eq(mock_split_used_idx(&mv), 0);
	verdict = VIRTIO_CHAIN_PUSH;
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(mock_split_used_idx(&mv), 2, "the chain given back is served later");
	cr_assert_eq(handled, 3);
}

Test(virtio_serve, handler_error_fails_the_device)
{
	add_chains(2, 8);
	verdict = -EFAULT;
	virtio_dev_kick(&dev, 0);
	cr_assert_not(virtio_dev_process_pending(&dev));
	cr_assert_eq(last, VIRTIO_SERVE_FAILED);
	cr_assert(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(mock_split_used_idx(&mv), 0);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(handled, 1, "a failed device is not served again");
}

Test(virtio_serve, broken_ring_fails_the_device)
{
	mock_split_set_avail_idx(&mv, QSIZE + 3);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(last, VIRTIO_SERVE_FAILED);
	cr_assert(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(handled, 0);
}

Test(virtio_serve, reset_forgets_pending_work)
{
	add_chains(10, 8);
	virtio_dev_kick(&dev, 0);
	cr_assert(virtio_dev_process_pending(&dev));
	virtio_dev_set_status(&dev, 0);
	cr_assert_eq(dev.pending, 0);
	cr_assert_not(virtio_dev_process_pending(&dev));
	cr_assert_eq(notifies, 1);
}

/* ---- pause and resume, with the I/O thread running ---- */

static uint16_t used_idx_locked(void)
{
	pthread_mutex_lock(&dev.lock);
	uint16_t v = mock_split_used_idx(&mv);
	pthread_mutex_unlock(&dev.lock);
	return v;
}

static void kick_locked(void)
{
	pthread_mutex_lock(&dev.lock);
	virtio_dev_kick(&dev, 0);
	pthread_mutex_unlock(&dev.lock);
}

static bool wait_used(uint16_t want)
{
	for (int i = 0; i < 5000; i++) {
		if (used_idx_locked() == want)
			return true;
		usleep(1000);
	}
	return false;
}

Test(virtio_serve, pause_while_busy_parks_at_a_safe_point)
{
	server.max_chains = 2;
	hold_at = 2; /* the second chain is in its handler when the pause is asked for */
	add_chains(8, 8);
	cr_assert_eq(virtio_dev_start(&dev), 0);
	kick_locked();
	while (handled < hold_at)
		usleep(1000);
	virtio_dev_pause(&dev);
	cr_assert_not(atomic_load(&in_handler), "parked inside a callback");
	uint16_t at_pause = used_idx_locked();
	cr_assert_eq(at_pause, 2, "the pass in progress ends at its budget, then the device parks");
	usleep(100000);
	cr_assert_eq(used_idx_locked(), at_pause, "no used-ring write while paused");
	virtio_dev_resume(&dev);
	cr_assert(wait_used(8), "the rest is served after the resume");
}

Test(virtio_serve, kicks_during_pause_are_served_after_resume)
{
	cr_assert_eq(virtio_dev_start(&dev), 0);
	virtio_dev_pause(&dev);
	virtio_dev_pause(&dev); /* idempotent */
	pthread_mutex_lock(&dev.lock);
	add_chains(3, 8);
	pthread_mutex_unlock(&dev.lock);
	kick_locked();
	usleep(50000);
	cr_assert_eq(used_idx_locked(), 0, "nothing served while paused");
	cr_assert_eq(handled, 0);
	virtio_dev_resume(&dev);
	cr_assert(wait_used(3));
}

Test(virtio_serve, pause_without_io_thread_holds_process_pending)
{
	add_chains(2, 8);
	virtio_dev_pause(&dev);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(mock_split_used_idx(&mv), 0);
	virtio_dev_resume(&dev);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(mock_split_used_idx(&mv), 2);
}

Test(virtio_serve, destroy_while_paused_does_not_hang)
{
	cr_assert_eq(virtio_dev_start(&dev), 0);
	virtio_dev_pause(&dev);
	/* teardown destroys the device */
}

/* ---- per-device counters (struct virtio_dev_counters) ---- */

static struct virtio_dev_counters_snapshot counters(void)
{
	struct virtio_dev_counters_snapshot c;
	virtio_dev_counters_read(&dev, &c);
	return c;
}

Test(virtio_serve, counters_count_kicks_requests_bytes_and_interrupts)
{
	cr_assert_eq(counters().requests, 0);
	add_chains(3, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	struct virtio_dev_counters_snapshot c = counters();
	cr_assert_eq(c.kicks, 2);
	cr_assert_eq(c.requests, 3);
	cr_assert_eq(c.bytes, 24, "the bytes handle() reported");
	cr_assert_eq(c.interrupts, 1, "one used-buffer interrupt per pass");
	cr_assert_eq(c.errors, 0);
	cr_assert_eq(c.stalls, 0);
}

Test(virtio_serve, counters_count_budget_yields_and_waits_as_stalls)
{
	add_chains(6, 8); /* budget 4: one yield */
	virtio_dev_kick(&dev, 0);
	while (virtio_dev_process_pending(&dev))
		;
	cr_assert_eq(counters().stalls, 1);
	cr_assert_eq(counters().requests, 6);
	verdict = VIRTIO_CHAIN_WAIT;
	add_chains(1, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(counters().stalls, 2, "a chain given back is a stall");
	cr_assert_eq(counters().requests, 6, "and no request");
	cr_assert_eq(counters().bytes, 48, "its bytes are counted when it is served");
}

Test(virtio_serve, counters_count_a_failure_once_with_its_interrupt)
{
	add_chains(2, 8);
	verdict = -EFAULT;
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	virtio_dev_fail(&dev, "again"); /* already failed: not counted twice */
	struct virtio_dev_counters_snapshot c = counters();
	cr_assert_eq(c.errors, 1);
	cr_assert_eq(c.requests, 0);
	cr_assert_eq(c.interrupts, 1, "the config interrupt of NEEDS_RESET");
}

Test(virtio_serve, counters_survive_a_driver_reset)
{
	add_chains(1, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	virtio_dev_set_status(&dev, 0);
	cr_assert_eq(counters().requests, 1);
}

Test(virtio_serve, counters_count_kicks_read_by_the_io_thread_once)
{
	cr_assert_eq(virtio_dev_start(&dev), 0);
	pthread_mutex_lock(&dev.lock);
	add_chains(2, 8);
	pthread_mutex_unlock(&dev.lock);
	kick_locked();
	cr_assert(wait_used(2));
	for (int i = 0; i < 5000 && counters().requests < 2; i++)
		usleep(1000);
	cr_assert_eq(counters().requests, 2);
	cr_assert_eq(counters().kicks, 1, "counted by the thread, not also by the kick");
}
