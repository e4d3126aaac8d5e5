/* Queue setup and lifecycle: sizes, ring extents and alignment (virtio 1.2 2.6, 2.7, 2.8.10.1),
 * reset, the broken state. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/queue/virtqueue.h"

#define PACKED (1ull << VIRTIO_F_RING_PACKED)

static struct mock_ram ram;
static struct virtqueue vq;
static const uint64_t base = MOCK_RAM_GPA;

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(vq_init(&vq, 256), 0);
}

static void teardown(void)
{
	mock_ram_free(&ram);
}

/* A legal split layout for `n` entries at the start of RAM. */
static void split_layout(uint32_t n)
{
	vq.num = n;
	vq.desc_addr = base;
	vq.driver_addr = base + 16ull * n;
	vq.device_addr = (vq.driver_addr + 6 + 2ull * n + 3) & ~3ull;
}

static void packed_layout(uint32_t n)
{
	vq.num = n;
	vq.desc_addr = base;
	vq.driver_addr = base + 16ull * n;
	vq.device_addr = vq.driver_addr + 4;
}

TestSuite(virtqueue, .init = setup, .fini = teardown);

Test(virtqueue, init_rejects_bad_max)
{
	struct virtqueue q;
	cr_expect_eq(vq_init(&q, 0), -EINVAL);
	cr_expect_eq(vq_init(&q, 32768), 0);
	cr_expect_eq(q.max_size, 32768);
	cr_expect_eq(vq_init(&q, 40000), -EINVAL);
}

Test(virtqueue, legal_split_activates)
{
	split_layout(256);
	cr_assert_eq(vq_activate(&vq, &ram.mem, 0), 0);
	cr_expect(vq_is_active(&vq));
	cr_expect_eq(vq.size, 256);
	cr_expect(!vq.packed);
}

Test(virtqueue, bad_sizes)
{
	uint32_t bad[] = {0, 3, 100, 255, 512 /* > max 256 */, 0x10000, 0x10000 + 256, 0xffffffff};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		split_layout(256);
		vq.num = bad[i];
		cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_SIZE, "size %u", bad[i]);
		cr_expect(!vq_is_active(&vq));
	}
	uint32_t good[] = {1, 2, 64, 256};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		split_layout(good[i]);
		cr_expect_eq(vq_activate(&vq, &ram.mem, 0), 0, "size %u", good[i]);
	}
}

Test(virtqueue, size_limit_32768)
{
	cr_assert_eq(vq_init(&vq, 32768), 0);
	split_layout(32768);
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), 0);
	cr_expect_eq(vq.size, 32768);
	split_layout(0x10000); /* would be 0 in 16 bits */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_SIZE);
}

Test(virtqueue, packed_sizes_need_not_be_powers_of_two)
{
	packed_layout(100);
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), 0);
	cr_expect_eq(vq.size, 100);
	packed_layout(0);
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_SIZE);
	packed_layout(257);
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_SIZE);
}

Test(virtqueue, split_misaligned_rings)
{
	split_layout(16);
	vq.desc_addr += 8;
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_ALIGN);
	split_layout(16);
	vq.driver_addr += 1;
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_ALIGN);
	split_layout(16);
	vq.device_addr += 2;
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_ALIGN);
	split_layout(16);
	vq.driver_addr += 2; /* 2-aligned is enough for avail */
	vq.device_addr += 4; /* 4-aligned is enough for used */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), 0);
}

Test(virtqueue, packed_misaligned_rings)
{
	packed_layout(16);
	vq.desc_addr += 4;
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_RING_ALIGN);
	packed_layout(16);
	vq.driver_addr += 2;
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_RING_ALIGN);
	packed_layout(16);
	vq.device_addr += 2;
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_RING_ALIGN);
}

/* The whole extent is checked, not just the start: the last byte of each ring must be RAM. */
Test(virtqueue, split_ring_extents_past_ram_end)
{
	uint64_t end = base + MOCK_RAM_SIZE;
	split_layout(256);
	vq.desc_addr = end - 16 * 256 + 16; /* starts in RAM, last entry past the end */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_RANGE);
	split_layout(256);
	vq.desc_addr = end - 16 * 256; /* exactly fits */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), 0);

	split_layout(256);
	vq.driver_addr = end - (6 + 2 * 256) + 2; /* used_event would be past the end */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_RANGE);
	split_layout(256);
	vq.driver_addr = end - (6 + 2 * 256);
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), 0);

	split_layout(256);
	vq.device_addr = end - (6 + 8 * 256) + 2; /* avail_event past the end */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_RANGE);
	split_layout(256);
	vq.device_addr = end - (6 + 8 * 256 + 2); /* 4-aligned and fits */
	cr_expect_eq(vq_activate(&vq, &ram.mem, 0), 0);
}

Test(virtqueue, ring_outside_ram_and_overflowing)
{
	uint64_t addrs[] = {0, base - 16, 0xfffffffffffffff0ull, 0xffffffffffff0000ull};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		split_layout(256);
		vq.desc_addr = addrs[i];
		cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_RANGE, "desc %#lx",
			     (unsigned long)addrs[i]);
		split_layout(256);
		vq.device_addr = addrs[i] & ~3ull;
		cr_expect_eq(vq_activate(&vq, &ram.mem, 0), -VQ_E_RING_RANGE);
		packed_layout(256);
		vq.driver_addr = addrs[i] & ~3ull;
		cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_RING_RANGE);
	}
	/* 2.8.10.1: event suppression areas are 4 bytes; the last 2 bytes of RAM don't fit one */
	packed_layout(16);
	vq.device_addr = base + MOCK_RAM_SIZE - 4;
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), 0);
	vq.device_addr = base + MOCK_RAM_SIZE;
	cr_expect_eq(vq_activate(&vq, &ram.mem, PACKED), -VQ_E_RING_RANGE);
}

Test(virtqueue, features_are_recorded)
{
	split_layout(16);
	cr_assert_eq(
	    vq_activate(&vq, &ram.mem,
			(1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC)),
	    0);
	cr_expect(vq.event_idx);
	cr_expect(vq.indirect);
	cr_expect(!vq.packed);
	packed_layout(16);
	cr_assert_eq(vq_activate(&vq, &ram.mem, PACKED), 0);
	cr_expect(vq.packed);
	cr_expect(!vq.event_idx);
	cr_expect(!vq.indirect);
	cr_expect(vq.avail_wrap);
	cr_expect(vq.used_wrap);
}

Test(virtqueue, inactive_queue_is_not_touched)
{
	struct vq_chain chain;
	split_layout(16);
	/* never activated: a kick is harmless, completions are refused */
	cr_expect_eq(vq_pop(&vq, &ram.mem, &chain), 0);
	cr_expect_eq(vq_add_used(&vq, &ram.mem, (struct vq_used){0, 1, 0}), -VQ_E_NOT_READY);
	cr_expect_eq(vq_publish_used(&vq, &ram.mem), -VQ_E_NOT_READY);
	cr_expect(!vq_should_notify(&vq, &ram.mem));
	cr_expect_eq(vq_enable_notify(&vq, &ram.mem), -VQ_E_NOT_READY);
	cr_expect(!vq_is_broken(&vq));
}

Test(virtqueue, broken_stays_broken_until_reset)
{
	struct mock_env env;
	struct vq_chain chain;
	cr_assert_eq(mock_env_init(&env, 8, false, 0), 0);
	mock_split_set_avail_idx(&env.mv, 9); /* 9 > size 8 */
	cr_expect_eq(vq_pop(&env.vq, env.mem, &chain), -VQ_E_AVAIL_IDX);
	cr_expect(vq_is_broken(&env.vq));
	cr_expect_eq(env.vq.error, -VQ_E_AVAIL_IDX);

	/* fixing the ring does not revive the queue */
	mock_split_set_avail_idx(&env.mv, 0);
	cr_expect_eq(vq_pop(&env.vq, env.mem, &chain), -VQ_E_BROKEN);
	cr_expect_eq(vq_publish_used(&env.vq, env.mem), -VQ_E_BROKEN);
	cr_expect(!vq_should_notify(&env.vq, env.mem));

	vq_reset(&env.vq);
	cr_expect(!vq_is_broken(&env.vq));
	cr_expect(!vq_is_active(&env.vq));
	cr_expect_eq(env.vq.max_size, VQ_MAX_SIZE);
	cr_expect_eq(env.vq.num, 0);
	cr_expect_eq(env.vq.last_avail, 0);
	cr_expect_eq(env.vq.desc_addr, 0);
	cr_expect_eq(vq_pop(&env.vq, env.mem, &chain), 0);

	/* re-activated with a sane ring it works again */
	struct mock_buf b = {mock_alloc(&env.mv, 8), 8, false};
	cr_assert_eq(mock_vq_attach(&env.mv, &env.vq, 0), 0);
	cr_assert_eq(mock_split_add(&env.mv, &b, 1), 0);
	cr_expect_eq(vq_pop(&env.vq, env.mem, &chain), 1);
	mock_env_free(&env);
}

Test(virtqueue, reset_clears_state)
{
	struct mock_env env;
	struct vq_chain chain;
	cr_assert_eq(mock_env_init(&env, 8, true, 1ull << VIRTIO_RING_F_EVENT_IDX), 0);
	struct mock_buf b = {mock_alloc(&env.mv, 8), 8, true};
	mock_packed_add(&env.mv, &b, 1, 5);
	cr_assert_eq(vq_pop(&env.vq, env.mem, &chain), 1);
	cr_expect_eq(env.vq.inflight, 1);
	vq_reset(&env.vq);
	struct virtqueue fresh;
	vq_init(&fresh, VQ_MAX_SIZE);
	cr_expect_eq(memcmp(&env.vq, &fresh, sizeof(fresh)), 0);
	/* a completion arriving after reset is refused, not written into a stale ring */
	cr_expect_eq(vq_push(&env.vq, env.mem, &chain), -VQ_E_NOT_READY);
	mock_env_free(&env);
}

Test(virtqueue, strerror_names_every_code)
{
	for (int e = VQ_E_NOT_READY; e < VQ_E_MAX; e++) {
		const char *s = vq_strerror(-e);
		cr_assert_not_null(s);
		cr_expect(strlen(s) > 5, "code %d", e);
	}
	cr_expect_str_eq(vq_strerror(-EFAULT), strerror(EFAULT));
}

/* Alignment is checked on the guest address and on the host address the atomics will use: here
 * RAM is mapped 8 bytes off a 16-byte boundary, so only one of the two is aligned at a time. */
Test(virtqueue, guest_and_host_alignment)
{
	struct guest_mem skewed = {0};
	uint8_t *buf = aligned_alloc(4096, 8192);
	cr_assert_not_null(buf);
	cr_assert_eq(guest_mem_add_region(&skewed, base, buf + 8, 4096), 0);
	split_layout(4);
	vq.desc_addr = base + 8; /* host address buf + 16: aligned; guest address is not */
	cr_expect_eq(vq_activate(&vq, &skewed, 0), -VQ_E_RING_ALIGN);
	split_layout(4);
	vq.desc_addr = base; /* guest address aligned, host address buf + 8 is not */
	cr_expect_eq(vq_activate(&vq, &skewed, 0), -VQ_E_RING_ALIGN);
	free(buf);
}
