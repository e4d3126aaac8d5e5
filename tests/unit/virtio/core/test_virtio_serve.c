/* The shared serve loop (virtio/core/serve.c) and the pending-queue pass
 * (virtio_dev_process_pending) driven by a mock driver through a tiny device whose chain handler
 * the test controls: a spent budget reschedules the queue and loses nothing, a handler that waits
 * gives the chain back, a chain error fails the device; and the hooks the busy devices need (blk,
 * net): chains the device takes or reserves, chainless work, kicks kept off while popping, a
 * budget left to the device, the end-of-batch hook, one publish and one notification per batch. */
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
static int (*policy)(unsigned call); /* when set: the verdict of call n (1-based) */
static uint16_t used_flags_seen;     /* the used ring's flags, as the last handle() saw them */
static uint16_t used_idx_seen;	     /* the used index, as the last handle() saw it */
static unsigned ends;		     /* end_batch calls */
static enum virtio_serve_result end_res;

static int handle(struct virtio_dev *d, struct vq_chain *c, void *opaque, uint64_t *bytes)
{
	(void)opaque;
	atomic_store(&in_handler, true);
	handled++;
	used_flags_seen = mock_split_used_flags(&mv);
	used_idx_seen = mock_split_used_idx(&mv);
	*bytes += vq_chain_readable(c);
	if (busy_us)
		usleep(busy_us);
	/* Mid-work, deterministically: wait (bounded) until the pauser has asked. */
	for (int i = 0; handled == hold_at && i < 10000 && !atomic_load(&d->paused); i++)
		usleep(1000);
	atomic_store(&in_handler, false);
	return policy ? policy(handled) : verdict;
}

static void end_batch(struct virtio_dev *d, uint16_t q, void *opaque, enum virtio_serve_result res)
{
	(void)d, (void)q, (void)opaque;
	ends++;
	end_res = res;
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
	policy = NULL;
	handled = notifies = ends = 0;
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

Test(virtio_serve, destroy_while_paused_serves_nothing_recorded)
{
	cr_assert_eq(virtio_dev_start(&dev), 0);
	virtio_dev_pause(&dev);
	pthread_mutex_lock(&dev.lock);
	add_chains(2, 8);
	pthread_mutex_unlock(&dev.lock);
	kick_locked();
	usleep(20000);
	/* after a local migration the destination runs this guest on the same RAM */
	virtio_dev_destroy(&dev);
	cr_assert_eq(handled, 0, "a destroyed paused device served a kick recorded while paused");
	cr_assert_eq(mock_split_used_idx(&mv), 0, "no used-ring write after the pause");
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

/* ---- the hooks of the busy devices (blk, net) ---- */

static struct virtio_dev_counters_snapshot counters_now(void)
{
	struct virtio_dev_counters_snapshot c;
	virtio_dev_counters_read(&dev, &c);
	return c;
}

Test(virtio_serve, pushed_chains_are_published_once_at_the_end_of_the_batch)
{
	add_chains(3, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(handled, 3);
	cr_assert_eq(used_idx_seen, 0, "nothing published while the batch runs");
	cr_assert_eq(mock_split_used_idx(&mv), 3);
	cr_assert_eq(counters_now().interrupts, 1, "one notification for the batch");
}

Test(virtio_serve, end_batch_runs_once_per_call_with_the_result)
{
	server.end_batch = end_batch;
	add_chains(2, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(ends, 1);
	cr_assert_eq(end_res, VIRTIO_SERVE_IDLE);
	add_chains(6, 8); /* budget 4 */
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(ends, 2);
	cr_assert_eq(end_res, VIRTIO_SERVE_YIELDED);
	verdict = VIRTIO_CHAIN_WAIT;
	virtio_dev_process_pending(&dev);
	cr_assert_eq(ends, 3);
	cr_assert_eq(end_res, VIRTIO_SERVE_WAITING);
	verdict = -EIO;
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(ends, 4);
	cr_assert_eq(end_res, VIRTIO_SERVE_FAILED);
	/* Not running: the device may still have a batch to finish (blk: queued I/O). */
	cr_assert_eq(virtio_serve_queue(&dev, 0, &server), VIRTIO_SERVE_NOT_READY);
	cr_assert_eq(ends, 5);
	cr_assert_eq(end_res, VIRTIO_SERVE_NOT_READY);
	cr_assert_eq(virtio_serve_queue(&dev, 7, &server), VIRTIO_SERVE_NOT_READY);
	cr_assert_eq(ends, 5, "no call for a queue that does not exist");
}

Test(virtio_serve, taken_chains_are_the_devices_and_count_in_the_budget)
{
	verdict = VIRTIO_CHAIN_TAKEN;
	add_chains(6, 8); /* budget 4 */
	virtio_dev_kick(&dev, 0);
	cr_assert(virtio_dev_process_pending(&dev), "budget spent: rescheduled");
	cr_assert_eq(handled, 4);
	cr_assert_eq(mock_split_used_idx(&mv), 0, "the device completes taken chains itself");
	cr_assert_eq(dev.vqs[0].inflight, 4);
	cr_assert_eq(counters_now().requests, 0, "and counts them itself");
	cr_assert_eq(counters_now().interrupts, 0);
	cr_assert_not(virtio_dev_process_pending(&dev));
	cr_assert_eq(handled, 6);
}

/* Calls 1 and 2 reserve, 3 completes the request: three chains, one unit of the budget. */
static int more_more_push(unsigned call)
{
	return call % 3 ? VIRTIO_CHAIN_MORE : VIRTIO_CHAIN_PUSH;
}

Test(virtio_serve, more_reserves_chains_for_one_request_outside_the_budget)
{
	server.max_chains = 1;
	policy = more_more_push;
	add_chains(7, 8);
	virtio_dev_kick(&dev, 0);
	cr_assert(virtio_dev_process_pending(&dev));
	cr_assert_eq(last, VIRTIO_SERVE_YIELDED);
	cr_assert_eq(handled, 3, "the request's chains, then the budget");
	cr_assert_eq(mock_split_used_idx(&mv), 1, "the loop pushes only the chain it completes");
	cr_assert_eq(dev.vqs[0].inflight, 2, "the reserved ones are the device's");
}

static unsigned reserved; /* chains the test device reserved (VIRTIO_CHAIN_MORE) */

static int reserve_all(unsigned call)
{
	(void)call;
	reserved++;
	return VIRTIO_CHAIN_MORE;
}

/* Gives the reserved chains back, as net receive does when the ring runs dry mid-frame. */
static void give_back(struct virtio_dev *d, uint16_t q, void *opaque, enum virtio_serve_result res)
{
	end_batch(d, q, opaque, res);
	for (; reserved; reserved--)
		cr_assert_eq(vq_unpop(&d->vqs[q], d->mem, &chain), 0);
}

Test(virtio_serve, more_on_a_dry_ring_ends_idle_and_end_batch_gives_the_chains_back)
{
	policy = reserve_all;
	server.end_batch = give_back;
	reserved = 0;
	add_chains(2, 8);
	virtio_dev_kick(&dev, 0);
	cr_assert_not(virtio_dev_process_pending(&dev));
	cr_assert_eq(last, VIRTIO_SERVE_IDLE);
	cr_assert_eq(end_res, VIRTIO_SERVE_IDLE);
	cr_assert_eq(handled, 2);
	cr_assert_eq(dev.vqs[0].inflight, 0);
	cr_assert_eq(mock_split_used_flags(&mv), 0, "kicks re-enabled: more buffers are wanted");
	policy = NULL;
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(mock_split_used_idx(&mv), 2, "the chains given back are served again");
}

static unsigned chainless; /* has_work() answers VIRTIO_WORK_DONE this many times first */

static int work_done_first(struct virtio_dev *d, void *opaque)
{
	(void)d, (void)opaque;
	if (chainless) {
		chainless--;
		return VIRTIO_WORK_DONE;
	}
	return VIRTIO_WORK_CHAIN;
}

Test(virtio_serve, chainless_work_counts_in_the_budget)
{
	server.has_work = work_done_first;
	chainless = 3;
	add_chains(5, 8); /* budget 4: three chainless requests and one chain */
	virtio_dev_kick(&dev, 0);
	cr_assert(virtio_dev_process_pending(&dev));
	cr_assert_eq(last, VIRTIO_SERVE_YIELDED);
	cr_assert_eq(handled, 1);
	cr_assert_eq(mock_split_used_idx(&mv), 1);
	while (virtio_dev_process_pending(&dev))
		;
	cr_assert_eq(mock_split_used_idx(&mv), 5);
	cr_assert_eq(handled, 5);
}

Test(virtio_serve, quiet_server_keeps_kicks_off_while_popping)
{
	server.quiet = true;
	add_chains(3, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(handled, 3);
	cr_assert_eq(used_flags_seen, VRING_USED_F_NO_NOTIFY, "no kick while serving");
	cr_assert_eq(mock_split_used_flags(&mv), 0, "the empty ring re-armed them");
	cr_assert(dev.vqs[0].kicks_enabled);
}

Test(virtio_serve, loud_server_leaves_kicks_on)
{
	add_chains(1, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(used_flags_seen, 0);
}

static int no_work(struct virtio_dev *d, void *opaque)
{
	(void)d, (void)opaque;
	return VIRTIO_WORK_NONE;
}

Test(virtio_serve, quiet_server_without_work_does_not_touch_the_kicks)
{
	server.quiet = true;
	server.has_work = no_work;
	add_chains(1, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(handled, 0);
	cr_assert_eq(mock_split_used_flags(&mv), 0);
	cr_assert_eq(dev.vqs[0].inflight, 0);
}

Test(virtio_serve, quiet_server_stalled_by_the_device_keeps_kicks_off)
{
	server.quiet = true;
	verdict = VIRTIO_CHAIN_HOLD; /* blk out of request slots is the same: no re-arm */
	add_chains(2, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(last, VIRTIO_SERVE_WAITING);
	cr_assert_eq(mock_split_used_flags(&mv), VRING_USED_F_NO_NOTIFY,
		     "the device's own event resumes the queue");
}

Test(virtio_serve, own_wakeup_leaves_a_spent_budget_to_the_device)
{
	server.own_wakeup = true;
	server.end_batch = end_batch;
	add_chains(6, 8); /* budget 4 */
	virtio_dev_kick(&dev, 0);
	cr_assert_not(virtio_dev_process_pending(&dev), "not rescheduled");
	cr_assert_eq(last, VIRTIO_SERVE_YIELDED);
	cr_assert_eq(end_res, VIRTIO_SERVE_YIELDED);
	cr_assert_eq(counters_now().stalls, 0, "the device decides what a yield is");
	cr_assert_eq(mock_split_used_idx(&mv), 4);
}

Test(virtio_serve, unknown_verdict_fails_the_device)
{
	verdict = 42;
	add_chains(1, 8);
	virtio_dev_kick(&dev, 0);
	virtio_dev_process_pending(&dev);
	cr_assert_eq(last, VIRTIO_SERVE_FAILED);
	cr_assert(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
}
