/* The virtio-mmio register file and the transport-independent device core, driven as the Linux
 * virtio_mmio driver drives them, with an "echo" device and the mock driver's rings. */
#include <criterion/criterion.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "tests/mock_driver/echo_device.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/core/device.h"
#include "virtio/transport/virtio_mmio.h"

#define QSIZE 16

static struct mock_ram ram;
static struct mock_vq mv;
static struct echo_device echo;
static struct virtio_mmio t;

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(mock_vq_init(&mv, &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	cr_assert_eq(echo_device_init(&echo, 1, &ram.mem), 0);
	virtio_mmio_init(&t, &echo.dev);
}

static void teardown(void)
{
	virtio_dev_destroy(&echo.dev);
	mock_vq_free(&mv);
	mock_ram_free(&ram);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;
	virtio_mmio_read(&t, off, &v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&t, off, &v, 4);
	virtio_dev_process_pending(&echo.dev); /* what the I/O thread does after a kick */
}

/* The driver's side of 3.1.1 up to FEATURES_OK; returns the status read back. */
static uint32_t negotiate(uint64_t features)
{
	wr(0x070, 0);
	wr(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(0x024, 0);
	wr(0x020, (uint32_t)features);
	wr(0x024, 1);
	wr(0x020, (uint32_t)(features >> 32));
	wr(0x070,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return rd(0x070);
}

static void setup_queue(uint32_t num)
{
	wr(0x030, 0);
	wr(0x038, num);
	wr(0x080, (uint32_t)mv.desc);
	wr(0x084, (uint32_t)(mv.desc >> 32));
	wr(0x090, (uint32_t)mv.driver);
	wr(0x094, 0);
	wr(0x0a0, (uint32_t)mv.device);
	wr(0x0a4, 0);
	wr(0x044, 1);
}

static void bring_up(void)
{
	cr_assert(negotiate(1ULL << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(QSIZE);
	wr(0x070, 0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(virtio_dev_running(&echo.dev));
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

Test(virtio_mmio, identity_registers)
{
	cr_assert_eq(rd(0x000), 0x74726976);
	cr_assert_eq(rd(0x004), 2);
	cr_assert_eq(rd(0x008), ECHO_DEVICE_ID);
	wr(0x014, 1);
	cr_assert_eq(rd(0x010), 1u << (VIRTIO_F_VERSION_1 - 32), "VERSION_1 offered");
	wr(0x014, 0);
	cr_assert_eq(rd(0x010), 1u << VIRTIO_RING_F_EVENT_IDX);
	wr(0x014, 7);
	cr_assert_eq(rd(0x010), 0);
	cr_assert_eq(rd(0x0b0), 0xffffffff, "no shared memory region");
}

Test(virtio_mmio, queue_registers_and_absent_queues)
{
	wr(0x030, 0);
	cr_assert_eq(rd(0x034), 64);
	wr(0x030, 1);
	cr_assert_eq(rd(0x034), 0, "QueueNumMax 0 for a queue that doesn't exist");
	wr(0x038, 8); /* ignored, no crash */
	wr(0x044, 1);
	cr_assert_eq(rd(0x044), 0);
	wr(0x030, 0xffffffff);
	cr_assert_eq(rd(0x034), 0);
}

Test(virtio_mmio, request_round_trip_and_interrupt)
{
	bring_up();
	uint64_t out = mock_fill(&mv, "ping", 4);
	uint64_t in = mock_alloc(&mv, 4);
	struct mock_buf bufs[] = {{out, 4, false}, {in, 4, true}};
	cr_assert_geq(mock_split_add(&mv, bufs, 2), 0);
	wr(0x050, 0);
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&mv, &id, &len), 1);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(mock_ram_host(&ram, in), "ping", 4), 0);
	cr_assert_eq(echo.raised, 1);
	cr_assert_eq(rd(0x060), VIRTIO_ISR_QUEUE);
	wr(0x064, VIRTIO_ISR_QUEUE);
	cr_assert_eq(rd(0x060), 0, "InterruptACK clears the bit");
}

Test(virtio_mmio, kicks_before_driver_ok_and_bad_queue_index_are_ignored)
{
	cr_assert(negotiate(1ULL << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(QSIZE);
	wr(0x050, 0);
	cr_assert_eq(echo.notifies, 0);
	wr(0x070, 0xf & ~VIRTIO_CONFIG_S_FAILED);
	wr(0x050, 5);
	wr(0x050, 0xffff);
	cr_assert_eq(echo.notifies, 0);
	wr(0x050, 0);
	cr_assert_eq(echo.notifies, 1, "a spurious kick is harmless");
}

Test(virtio_mmio, features_outside_the_offer_are_refused)
{
	uint32_t st = negotiate((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_PACKED));
	cr_assert_eq(st & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	st = negotiate(1ULL << VIRTIO_RING_F_EVENT_IDX);
	cr_assert_eq(st & VIRTIO_CONFIG_S_FEATURES_OK, 0, "no VERSION_1: refused");
	st = negotiate((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	cr_assert(st & VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(virtio_dev_has_feature(&echo.dev, VIRTIO_RING_F_EVENT_IDX));
}

Test(virtio_mmio, features_are_frozen_after_features_ok)
{
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	wr(0x024, 0);
	wr(0x020, 1u << VIRTIO_RING_F_EVENT_IDX);
	cr_assert_not(virtio_dev_has_feature(&echo.dev, VIRTIO_RING_F_EVENT_IDX));
}

Test(virtio_mmio, invalid_queue_at_driver_ok_needs_reset)
{
	cr_assert(negotiate(1ULL << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(3); /* not a power of two */
	wr(0x070, 0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_not(virtio_dev_running(&echo.dev));
	cr_assert_eq(echo.raised_config, 1, "config interrupt after DEVICE_NEEDS_RESET");
	cr_assert(rd(0x060) & VIRTIO_ISR_CONFIG);
	wr(0x070, 0);
	cr_assert_eq(rd(0x070), 0, "reset clears NEEDS_RESET");
	bring_up();
}

Test(virtio_mmio, driver_ok_without_features_ok_fails)
{
	wr(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

Test(virtio_mmio, broken_ring_breaks_only_the_device)
{
	bring_up();
	mock_split_set_avail_idx(&mv, QSIZE + 5); /* avail index jump */
	wr(0x050, 0);
	cr_assert(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(echo.raised_config, 1);
	wr(0x050, 0);
	cr_assert_eq(echo.notifies, 1, "a failed device is not served again");
}

Test(virtio_mmio, reset_clears_driver_state)
{
	bring_up();
	int before = echo.resets;
	wr(0x070, 0);
	cr_assert_eq(echo.resets, before + 1);
	cr_assert_eq(rd(0x070), 0);
	cr_assert_eq(rd(0x060), 0);
	wr(0x030, 0);
	cr_assert_eq(rd(0x044), 0, "queue no longer ready");
	cr_assert_eq(rd(0x038), 0, "queue size cleared");
	cr_assert_eq(echo.dev.driver_features, 0);
}

Test(virtio_mmio, status_bits_cannot_be_cleared_without_reset)
{
	bring_up();
	wr(0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cr_assert(rd(0x070) & VIRTIO_CONFIG_S_DRIVER_OK);
}

Test(virtio_mmio, queue_config_is_frozen_while_ready)
{
	bring_up();
	wr(0x030, 0);
	wr(0x038, 4);
	wr(0x080, 0x1234);
	cr_assert_eq(rd(0x038), QSIZE);
	cr_assert_eq(rd(0x080), (uint32_t)mv.desc);
}

Test(virtio_mmio, config_space_bounds_and_sizes)
{
	uint8_t b = 0;
	virtio_mmio_read(&t, 0x100 + 2, &b, 1);
	cr_assert_eq(b, 3);
	uint16_t w = 0;
	virtio_mmio_read(&t, 0x100 + 6, &w, 2);
	cr_assert_eq(w, 0x0807);
	uint32_t d = 0xdead;
	virtio_mmio_read(&t, 0x100 + 6, &d, 4);
	cr_assert_eq(d, 0x0807, "bytes past the config space read zero");
	virtio_mmio_read(&t, 0x1f0, &d, 4);
	cr_assert_eq(d, 0);
	wr(0x100, 0xffffffff); /* read-only config: no effect */
	cr_assert_eq(echo.config[0], 1);
}

Test(virtio_mmio, misaligned_or_narrow_register_accesses_are_ignored)
{
	uint16_t w = 0xffff;
	virtio_mmio_read(&t, 0x000, &w, 2);
	cr_assert_eq(w, 0);
	uint32_t v = 0xffffffff;
	virtio_mmio_read(&t, 0x002, &v, 4);
	cr_assert_eq(v, 0);
	uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	virtio_mmio_write(&t, 0x070, &st, 1);
	cr_assert_eq(rd(0x070), 0);
}

Test(virtio_mmio, config_change_bumps_generation)
{
	bring_up();
	uint32_t gen = rd(0x0fc);
	pthread_mutex_lock(&echo.dev.lock);
	virtio_dev_config_changed(&echo.dev);
	pthread_mutex_unlock(&echo.dev.lock);
	cr_assert_eq(rd(0x0fc), gen + 1);
	cr_assert(rd(0x060) & VIRTIO_ISR_CONFIG);
	cr_assert_eq(echo.raised_config, 1);
}

/* 4.2.2 / 2.7: QueueNum 0 (and 0x10000, 16-bit 0 meaning 65536) is refused at DRIVER_OK, as on
 * virtio-pci (test_virtio_pci.c, zero_queue_size_needs_reset_like_mmio). */
Test(virtio_mmio, zero_queue_size_needs_reset)
{
	static const uint32_t bad[] = {0, 0x10000, 128 /* > max 64 */};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(negotiate(1ULL << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
		setup_queue(bad[i]);
		cr_assert_eq(rd(0x038), bad[i], "QueueNum reads back what was written");
		wr(0x070, 0xf & ~VIRTIO_CONFIG_S_FAILED);
		cr_assert(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET, "size 0x%x refused", bad[i]);
		cr_assert_not(virtio_dev_running(&echo.dev));
		wr(0x070, 0);
	}
	bring_up();
}

/* 4.2.2.2: QueueReady 0 with a request in flight (popped by the device, not pushed) fails the
 * device, so the request can never complete into a re-enabled queue with a stale id. */
Test(virtio_mmio, queue_ready_0_with_requests_in_flight_needs_reset)
{
	bring_up();
	struct virtqueue *vq = &echo.dev.vqs[0];
	uint64_t in = mock_alloc(&mv, 4);
	struct mock_buf buf = {in, 4, true};
	cr_assert_geq(mock_split_add(&mv, &buf, 1), 0);
	struct vq_chain held; /* what an asynchronous device model keeps while I/O runs */
	cr_assert_eq(vq_pop(vq, &ram.mem, &held), 1);
	wr(0x044, 0);
	cr_assert_eq(rd(0x044), 0, "the driver reads 0 back (4.2.2.2)");
	cr_assert(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(echo.raised_config, 1);
	wr(0x044, 1);
	cr_assert_not(vq_is_active(vq), "no queue starts before the driver's reset");
	cr_assert_lt(vq_push(vq, &ram.mem, &held), 0, "the late completion goes nowhere");
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&mv, &id, &len), 0);
	wr(0x070, 0);
	bring_up();
}

/* Without requests in flight QueueReady 0 just resets the queue; it may be set up again. */
Test(virtio_mmio, queue_ready_0_when_idle_resets_the_queue)
{
	bring_up();
	wr(0x044, 0);
	cr_assert_eq(rd(0x044), 0);
	cr_assert_not(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_not(vq_is_active(&echo.dev.vqs[0]));
	cr_assert_eq(rd(0x038), 0, "queue configuration cleared");
	mock_vq_free(&mv);
	cr_assert_eq(mock_vq_init(&mv, &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	setup_queue(QSIZE);
	cr_assert(vq_is_active(&echo.dev.vqs[0]), "made ready while running: starts at once");
	uint64_t out = mock_fill(&mv, "pong", 4), in = mock_alloc(&mv, 4);
	struct mock_buf bufs[] = {{out, 4, false}, {in, 4, true}};
	cr_assert_geq(mock_split_add(&mv, bufs, 2), 0);
	wr(0x050, 0);
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&mv, &id, &len), 1);
	cr_assert_eq(memcmp(mock_ram_host(&ram, in), "pong", 4), 0);
}
