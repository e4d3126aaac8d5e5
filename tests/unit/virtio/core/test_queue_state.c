/* Saved and restored virtqueue and device state (virtio/core/queue_state.c): a queue restored from
 * its saved state continues exactly as the uninterrupted queue would (same chains popped, same used
 * elements, same notification decisions), split and packed, across the packed wrap. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/core/queue_state.h"

#define QSIZE 8
#define STEPS 21 /* more than two laps of the ring: both wrap counters flip */
#define FEAT  (1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_RING_F_INDIRECT_DESC)

/* What one step of the run looked like from both sides. */
struct step {
	uint16_t popped_id;
	uint32_t used_id, used_len;
	bool notify;
};

static struct vq_chain chain;

/* One driver add, one device pop + write + push, one driver reap. With save_at >= 0 the queue
 * is saved before that step and the run continues on a fresh queue restored from the state. */
static void run(bool packed, int save_at, struct step *out)
{
	struct mock_env env;
	struct virtqueue *vq;
	struct virtqueue fresh;

	cr_assert_eq(mock_env_init(&env, QSIZE, packed, FEAT), 0);
	vq = &env.vq;
	for (int i = 0; i < STEPS; i++) {
		if (i == save_at) {
			struct vq_state st;
			cr_assert_eq(vq_save(vq, &st), 0);
			cr_assert_eq(vq_init(&fresh, VQ_MAX_SIZE), 0);
			cr_assert_eq(vq_restore(&fresh, env.mem, &st), 0);
			memset(vq, 0xa5, sizeof(*vq)); /* the old queue is gone */
			vq = &fresh;
		}
		struct mock_buf b = {mock_alloc(&env.mv, 32), 32, true};
		if (packed)
			cr_assert_geq(mock_packed_add(&env.mv, &b, 1, (uint16_t)(i % QSIZE)), 0);
		else
			cr_assert_geq(mock_split_add(&env.mv, &b, 1), 0);
		cr_assert_eq(vq_pop(vq, env.mem, &chain), 1, "step %d", i);
		out[i].popped_id = chain.id;
		uint8_t data[8] = {(uint8_t)i};
		cr_assert_eq(vq_chain_write(&chain, env.mem, data, 1 + i % 8), 0);
		cr_assert_eq(vq_push(vq, env.mem, &chain), 0);
		out[i].notify = vq_should_notify(vq, env.mem);
		if (packed) {
			uint16_t id, flags;
			cr_assert_eq(mock_packed_get_used(&env.mv, &id, &out[i].used_len, &flags),
				     1);
			out[i].used_id = id;
		} else {
			cr_assert_eq(
			    mock_split_get_used(&env.mv, &out[i].used_id, &out[i].used_len), 1);
		}
	}
	mock_env_free(&env);
}

static void same_as_uninterrupted(bool packed)
{
	struct step ref[STEPS], got[STEPS];

	run(packed, -1, ref);
	for (int at = 0; at < STEPS; at++) {
		memset(got, 0, sizeof(got));
		run(packed, at, got);
		for (int i = 0; i < STEPS; i++) {
			cr_assert_eq(got[i].popped_id, ref[i].popped_id, "save at %d, step %d", at,
				     i);
			cr_assert_eq(got[i].used_id, ref[i].used_id, "save at %d, step %d", at, i);
			cr_assert_eq(got[i].used_len, ref[i].used_len, "save at %d, step %d", at,
				     i);
			cr_assert_eq(got[i].notify, ref[i].notify, "save at %d, step %d", at, i);
		}
	}
}

Test(queue_state, split_restored_queue_continues_exactly)
{
	same_as_uninterrupted(false);
}

Test(queue_state, packed_restored_queue_continues_exactly)
{
	same_as_uninterrupted(true);
}

Test(queue_state, save_refuses_a_queue_with_chains_in_flight)
{
	struct mock_env env;
	struct vq_state st;
	struct mock_buf b;

	cr_assert_eq(mock_env_init(&env, QSIZE, false, FEAT), 0);
	b = (struct mock_buf){mock_alloc(&env.mv, 32), 32, true};
	cr_assert_geq(mock_split_add(&env.mv, &b, 1), 0);
	cr_assert_eq(vq_pop(&env.vq, env.mem, &chain), 1);
	cr_assert_eq(vq_save(&env.vq, &st), -EBUSY);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	cr_assert_eq(vq_save(&env.vq, &st), 0);
	mock_env_free(&env);
}

Test(queue_state, restore_checks_what_it_is_given)
{
	struct mock_env env;
	struct vq_state st;
	struct virtqueue fresh;

	cr_assert_eq(mock_env_init(&env, QSIZE, true, FEAT), 0);
	cr_assert_eq(vq_save(&env.vq, &st), 0);
	cr_assert_eq(vq_init(&fresh, VQ_MAX_SIZE), 0);
	st.next_avail = QSIZE; /* not a slot of a packed ring */
	cr_assert_eq(vq_restore(&fresh, env.mem, &st), -EINVAL);
	cr_assert_not(vq_is_active(&fresh));
	st.next_avail = 0;
	st.desc_addr = 1ull << 40; /* outside RAM */
	cr_assert_lt(vq_restore(&fresh, env.mem, &st), 0);
	cr_assert_not(vq_is_active(&fresh));
	mock_env_free(&env);
}

/* ---- device state ---- */

static void nop_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev;
	(void)q;
}

static const struct virtio_dev_ops nop_ops = {.queue_notify = nop_notify};

static void make_dev(struct virtio_dev *d, const struct guest_mem *mem)
{
	*d = (struct virtio_dev){
	    .name = "state-test", .num_queues = 2, .queue_max_size = QSIZE, .ops = &nop_ops};
	cr_assert_eq(virtio_dev_init(d, mem), 0);
}

Test(queue_state, device_state_round_trip)
{
	struct mock_env env;
	struct virtio_dev a, b;
	struct virtio_dev_state st, again;

	cr_assert_eq(mock_env_init(&env, QSIZE, false, FEAT), 0);
	make_dev(&a, env.mem);
	make_dev(&b, env.mem);
	virtio_dev_set_status(&a, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(&a, 1, 1); /* VERSION_1 */
	virtio_dev_set_status(&a, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK);
	a.vqs[1].num = env.mv.size;
	a.vqs[1].desc_addr = env.mv.desc;
	a.vqs[1].driver_addr = env.mv.driver;
	a.vqs[1].device_addr = env.mv.device;
	virtio_dev_set_queue_ready(&a, 1, true);
	virtio_dev_set_status(&a, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	virtio_dev_config_changed(&a);
	cr_assert_eq(virtio_dev_save(&a, &st), 0);
	cr_assert_eq(virtio_dev_restore(&b, &st), 0);
	cr_assert(virtio_dev_running(&b));
	cr_assert(vq_is_active(&b.vqs[1]));
	cr_assert_not(vq_is_active(&b.vqs[0]));
	cr_assert_eq(b.config_generation, 1);
	cr_assert_eq(b.isr, a.isr);
	cr_assert_eq(virtio_dev_save(&b, &again), 0);
	cr_assert_eq(memcmp(&st, &again, sizeof(st)), 0, "save(restore(s)) == s");
	st.num_queues = 3;
	cr_assert_eq(virtio_dev_restore(&b, &st), -EINVAL);
	/* an ISR bit no device raises (found by fuzz_virtio_rng altering a saved state) */
	st.num_queues = again.num_queues;
	st.isr = 0xe0;
	cr_assert_eq(virtio_dev_restore(&b, &st), -EINVAL);
	/* a running device with a ready queue that is not active (fuzz_virtio_rng again) */
	st.isr = again.isr;
	st.queue_ready[0] = true;
	cr_assert_eq(virtio_dev_restore(&b, &st), -EINVAL);
	/* an active queue the driver never made ready */
	st.queue_ready[0] = false;
	st.queue_ready[1] = false;
	cr_assert_eq(virtio_dev_restore(&b, &st), -EINVAL);
	st.queue_ready[1] = true;
	cr_assert_eq(virtio_dev_restore(&b, &st), 0, "the saved state itself is fine");
	virtio_dev_destroy(&a);
	virtio_dev_destroy(&b);
	mock_env_free(&env);
}

/* The booleans of a state read from a file are checked as bytes before the struct is read. */
Test(queue_state, state_bools_are_checked_as_bytes)
{
	struct virtio_dev_state st;
	uint8_t *raw = (uint8_t *)&st;

	memset(&st, 0, sizeof(st));
	cr_assert(virtio_dev_state_bools_ok(&st));
	raw[offsetof(struct virtio_dev_state, queue_ready) + 1] = 1;
	cr_assert(virtio_dev_state_bools_ok(&st));
	raw[offsetof(struct virtio_dev_state, queue_ready) + 1] = 2;
	cr_assert_not(virtio_dev_state_bools_ok(&st));
	raw[offsetof(struct virtio_dev_state, queue_ready) + 1] = 0;
	raw[offsetof(struct virtio_dev_state, vqs) + sizeof(struct vq_state) +
	    offsetof(struct vq_state, broken)] = 0x80;
	cr_assert_not(virtio_dev_state_bools_ok(&st));
}
