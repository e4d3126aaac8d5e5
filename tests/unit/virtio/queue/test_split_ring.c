/* Split virtqueue, device side (virtio 1.2 2.7), driven by the mock driver. */
#include <criterion/criterion.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/queue/virtqueue.h"

#define EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)

static struct mock_env env;
static struct vq_chain chain;
static bool started;

static void start(uint16_t size, uint64_t features)
{
	cr_assert_eq(mock_env_init(&env, size, false, features), 0);
	started = true;
}

static void stop(void)
{
	if (started)
		mock_env_free(&env);
	started = false;
}

TestSuite(split, .fini = stop);

static int pop(void)
{
	return vq_pop(&env.vq, env.mem, &chain);
}

/* Adds a one-buffer chain of `len` device-writable bytes. */
static int add_writable(uint32_t len)
{
	struct mock_buf b = {mock_alloc(&env.mv, len), len, true};
	return mock_split_add(&env.mv, &b, 1);
}

/* One request through the queue: pop it and complete it with `len` bytes written. */
static void round_trip(uint32_t len)
{
	int head = add_writable(len ? len : 1);
	cr_assert_geq(head, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(chain.id, head);
	uint8_t buf[64] = {0};
	cr_assert_eq(vq_chain_write(&chain, env.mem, buf, len), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
}

Test(split, simple_round_trip)
{
	start(16, 0);
	const char req[] = "request";
	struct mock_buf bufs[] = {
	    {mock_fill(&env.mv, req, sizeof(req)), sizeof(req), false},
	    {mock_alloc(&env.mv, 32), 32, true},
	};
	int head = mock_split_add(&env.mv, bufs, 2);
	cr_assert_eq(head, 0);

	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 0);
	cr_expect_eq(chain.ndescs, 2);
	cr_expect_eq(chain.nsegs, 2);
	cr_expect_eq(chain.nreadable, 1);
	cr_expect_eq(chain.readable_len, sizeof(req));
	cr_expect_eq(chain.writable_len, 32);
	cr_expect_eq(chain.segs[0].addr, bufs[0].addr);
	cr_expect_eq(chain.segs[1].addr, bufs[1].addr);
	cr_expect(chain.segs[1].writable);

	char got[sizeof(req)];
	cr_assert_eq(vq_chain_read(&chain, env.mem, got, sizeof(got)), 0);
	cr_expect_str_eq(got, req);
	cr_assert_eq(vq_chain_write(&chain, env.mem, "reply", 5), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);

	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&env.mv, &id, &len), 1);
	cr_expect_eq(id, 0);
	cr_expect_eq(len, 5);
	cr_expect_eq(mock_split_used_idx(&env.mv), 1);
	cr_expect_eq(memcmp(mock_ram_host(&env.ram, bufs[1].addr), "reply", 5), 0);
	cr_expect_eq(pop(), 0);
	cr_expect_eq(env.vq.inflight, 0);
}

Test(split, empty_ring_and_spurious_kicks)
{
	start(8, 0);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(pop(), 0);
	cr_expect(!vq_is_broken(&env.vq));
}

Test(split, avail_idx_jump_past_size_breaks)
{
	start(8, 0);
	mock_split_set_avail_idx(&env.mv, 9);
	cr_expect_eq(pop(), -VQ_E_AVAIL_IDX);
	cr_expect(vq_is_broken(&env.vq));
}

Test(split, avail_idx_backwards_is_a_huge_jump)
{
	start(8, 0);
	mock_split_set_avail_idx(&env.mv, 0xffff); /* "behind" last_avail 0 */
	cr_expect_eq(pop(), -VQ_E_AVAIL_IDX);
}

Test(split, exactly_size_pending_is_fine)
{
	start(8, 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(add_writable(4), i);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(pop(), 1);
		cr_expect_eq(chain.id, i);
	}
	cr_expect_eq(pop(), 0);
	cr_expect_eq(env.vq.inflight, 8);
}

Test(split, head_out_of_range_breaks)
{
	start(8, 0);
	mock_split_desc(&env.mv, 0, mock_alloc(&env.mv, 4), 4, 0, 0);
	mock_split_avail_entry(&env.mv, 0, 8);
	mock_split_set_avail_idx(&env.mv, 1);
	cr_expect_eq(pop(), -VQ_E_HEAD);
	cr_expect_eq(pop(), -VQ_E_BROKEN);
}

Test(split, head_is_fetched_once)
{
	start(8, 0);
	cr_assert_eq(add_writable(4), 0);
	cr_assert_eq(pop(), 1);
	/* the driver rewrites the consumed ring slot with garbage: irrelevant now */
	mock_split_avail_entry(&env.mv, 0, 0xffff);
	cr_expect_eq(chain.id, 0);
	cr_expect_eq(pop(), 0);
}

/* Free-running 16-bit indices wrap: 70000 requests through a 4-entry queue. */
Test(split, indices_wrap_around_16_bits)
{
	start(4, 0);
	for (uint32_t i = 0; i < 70000; i++) {
		round_trip(i % 7);
		uint32_t id, len;
		cr_assert_eq(mock_split_get_used(&env.mv, &id, &len), 1, "request %u", i);
		cr_assert_eq(id, i % 4);
		cr_assert_eq(len, i % 7);
	}
	cr_expect_eq(env.vq.last_avail, (uint16_t)70000);
	cr_expect_eq(mock_split_used_idx(&env.mv), (uint16_t)70000);
}

Test(split, batch_publishes_once)
{
	start(8, 0);
	struct vq_chain c[3];
	for (int i = 0; i < 3; i++) {
		add_writable(8);
		cr_assert_eq(vq_pop(&env.vq, env.mem, &c[i]), 1);
	}
	for (int i = 2; i >= 0; i--) { /* completed out of order */
		cr_assert_eq(vq_chain_write(&c[i], env.mem, "abcdefgh", (size_t)i + 1), 0);
		cr_assert_eq(vq_add_used(&env.vq, env.mem, vq_chain_used(&c[i])), 0);
	}
	cr_expect_eq(mock_split_used_idx(&env.mv), 0); /* nothing visible yet */
	cr_assert_eq(vq_publish_used(&env.vq, env.mem), 0);
	cr_expect_eq(mock_split_used_idx(&env.mv), 3);
	for (int i = 2; i >= 0; i--) {
		uint32_t id, len;
		cr_assert_eq(mock_split_get_used(&env.mv, &id, &len), 1);
		cr_expect_eq(id, (uint32_t)i);
		cr_expect_eq(len, (uint32_t)i + 1);
	}
}

Test(split, device_push_errors)
{
	start(8, 0);
	cr_expect_eq(vq_add_used(&env.vq, env.mem, (struct vq_used){0, 1, 0}), -VQ_E_NO_INFLIGHT);
	add_writable(4);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(vq_add_used(&env.vq, env.mem, (struct vq_used){8, 1, 0}), -VQ_E_BAD_ID);
	cr_expect_eq(vq_add_used(&env.vq, env.mem, (struct vq_used){0, 2, 0}), -VQ_E_NO_INFLIGHT);
	cr_expect_eq(vq_add_used(&env.vq, env.mem, (struct vq_used){0, 0, 0}), -VQ_E_NO_INFLIGHT);
	cr_expect(!vq_is_broken(&env.vq)); /* device bugs do not blame the driver */
	cr_expect_eq(vq_push(&env.vq, env.mem, &chain), 0);
	cr_expect_eq(vq_push(&env.vq, env.mem, &chain), -VQ_E_NO_INFLIGHT);
}

/* A driver that re-offers descriptors still in flight is caught (2.7.13). */
Test(split, reoffered_in_flight_descriptors_break)
{
	start(4, 0);
	for (int i = 0; i < 4; i++)
		add_writable(4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pop(), 1);
	mock_split_avail_entry(&env.mv, 4, 0);
	mock_split_set_avail_idx(&env.mv, 5);
	cr_expect_eq(pop(), -VQ_E_OVERRUN);
}

Test(split, unpop_returns_the_chain)
{
	start(8, EVENT_IDX);
	add_writable(4);
	add_writable(4);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 1);
	cr_assert_eq(vq_unpop(&env.vq, env.mem, &chain), 0);
	cr_expect_eq(env.vq.inflight, 1);
	cr_expect_eq(mock_split_avail_event(&env.mv), 1);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 1);
	cr_expect_eq(pop(), 0);
}

/* ---- used buffer notifications (2.7.7) ---- */

Test(split, no_interrupt_flag_without_event_idx)
{
	start(8, 0);
	round_trip(1);
	cr_expect(vq_should_notify(&env.vq, env.mem));
	cr_expect(!vq_should_notify(&env.vq, env.mem)); /* nothing new */
	mock_split_set_avail_flags(&env.mv, VRING_AVAIL_F_NO_INTERRUPT);
	round_trip(1);
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	mock_split_set_avail_flags(&env.mv, 0);
	round_trip(1);
	cr_expect(vq_should_notify(&env.vq, env.mem));
}

Test(split, no_interrupt_flag_ignored_with_event_idx)
{
	start(8, EVENT_IDX);
	mock_split_set_avail_flags(&env.mv, VRING_AVAIL_F_NO_INTERRUPT);
	mock_split_set_used_event(&env.mv, 0);
	round_trip(1);
	cr_expect(vq_should_notify(&env.vq, env.mem)); /* 2.7.7.2: flags ignored */
}

Test(split, event_idx_decisions)
{
	start(8, EVENT_IDX);
	mock_split_set_used_event(&env.mv, 0);
	round_trip(1); /* used idx 0 -> 1 passes 0 */
	cr_expect(vq_should_notify(&env.vq, env.mem));
	round_trip(1); /* 1 -> 2: event 0 already passed */
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	mock_split_set_used_event(&env.mv, 2);
	round_trip(1); /* 2 -> 3 passes 2 */
	cr_expect(vq_should_notify(&env.vq, env.mem));

	/* a batch of three (3 -> 6) passing the event in the middle */
	mock_split_set_used_event(&env.mv, 4);
	struct vq_chain c[3];
	for (int i = 0; i < 3; i++) {
		add_writable(4);
		cr_assert_eq(vq_pop(&env.vq, env.mem, &c[i]), 1);
		cr_assert_eq(vq_add_used(&env.vq, env.mem, vq_chain_used(&c[i])), 0);
	}
	cr_assert_eq(vq_publish_used(&env.vq, env.mem), 0);
	cr_expect(vq_should_notify(&env.vq, env.mem));

	mock_split_set_used_event(&env.mv, 7); /* 6 -> 7 does not pass 7 */
	round_trip(1);
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	round_trip(1); /* 7 -> 8 does */
	cr_expect(vq_should_notify(&env.vq, env.mem));
	cr_expect(!vq_should_notify(&env.vq, env.mem)); /* nothing new */
}

/* (u16)(new - event - 1) < (u16)(new - old) across the 65535 -> 0 wrap. */
Test(split, event_idx_wraps_around_16_bits)
{
	start(4, EVENT_IDX);
	for (uint32_t i = 0; i < 65534; i++)
		round_trip(0);
	cr_assert_eq(env.vq.pub_used, 65534);
	vq_should_notify(&env.vq, env.mem); /* decision point: old = 65534 from here */
	cr_assert_eq(env.vq.signalled_used, 65534);

	/* old = 65534; a batch of 3 ends at new = 1 */
	struct vq_chain c[3];
	for (int i = 0; i < 3; i++) {
		add_writable(4);
		cr_assert_eq(vq_pop(&env.vq, env.mem, &c[i]), 1);
		cr_assert_eq(vq_add_used(&env.vq, env.mem, vq_chain_used(&c[i])), 0);
	}
	cr_assert_eq(vq_publish_used(&env.vq, env.mem), 0);
	cr_assert_eq(env.vq.pub_used, 1);

	uint16_t events[] = {65534, 65535, 0, 1, 2, 65533};
	bool expect[] = {true, true, true, false, false, false};
	for (int i = 0; i < 6; i++) {
		mock_split_set_used_event(&env.mv, events[i]);
		env.vq.signalled_used = 65534; /* replay the same decision for each event */
		cr_expect_eq(vq_should_notify(&env.vq, env.mem), expect[i], "used_event %u",
			     events[i]);
	}
}

/* ---- available buffer notifications (2.7.10) ---- */

Test(split, avail_event_tracks_last_avail)
{
	start(8, EVENT_IDX);
	add_writable(4);
	add_writable(4);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(mock_split_avail_event(&env.mv), 1);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(mock_split_avail_event(&env.mv), 2);

	/* Disabled: avail_event just behind the next index, so the driver's next additions
	 * never cross it (no kick at all, not even one more). */
	cr_assert_eq(vq_disable_notify(&env.vq, env.mem), 0);
	cr_expect_eq(mock_split_avail_event(&env.mv), 1);
	cr_expect_not(vring_need_event(1, 3, 2)); /* the driver adding index 2 does not kick */
	add_writable(4);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(mock_split_avail_event(&env.mv), 1); /* frozen while disabled */
	cr_expect_eq(mock_split_used_flags(&env.mv), 0);  /* flag unused with EVENT_IDX */

	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 0); /* ring empty */
	cr_expect_eq(mock_split_avail_event(&env.mv), 3);
}

Test(split, no_notify_flag_without_event_idx)
{
	start(8, 0);
	cr_assert_eq(vq_disable_notify(&env.vq, env.mem), 0);
	cr_expect_eq(mock_split_used_flags(&env.mv), VRING_USED_F_NO_NOTIFY);
	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 0);
	cr_expect_eq(mock_split_used_flags(&env.mv), 0);
	cr_expect_eq(mock_split_avail_event(&env.mv), 0); /* not written without EVENT_IDX */
}

/* A buffer added while kicks were off is found by the re-check, not lost. */
Test(split, enable_notify_rechecks_the_ring)
{
	start(8, EVENT_IDX);
	cr_assert_eq(vq_disable_notify(&env.vq, env.mem), 0);
	add_writable(4); /* the driver sees kicks suppressed and does not kick */
	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 1);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 0);
}
