/* Packed virtqueue, device side (virtio 1.2 2.8), driven by the mock driver. */
#include <criterion/criterion.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/queue/virtqueue.h"

#define EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define INDIRECT  (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_AVAIL	  (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED	  (1u << VRING_PACKED_DESC_F_USED)

static struct mock_env env;
static struct vq_chain chain;
static bool started;

static void start(uint16_t size, uint64_t features)
{
	cr_assert_eq(mock_env_init(&env, size, true, features), 0);
	started = true;
}

static void stop(void)
{
	if (started)
		mock_env_free(&env);
	started = false;
}

TestSuite(packed, .fini = stop);

static int pop(void)
{
	return vq_pop(&env.vq, env.mem, &chain);
}

static void add_writable(uint32_t len, uint16_t id)
{
	struct mock_buf b = {mock_alloc(&env.mv, len), len, true};
	cr_assert_eq(mock_packed_add(&env.mv, &b, 1, id), id);
}

Test(packed, simple_round_trip)
{
	start(8, 0);
	const char req[] = "hello";
	struct mock_buf bufs[] = {
	    {mock_fill(&env.mv, req, sizeof(req)), sizeof(req), false},
	    {mock_alloc(&env.mv, 16), 16, true},
	};
	cr_assert_eq(mock_packed_add(&env.mv, bufs, 2, 42), 42);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 42); /* from the last descriptor; the first carries a decoy */
	cr_expect_eq(chain.ndescs, 2);
	cr_expect_eq(chain.readable_len, sizeof(req));
	cr_expect_eq(chain.writable_len, 16);
	char got[sizeof(req)];
	cr_assert_eq(vq_chain_read(&chain, env.mem, got, sizeof(got)), 0);
	cr_expect_str_eq(got, req);
	cr_assert_eq(vq_chain_write(&chain, env.mem, "abc", 3), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);

	/* the used descriptor overwrites slot 0: AVAIL == USED == wrap 1, WRITE as len > 0 */
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
	mock_packed_read_desc(&env.mv, 0, &addr, &len, &id, &flags);
	cr_expect_eq(id, 42);
	cr_expect_eq(len, 3);
	cr_expect_eq(flags, F_AVAIL | F_USED | VRING_DESC_F_WRITE);
	cr_assert_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 1);
	cr_expect_eq(env.mv.next_used, 2); /* driver skipped the list's two slots */
	cr_expect_eq(pop(), 0);
}

Test(packed, used_without_data_has_no_write_flag)
{
	start(4, 0);
	add_writable(8, 1);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint16_t id, flags;
	uint32_t len;
	cr_assert_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 1);
	cr_expect_eq(flags, F_AVAIL | F_USED); /* 2.8.3: nothing written */
	cr_expect_eq(len, 0);
}

Test(packed, descriptors_not_yet_available)
{
	start(4, 0);
	uint64_t a = mock_alloc(&env.mv, 8);
	/* zero-initialised ring: nothing available */
	cr_expect_eq(pop(), 0);
	/* wrong wrap (driver counter 0 on the first lap) */
	mock_packed_desc(&env.mv, 0, a, 8, 1, mock_packed_avail_bits(false));
	cr_expect_eq(pop(), 0);
	/* looks used (AVAIL == USED) */
	mock_packed_desc(&env.mv, 0, a, 8, 1, F_AVAIL | F_USED);
	cr_expect_eq(pop(), 0);
	mock_packed_desc(&env.mv, 0, a, 8, 1, F_AVAIL);
	cr_expect_eq(pop(), 1);
	cr_expect(!vq_is_broken(&env.vq));
}

/* Many laps of a ring whose size is not a power of two, lists of 1..3 descriptors that straddle
 * the end of the ring, up to two buffers in flight, completed out of order. */
Test(packed, wrap_counters_across_many_laps)
{
	start(5, 0);
	int flips = 0;
	bool last_wrap = env.vq.avail_wrap;
	uint16_t next_id = 0;
	for (int round = 0; round < 60; round++) {
		struct vq_chain c[2];
		uint16_t ids[2];
		for (int k = 0; k < 2; k++) {
			int n = 1 + (round + k) % 2; /* 2 * (1 or 2) <= 5 slots in flight */
			struct mock_buf bufs[2];
			for (int i = 0; i < n; i++)
				bufs[i] = (struct mock_buf){mock_alloc(&env.mv, 4), 4, i == n - 1};
			ids[k] = next_id++ % 1000;
			cr_assert_eq(mock_packed_add(&env.mv, bufs, n, ids[k]), ids[k]);
			cr_assert_eq(vq_pop(&env.vq, env.mem, &c[k]), 1, "round %d", round);
			cr_assert_eq(c[k].id, ids[k]);
			cr_assert_eq(c[k].ndescs, n);
			if (env.vq.avail_wrap != last_wrap) {
				flips++;
				last_wrap = env.vq.avail_wrap;
			}
		}
		for (int k = 1; k >= 0; k--) {
			uint32_t v = round * 2 + k;
			cr_assert_eq(vq_chain_write(&c[k], env.mem, &v, sizeof(v)), 0);
			cr_assert_eq(vq_push(&env.vq, env.mem, &c[k]), 0);
		}
		for (int k = 1; k >= 0; k--) {
			uint16_t id, flags;
			uint32_t len;
			cr_assert_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 1);
			cr_assert_eq(id, ids[k]);
			cr_assert_eq(len, 4);
		}
		cr_assert_eq(pop(), 0);
	}
	cr_expect_geq(flips, 10);
	cr_expect_eq(env.vq.last_avail, env.mv.next_avail);
	cr_expect_eq(env.vq.avail_wrap, env.mv.avail_wrap);
	cr_expect_eq(env.vq.used_idx, env.mv.next_used);
	cr_expect_eq(env.vq.used_wrap, env.mv.used_wrap);
	cr_expect_eq(env.vq.inflight, 0);
}

Test(packed, list_of_exactly_queue_size)
{
	start(4, 0);
	struct mock_buf bufs[4];
	for (int i = 0; i < 4; i++)
		bufs[i] = (struct mock_buf){mock_alloc(&env.mv, 8), 8, i >= 2};
	mock_packed_add(&env.mv, bufs, 4, 7);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.ndescs, 4);
	cr_expect_eq(chain.nsegs, 4);
	cr_expect_eq(env.vq.last_avail, 0);
	cr_expect(!env.vq.avail_wrap);
}

/* Every slot carries NEXT: the list would be longer than the ring. */
Test(packed, list_longer_than_ring_breaks)
{
	start(4, 0);
	uint64_t a = mock_alloc(&env.mv, 8);
	for (int i = 3; i >= 0; i--)
		mock_packed_desc(&env.mv, (uint16_t)i, a, 8, 0,
				 mock_packed_avail_bits(true) | VRING_DESC_F_NEXT);
	cr_expect_eq(pop(), -VQ_E_LOOP);
	cr_expect(vq_is_broken(&env.vq));
}

Test(packed, indirect_round_trip)
{
	start(4, INDIRECT);
	struct mock_buf bufs[3] = {
	    {mock_fill(&env.mv, "head", 4), 4, false},
	    {mock_alloc(&env.mv, 10), 10, true},
	    {mock_alloc(&env.mv, 20), 20, true},
	};
	cr_assert_eq(mock_packed_add_indirect(&env.mv, bufs, 3, 9), 9);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 9);
	cr_expect_eq(chain.ndescs, 1);
	cr_expect_eq(chain.nsegs, 3);
	cr_expect_eq(chain.readable_len, 4);
	cr_expect_eq(chain.writable_len, 30);
	cr_expect_eq(chain.segs[2].addr, bufs[2].addr);
	uint8_t data[30];
	memset(data, 0x5a, sizeof(data));
	cr_assert_eq(vq_chain_write(&chain, env.mem, data, sizeof(data)), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint16_t id, flags;
	uint32_t len;
	cr_assert_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 1);
	cr_expect_eq(id, 9);
	cr_expect_eq(len, 30);
	cr_expect_eq(env.mv.next_used, 1);
}

Test(packed, indirect_inside_a_list_breaks)
{
	start(4, INDIRECT);
	struct mock_buf tb = {mock_alloc(&env.mv, 8), 8, true};
	uint64_t table = mock_packed_table(&env.mv, &tb, 1);
	uint64_t a = mock_alloc(&env.mv, 8);
	uint16_t avail = mock_packed_avail_bits(true);
	mock_packed_desc(&env.mv, 1, table, 16, 3, avail | VRING_DESC_F_INDIRECT);
	mock_packed_desc(&env.mv, 0, a, 8, 3, avail | VRING_DESC_F_NEXT);
	cr_expect_eq(pop(), -VQ_E_INDIRECT_NEXT); /* 2.8.19 */
}

Test(packed, indirect_with_next_breaks)
{
	start(4, INDIRECT);
	struct mock_buf tb = {mock_alloc(&env.mv, 8), 8, true};
	uint64_t table = mock_packed_table(&env.mv, &tb, 1);
	uint16_t avail = mock_packed_avail_bits(true);
	mock_packed_desc(&env.mv, 1, mock_alloc(&env.mv, 8), 8, 3, avail | VRING_DESC_F_WRITE);
	mock_packed_desc(&env.mv, 0, table, 16, 3,
			 avail | VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
	cr_expect_eq(pop(), -VQ_E_INDIRECT_NEXT);
}

Test(packed, indirect_without_feature_breaks)
{
	start(4, 0);
	struct mock_buf tb = {mock_alloc(&env.mv, 8), 8, true};
	mock_packed_add_indirect(&env.mv, &tb, 1, 1);
	cr_expect_eq(pop(), -VQ_E_INDIRECT_FEATURE);
}

/* Hostile driver marks in-flight descriptors available again for the next lap. */
Test(packed, reoffered_in_flight_descriptors_break)
{
	start(2, 0);
	add_writable(4, 0);
	add_writable(4, 1);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(pop(), 1);
	/* second lap: driver wrap counter is 0 */
	mock_packed_desc(&env.mv, 0, mock_alloc(&env.mv, 4), 4, 0, mock_packed_avail_bits(false));
	cr_expect_eq(pop(), -VQ_E_OVERRUN);
}

Test(packed, batch_reveals_first_flags_last)
{
	start(8, 0);
	struct vq_chain c[3];
	for (uint16_t i = 0; i < 3; i++) {
		add_writable(4, (uint16_t)(10 + i));
		cr_assert_eq(vq_pop(&env.vq, env.mem, &c[i]), 1);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(vq_add_used(&env.vq, env.mem, vq_chain_used(&c[i])), 0);
	uint16_t id, flags;
	uint32_t len;
	cr_expect_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 0); /* slot 0 held back */
	uint64_t addr;
	mock_packed_read_desc(&env.mv, 1, &addr, &len, &id, &flags);
	cr_expect_eq(flags & (F_AVAIL | F_USED), F_AVAIL | F_USED); /* later ones already written */
	cr_assert_eq(vq_publish_used(&env.vq, env.mem), 0);
	for (uint16_t i = 0; i < 3; i++) {
		cr_assert_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 1);
		cr_expect_eq(id, 10 + i);
	}
}

Test(packed, unpop_across_the_wrap)
{
	start(3, 0);
	for (uint16_t i = 0; i < 3; i++)
		add_writable(4, i);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(pop(), 1);
		cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	}
	cr_assert_eq(env.vq.last_avail, 0);
	cr_assert(!env.vq.avail_wrap);
	struct mock_buf bufs[2] = {{mock_alloc(&env.mv, 4), 4, false},
				   {mock_alloc(&env.mv, 4), 4, true}};
	mock_packed_add(&env.mv, bufs, 2, 5);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(vq_unpop(&env.vq, env.mem, &chain), 0);
	cr_expect_eq(env.vq.last_avail, 0);
	cr_expect(!env.vq.avail_wrap);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 5);
	/* and a list popped right after the end of a lap rewinds across it */
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	add_writable(4, 6); /* slot 2 of lap 2 */
	add_writable(4, 7); /* slot 0 of lap 3 */
	cr_assert_eq(pop(), 1);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(env.vq.last_avail, 1);
	cr_assert(env.vq.avail_wrap);
	cr_assert_eq(vq_unpop(&env.vq, env.mem, &chain), 0);
	cr_expect_eq(env.vq.last_avail, 0);
	cr_expect(env.vq.avail_wrap);
	cr_assert_eq(vq_unpop(&env.vq, env.mem, &chain), 0); /* chain.ndescs 1 again */
	cr_expect_eq(env.vq.last_avail, 2);
	cr_expect(!env.vq.avail_wrap);
}

/* ---- driver event suppression: used buffer notifications (2.8.10) ---- */

static void complete_one(uint16_t id)
{
	add_writable(4, id);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint16_t uid, flags;
	uint32_t len;
	cr_assert_eq(mock_packed_get_used(&env.mv, &uid, &len, &flags), 1);
}

Test(packed, driver_event_enable_disable)
{
	start(4, 0);
	complete_one(0);
	cr_expect(vq_should_notify(&env.vq, env.mem));	/* ENABLE (zeroed) */
	cr_expect(!vq_should_notify(&env.vq, env.mem)); /* nothing new */
	mock_packed_set_driver_event(&env.mv, 0, VRING_PACKED_EVENT_FLAG_DISABLE);
	complete_one(1);
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	/* DESC without EVENT_IDX negotiated reads as ENABLE */
	mock_packed_set_driver_event(&env.mv, 3, VRING_PACKED_EVENT_FLAG_DESC);
	complete_one(2);
	cr_expect(vq_should_notify(&env.vq, env.mem));
}

Test(packed, driver_event_desc_with_wrap)
{
	start(4, EVENT_IDX);
	uint16_t wrap1 = 1u << VRING_PACKED_EVENT_F_WRAP_CTR;
	/* ask for slot 2 of the first lap */
	mock_packed_set_driver_event(&env.mv, 2 | wrap1, VRING_PACKED_EVENT_FLAG_DESC);
	complete_one(0); /* slot 0 */
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	complete_one(1); /* slot 1 */
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	complete_one(2); /* slot 2: the one asked for */
	cr_expect(vq_should_notify(&env.vq, env.mem));
	complete_one(3); /* slot 3: past it */
	cr_expect(!vq_should_notify(&env.vq, env.mem));

	/* next lap (wrap 0): slot 1 */
	mock_packed_set_driver_event(&env.mv, 1, VRING_PACKED_EVENT_FLAG_DESC);
	complete_one(4); /* slot 0, lap 2 */
	cr_expect(!vq_should_notify(&env.vq, env.mem));
	/* the same offset with the wrong wrap (lap 3) must not fire in lap 2 */
	mock_packed_set_driver_event(&env.mv, 1 | wrap1, VRING_PACKED_EVENT_FLAG_DESC);
	complete_one(5); /* slot 1, lap 2 */
	cr_expect(!vq_should_notify(&env.vq, env.mem));

	/* an event inside a multi-slot list fires when the list is used */
	mock_packed_set_driver_event(&env.mv, 3, VRING_PACKED_EVENT_FLAG_DESC);
	struct mock_buf bufs[2] = {{mock_alloc(&env.mv, 4), 4, true},
				   {mock_alloc(&env.mv, 4), 4, true}};
	mock_packed_add(&env.mv, bufs, 2, 6); /* slots 2 and 3 of lap 2 */
	cr_assert_eq(pop(), 1);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	cr_expect(vq_should_notify(&env.vq, env.mem));

	/* an offset outside the ring names no descriptor and never fires */
	uint16_t offs[] = {4, 5, 6, 7, 0x7fff};
	uint16_t id = 7;
	for (int i = 0; i < 5; i++) {
		for (int w = 0; w < 2; w++) {
			mock_packed_set_driver_event(&env.mv, offs[i] | (w ? wrap1 : 0),
						     VRING_PACKED_EVENT_FLAG_DESC);
			complete_one(id++);
			cr_expect(!vq_should_notify(&env.vq, env.mem), "off %u wrap %d", offs[i],
				  w);
		}
	}
}

/* ---- device event suppression: available buffer notifications (2.8.10) ---- */

Test(packed, device_event_written)
{
	start(4, 0);
	uint16_t off_wrap, flags;
	cr_assert_eq(vq_disable_notify(&env.vq, env.mem), 0);
	mock_packed_device_event(&env.mv, &off_wrap, &flags);
	cr_expect_eq(flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 0);
	mock_packed_device_event(&env.mv, &off_wrap, &flags);
	cr_expect_eq(flags, VRING_PACKED_EVENT_FLAG_ENABLE);
}

Test(packed, device_event_desc_tracks_next_slot)
{
	start(2, EVENT_IDX);
	uint16_t off_wrap, flags;
	uint16_t wrap1 = 1u << VRING_PACKED_EVENT_F_WRAP_CTR;
	cr_assert_eq(vq_enable_notify(&env.vq, env.mem), 0);
	mock_packed_device_event(&env.mv, &off_wrap, &flags);
	cr_expect_eq(flags, VRING_PACKED_EVENT_FLAG_DESC);
	cr_expect_eq(off_wrap, 0 | wrap1);
	complete_one(0);
	mock_packed_device_event(&env.mv, &off_wrap, &flags);
	cr_expect_eq(off_wrap, 1 | wrap1);
	complete_one(1); /* wraps */
	mock_packed_device_event(&env.mv, &off_wrap, &flags);
	cr_expect_eq(off_wrap, 0);

	cr_assert_eq(vq_disable_notify(&env.vq, env.mem), 0);
	add_writable(4, 2); /* driver sees DISABLE, does not kick */
	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 1); /* re-check finds it */
	cr_assert_eq(pop(), 1);
	cr_expect_eq(vq_enable_notify(&env.vq, env.mem), 0);
}
