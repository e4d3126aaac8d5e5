/* The chain walker (virtio 1.2 2.7.5, 2.7.5.3, 2.8.6, 2.8.7): every hostile chain the checklist
 * names, built by the mock driver, must break the queue with the right named error. */
#include <criterion/criterion.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/queue/virtqueue.h"

#define INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define NEXT	 VRING_DESC_F_NEXT
#define WRITE	 VRING_DESC_F_WRITE
#define IND	 VRING_DESC_F_INDIRECT

static struct mock_env env;
static struct vq_chain chain;
static bool started;

static void start(uint16_t size, bool packed, uint64_t features)
{
	cr_assert_eq(mock_env_init(&env, size, packed, features), 0);
	started = true;
}

static void stop(void)
{
	if (started)
		mock_env_free(&env);
	started = false;
}

TestSuite(chain, .fini = stop);

static int pop(void)
{
	return vq_pop(&env.vq, env.mem, &chain);
}

/* Publishes head 0 of a hand-written split descriptor table. */
static void publish_head(uint16_t head)
{
	mock_split_avail_entry(&env.mv, env.mv.avail_idx, head);
	mock_split_set_avail_idx(&env.mv, (uint16_t)(env.mv.avail_idx + 1));
}

static uint64_t buf(uint32_t len)
{
	return mock_alloc(&env.mv, len);
}

static void expect_broken(int err)
{
	cr_expect_eq(pop(), err, "expected %s", vq_strerror(err));
	cr_expect(vq_is_broken(&env.vq));
	cr_expect_eq(env.vq.error, err);
}

Test(chain, next_out_of_range)
{
	start(8, false, 0);
	mock_split_desc(&env.mv, 0, buf(8), 8, NEXT, 8);
	publish_head(0);
	expect_broken(-VQ_E_NEXT);
}

Test(chain, self_loop)
{
	start(8, false, 0);
	mock_split_desc(&env.mv, 3, buf(8), 8, NEXT, 3);
	publish_head(3);
	expect_broken(-VQ_E_LOOP);
}

Test(chain, two_descriptor_loop)
{
	start(8, false, 0);
	uint64_t a = buf(8);
	mock_split_desc(&env.mv, 0, a, 8, NEXT, 1);
	mock_split_desc(&env.mv, 1, a, 8, NEXT, 0);
	publish_head(0);
	expect_broken(-VQ_E_LOOP);
}

Test(chain, loop_of_zero_length_descriptors)
{
	start(8, false, 0);
	mock_split_desc(&env.mv, 0, 0, 0, NEXT, 1);
	mock_split_desc(&env.mv, 1, 0, 0, NEXT, 0);
	publish_head(0);
	expect_broken(-VQ_E_LOOP);
}

/* Exactly queue-size descriptors is legal; the walk must not call it a loop. */
Test(chain, maximal_chain_split)
{
	start(16, false, 0);
	struct mock_buf bufs[16];
	for (int i = 0; i < 16; i++)
		bufs[i] = (struct mock_buf){buf(4), 4, i >= 8};
	cr_assert_eq(mock_split_add(&env.mv, bufs, 16), 0);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.ndescs, 16);
	cr_expect_eq(chain.nsegs, 16);
	cr_expect_eq(chain.nreadable, 8);
	cr_expect_eq(chain.readable_len, 32);
	cr_expect_eq(chain.writable_len, 32);
	for (int i = 0; i < 16; i++)
		cr_expect_eq(chain.segs[i].addr, bufs[i].addr);
}

/* 1024 descriptors of the whole 4 MiB RAM each sum to exactly 2^32: one byte too many. */
Test(chain, total_length_overflows_32_bits)
{
	start(1024, false, 0);
	for (uint16_t i = 0; i < 1024; i++)
		mock_split_desc(&env.mv, i, MOCK_RAM_GPA, (uint32_t)MOCK_RAM_SIZE,
				i < 1023 ? NEXT : 0, (uint16_t)(i + 1));
	publish_head(0);
	expect_broken(-VQ_E_CHAIN_LEN);
}

Test(chain, total_length_just_below_4_gib)
{
	start(1024, false, 0);
	for (uint16_t i = 0; i < 1024; i++)
		mock_split_desc(&env.mv, i, MOCK_RAM_GPA, (uint32_t)MOCK_RAM_SIZE - (i == 0),
				i < 1023 ? NEXT : 0, (uint16_t)(i + 1));
	publish_head(0);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.readable_len, 0xffffffffu);
	cr_expect_eq(chain.nsegs, 1024);
}

Test(chain, readable_after_writable)
{
	start(8, false, 0);
	mock_split_desc(&env.mv, 0, buf(8), 8, WRITE | NEXT, 1);
	mock_split_desc(&env.mv, 1, buf(8), 8, 0, 0);
	publish_head(0);
	expect_broken(-VQ_E_ORDER);
}

Test(chain, readable_after_writable_packed)
{
	start(8, true, 0);
	struct mock_buf bufs[2] = {{buf(8), 8, true}, {buf(8), 8, false}};
	mock_packed_add(&env.mv, bufs, 2, 1);
	expect_broken(-VQ_E_ORDER);
}

Test(chain, buffer_outside_ram)
{
	uint64_t end = MOCK_RAM_GPA + MOCK_RAM_SIZE;
	struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
	    {0, 16},			 /* below RAM */
	    {MOCK_RAM_GPA - 8, 16},	 /* straddles the start */
	    {end - 8, 16},		 /* straddles the end */
	    {end, 1},			 /* just past */
	    {0xfffffffffffffff0ull, 32}, /* addr + len wraps */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(8, false, 0);
		mock_split_desc(&env.mv, 0, bad[i].addr, bad[i].len, 0, 0);
		publish_head(0);
		expect_broken(-VQ_E_BUF_RANGE);
		stop();
	}
	start(8, false, 0);
	mock_split_desc(&env.mv, 0, end - 16, 16, 0, 0); /* the last 16 bytes are fine */
	publish_head(0);
	cr_expect_eq(pop(), 1);
}

Test(chain, buffer_outside_ram_packed)
{
	start(8, true, 0);
	struct mock_buf b = {MOCK_RAM_GPA + MOCK_RAM_SIZE - 4, 8, true};
	mock_packed_add(&env.mv, &b, 1, 0);
	expect_broken(-VQ_E_BUF_RANGE);
}

/* Zero-length buffers are accepted and skipped; their address is not looked at. */
Test(chain, zero_length_buffers_are_skipped)
{
	start(8, false, 0);
	uint64_t r = buf(8), w = buf(8);
	mock_split_desc(&env.mv, 0, 0xdead0000, 0, NEXT, 1);
	mock_split_desc(&env.mv, 1, r, 8, NEXT, 2);
	mock_split_desc(&env.mv, 2, 0, 0, NEXT | WRITE, 3);
	mock_split_desc(&env.mv, 3, w, 8, WRITE, 0);
	publish_head(0);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.ndescs, 4);
	cr_expect_eq(chain.nsegs, 2);
	cr_expect_eq(chain.nreadable, 1);
	cr_expect_eq(chain.segs[0].addr, r);
	cr_expect_eq(chain.segs[1].addr, w);
	cr_expect_eq(vq_chain_readable(&chain), 8);
	cr_expect_eq(vq_chain_writable(&chain), 8);
}

Test(chain, only_zero_length_buffers)
{
	start(8, false, 0);
	mock_split_desc(&env.mv, 0, 0, 0, 0, 0);
	publish_head(0);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.nsegs, 0);
	cr_expect_eq(vq_chain_readable(&chain), 0);
	cr_expect_eq(vq_chain_writable(&chain), 0);
	cr_expect_eq(vq_push(&env.vq, env.mem, &chain), 0);
}

Test(chain, zero_length_readable_after_writable_still_breaks)
{
	start(8, false, 0);
	mock_split_desc(&env.mv, 0, buf(8), 8, WRITE | NEXT, 1);
	mock_split_desc(&env.mv, 1, 0, 0, 0, 0);
	publish_head(0);
	expect_broken(-VQ_E_ORDER);
}

Test(chain, segment_cap)
{
	start(2048, false, 0);
	struct mock_buf *bufs = calloc(1025, sizeof(*bufs));
	uint64_t a = buf(16);
	for (int i = 0; i < 1025; i++)
		bufs[i] = (struct mock_buf){a, 1, false};
	cr_assert_eq(mock_split_add(&env.mv, bufs, 1024), 0);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.nsegs, VQ_CHAIN_MAX_SEGS);
	cr_assert_eq(mock_split_add(&env.mv, bufs, 1025), 1024);
	expect_broken(-VQ_E_TOO_MANY_SEGS);
	free(bufs);
}

/* ---- indirect descriptors (2.7.5.3) ---- */

Test(chain, indirect_round_trip_split)
{
	start(8, false, INDIRECT);
	struct mock_buf bufs[3] = {{buf(5), 5, false}, {buf(6), 6, false}, {buf(7), 7, true}};
	int head = mock_split_add_indirect(&env.mv, bufs, 3);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, head);
	cr_expect_eq(chain.ndescs, 1);
	cr_expect_eq(chain.nsegs, 3);
	cr_expect_eq(chain.readable_len, 11);
	cr_expect_eq(chain.writable_len, 7);
	cr_expect_eq(chain.segs[1].addr, bufs[1].addr);
}

Test(chain, indirect_without_feature)
{
	start(8, false, 0);
	struct mock_buf b = {buf(8), 8, true};
	mock_split_add_indirect(&env.mv, &b, 1);
	expect_broken(-VQ_E_INDIRECT_FEATURE);
}

Test(chain, indirect_bad_lengths)
{
	uint32_t lens[] = {0, 8, 17, 24, 16 * (VQ_CHAIN_MAX_SEGS + 1)};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		start(8, false, INDIRECT);
		uint64_t table = buf(16 * (VQ_CHAIN_MAX_SEGS + 1));
		mock_split_table_desc(&env.mv, table, 0, buf(8), 8, 0, 0);
		mock_split_desc(&env.mv, 0, table, lens[i], IND, 0);
		publish_head(0);
		expect_broken(-VQ_E_INDIRECT_LEN);
		stop();
	}
}

Test(chain, indirect_table_outside_ram)
{
	uint64_t end = MOCK_RAM_GPA + MOCK_RAM_SIZE;
	uint64_t addrs[] = {0, end - 16, 0xfffffffffffffff0ull};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		start(8, false, INDIRECT);
		mock_split_desc(&env.mv, 0, addrs[i], 32, IND, 0);
		publish_head(0);
		expect_broken(-VQ_E_INDIRECT_RANGE);
		stop();
	}
}

Test(chain, indirect_nested)
{
	start(8, false, INDIRECT);
	struct mock_buf inner = {buf(8), 8, true};
	uint64_t inner_table = mock_split_table(&env.mv, &inner, 1);
	uint64_t outer = buf(32);
	mock_split_table_desc(&env.mv, outer, 0, buf(8), 8, NEXT, 1);
	mock_split_table_desc(&env.mv, outer, 1, inner_table, 16, IND, 0);
	mock_split_desc(&env.mv, 0, outer, 32, IND, 0);
	publish_head(0);
	expect_broken(-VQ_E_INDIRECT_NESTED);
}

Test(chain, indirect_nested_packed)
{
	start(8, true, INDIRECT);
	struct mock_buf inner = {buf(8), 8, true};
	struct mock_buf outer = {mock_packed_table(&env.mv, &inner, 1), 16, false};
	uint64_t table = mock_packed_table(&env.mv, &outer, 1);
	/* mark the table entry INDIRECT by hand */
	uint16_t f = VRING_DESC_F_INDIRECT;
	memcpy(mock_ram_host(&env.ram, table + 14), &f, 2);
	uint16_t avail = mock_packed_avail_bits(true);
	mock_packed_desc(&env.mv, 0, table, 16, 0, avail | IND);
	expect_broken(-VQ_E_INDIRECT_NESTED);
}

Test(chain, indirect_with_next)
{
	start(8, false, INDIRECT);
	struct mock_buf b = {buf(8), 8, true};
	uint64_t table = mock_split_table(&env.mv, &b, 1);
	mock_split_desc(&env.mv, 0, table, 16, IND | NEXT, 1);
	mock_split_desc(&env.mv, 1, buf(8), 8, WRITE, 0);
	publish_head(0);
	expect_broken(-VQ_E_INDIRECT_NEXT);
}

Test(chain, indirect_table_loop_and_next)
{
	start(8, false, INDIRECT);
	uint64_t table = buf(32);
	uint64_t a = buf(8);
	mock_split_table_desc(&env.mv, table, 0, a, 8, NEXT, 1);
	mock_split_table_desc(&env.mv, table, 1, a, 8, NEXT, 0);
	mock_split_desc(&env.mv, 0, table, 32, IND, 0);
	publish_head(0);
	expect_broken(-VQ_E_LOOP);
	stop();

	start(8, false, INDIRECT);
	table = buf(32);
	mock_split_table_desc(&env.mv, table, 0, buf(8), 8, NEXT, 2); /* table has 2 entries */
	mock_split_desc(&env.mv, 0, table, 32, IND, 0);
	publish_head(0);
	expect_broken(-VQ_E_NEXT);
}

/* 2.7.5.3.2: "zero or more normal chained descriptors followed by a single descriptor with
 * flags&VIRTQ_DESC_F_INDIRECT"; the WRITE flag of the indirect descriptor is ignored. */
Test(chain, direct_then_indirect_split)
{
	start(8, false, INDIRECT);
	struct mock_buf tb[2] = {{buf(3), 3, false}, {buf(4), 4, true}};
	uint64_t table = mock_split_table(&env.mv, tb, 2);
	uint64_t hdr = buf(2);
	mock_split_desc(&env.mv, 5, hdr, 2, NEXT, 6);
	mock_split_desc(&env.mv, 6, table, 32, IND | WRITE, 0);
	publish_head(5);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.id, 5);
	cr_expect_eq(chain.ndescs, 2);
	cr_expect_eq(chain.nsegs, 3);
	cr_expect_eq(chain.segs[0].addr, hdr);
	cr_expect_eq(chain.readable_len, 5);
	cr_expect_eq(chain.writable_len, 4);
}

Test(chain, maximal_indirect_table)
{
	start(8, false, INDIRECT);
	struct mock_buf *bufs = calloc(VQ_CHAIN_MAX_SEGS, sizeof(*bufs));
	uint64_t a = buf(8);
	for (unsigned i = 0; i < VQ_CHAIN_MAX_SEGS; i++)
		bufs[i] = (struct mock_buf){a, 8, i >= 512};
	mock_split_add_indirect(&env.mv, bufs, VQ_CHAIN_MAX_SEGS);
	cr_assert_eq(pop(), 1);
	cr_expect_eq(chain.nsegs, VQ_CHAIN_MAX_SEGS);
	cr_expect_eq(chain.nreadable, 512);
	free(bufs);
}

/* ---- copy once (no double fetch) ---- */

Test(chain, descriptor_changed_after_pop_does_not_change_chain)
{
	start(8, false, INDIRECT);
	uint64_t r = buf(8), w = buf(8), evil = buf(64);
	struct mock_buf tb[1] = {{w, 8, true}};
	uint64_t table = mock_split_table(&env.mv, tb, 1);
	mock_split_desc(&env.mv, 0, r, 8, NEXT, 1);
	mock_split_desc(&env.mv, 1, table, 16, IND, 0);
	publish_head(0);
	memcpy(mock_ram_host(&env.ram, r), "ORIGINAL", 8);
	cr_assert_eq(pop(), 1);

	/* the driver rewrites everything after the pop */
	mock_split_desc(&env.mv, 0, evil, 64, WRITE, 0);
	mock_split_desc(&env.mv, 1, 0, 0xffffffff, 0, 0);
	mock_split_table_desc(&env.mv, table, 0, r, 64, 0, 0);

	cr_expect_eq(chain.nsegs, 2);
	cr_expect_eq(chain.segs[0].addr, r);
	cr_expect_eq(chain.segs[0].len, 8);
	cr_expect(!chain.segs[0].writable);
	cr_expect_eq(chain.segs[1].addr, w);
	cr_expect_eq(chain.segs[1].len, 8);
	char got[8];
	cr_assert_eq(vq_chain_read(&chain, env.mem, got, 8), 0);
	cr_expect_eq(memcmp(got, "ORIGINAL", 8), 0);
	cr_assert_eq(vq_chain_write(&chain, env.mem, "written!", 8), 0);
	cr_expect_eq(memcmp(mock_ram_host(&env.ram, w), "written!", 8), 0);
	cr_expect_eq(memcmp(mock_ram_host(&env.ram, r), "ORIGINAL", 8), 0);
}

Test(chain, packed_descriptor_changed_after_pop)
{
	start(4, true, 0);
	uint64_t w = buf(8);
	struct mock_buf b = {w, 8, true};
	mock_packed_add(&env.mv, &b, 1, 3);
	cr_assert_eq(pop(), 1);
	mock_packed_desc(&env.mv, 0, 0, 0xffffffff, 0xbeef,
			 mock_packed_avail_bits(true) | VRING_DESC_F_NEXT);
	cr_expect_eq(chain.id, 3);
	cr_expect_eq(chain.segs[0].addr, w);
	cr_expect_eq(chain.writable_len, 8);
	cr_assert_eq(vq_chain_write(&chain, env.mem, "12345678", 8), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	cr_expect_eq(memcmp(mock_ram_host(&env.ram, w), "12345678", 8), 0);
}
