#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "base/stats.h"
#include "base/stats_test.h"
#include "devices/boot_timer.h"

struct buses {
	struct io_bus mmio, pio;
	struct boot_timer t;
};

static void setup(struct buses *b)
{
	stats_init();
	io_bus_init(&b->mmio, "mmio");
	io_bus_init(&b->pio, "pio");
	cr_assert_eq(boot_timer_attach(&b->t, &b->mmio, &b->pio, PORT_BOOT_TIMER), 0);
}

static void teardown(struct buses *b)
{
	boot_timer_detach(&b->t, &b->mmio, &b->pio);
	io_bus_destroy(&b->mmio);
	io_bus_destroy(&b->pio);
}

Test(boot_timer, magic_byte_at_mmio_base_records_the_phase)
{
	struct buses b;
	uint8_t magic = BOOT_TIMER_MAGIC;
	uint64_t ns;

	setup(&b);
	cr_assert_not(stats_get_ns(STATS_BOOT_TIMER, &ns));
	cr_assert_eq(io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE, &magic, 1), 1);
	cr_assert_eq(b.t.hits, 1);
	cr_assert_eq(stats_boot_timer_hits(), 1);
	cr_assert(stats_get_ns(STATS_BOOT_TIMER, &ns));
	teardown(&b);
}

Test(boot_timer, magic_at_old_port_counts_too)
{
	struct buses b;
	uint8_t magic = BOOT_TIMER_MAGIC;

	setup(&b);
	cr_assert_eq(io_bus_write(&b.pio, PORT_BOOT_TIMER, &magic, 1), 1);
	cr_assert_eq(b.t.hits, 1);
	cr_assert_eq(io_bus_write(&b.pio, PORT_BOOT_TIMER + 1, &magic, 1), 0, "one port only");
	cr_assert_eq(b.t.hits, 1);
	teardown(&b);
}

Test(boot_timer, wider_store_of_magic_counts_other_values_do_not)
{
	struct buses b;
	uint32_t wide = BOOT_TIMER_MAGIC;
	uint8_t other = BOOT_TIMER_MAGIC + 1;

	setup(&b);
	io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE, &other, 1);
	cr_assert_eq(b.t.hits, 0);
	cr_assert_not(stats_get_ns(STATS_BOOT_TIMER, &(uint64_t){0}));
	io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE, &wide, 4);
	cr_assert_eq(b.t.hits, 1);
	teardown(&b);
}

Test(boot_timer, writes_elsewhere_in_the_page_are_claimed_and_ignored)
{
	struct buses b;
	uint8_t magic = BOOT_TIMER_MAGIC;
	uint32_t v = 0xdeadbeef;

	setup(&b);
	cr_assert_eq(io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE + 8, &magic, 1), 1);
	cr_assert_eq(io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE + 0xffc, &magic, 4), 1);
	cr_assert_eq(b.t.hits, 0);
	cr_assert_eq(io_bus_read(&b.mmio, BOOT_TIMER_MMIO_BASE, &v, 4), 1);
	cr_assert_eq(v, 0);
	cr_assert_eq(io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE + BOOT_TIMER_MMIO_SIZE, &magic, 1),
		     0, "the page ends at 0x%llx",
		     (unsigned long long)(BOOT_TIMER_MMIO_BASE + BOOT_TIMER_MMIO_SIZE));
	teardown(&b);
}

Test(boot_timer, first_hit_is_kept_later_hits_counted)
{
	struct buses b;
	uint8_t magic = BOOT_TIMER_MAGIC;
	uint64_t first, again;

	setup(&b);
	io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE, &magic, 1);
	cr_assert(stats_get_ns(STATS_BOOT_TIMER, &first));
	io_bus_write(&b.pio, PORT_BOOT_TIMER, &magic, 1);
	io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE, &magic, 1);
	cr_assert_eq(b.t.hits, 3);
	cr_assert_eq(stats_boot_timer_hits(), 3);
	cr_assert(stats_get_ns(STATS_BOOT_TIMER, &again));
	cr_assert_eq(again, first);
	teardown(&b);
}

Test(boot_timer, detach_releases_both_ranges)
{
	struct buses b;
	uint8_t magic = BOOT_TIMER_MAGIC;

	setup(&b);
	boot_timer_detach(&b.t, &b.mmio, &b.pio);
	cr_assert_eq(io_bus_write(&b.mmio, BOOT_TIMER_MMIO_BASE, &magic, 1), 0);
	cr_assert_eq(io_bus_write(&b.pio, PORT_BOOT_TIMER, &magic, 1), 0);
	cr_assert_eq(b.t.hits, 0);
	boot_timer_detach(&b.t, &b.mmio, &b.pio); /* twice is harmless */
	io_bus_destroy(&b.mmio);
	io_bus_destroy(&b.pio);
}

Test(boot_timer, port_conflict_leaves_nothing_claimed)
{
	struct io_bus mmio, pio;
	struct boot_timer t, other;
	uint8_t magic = BOOT_TIMER_MAGIC;

	io_bus_init(&mmio, "mmio");
	io_bus_init(&pio, "pio");
	cr_assert_eq(boot_timer_attach(&other, NULL, &pio, PORT_BOOT_TIMER), 0);
	cr_assert_eq(boot_timer_attach(&t, &mmio, &pio, PORT_BOOT_TIMER), -EEXIST);
	cr_assert_not(t.mmio_attached);
	cr_assert_eq(io_bus_write(&mmio, BOOT_TIMER_MMIO_BASE, &magic, 1), 0);
	boot_timer_detach(&other, NULL, &pio);
	io_bus_destroy(&mmio);
	io_bus_destroy(&pio);
}
