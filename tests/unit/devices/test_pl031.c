/* PL031 real-time clock through a real MMIO bus, with a clock the test moves: the time the guest
 * reads and sets, the match interrupt the way Linux's rtc-pl031 arms and clears it, snapshots. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pl031.h"

#define BASE 0x40003000ULL
#define LINE 1

static struct io_bus bus;
static struct pl031 rtc;
static time_t host_time;
static int levels[64], nlevels;
static int armed_calls;
static int64_t armed_saw; /* pl031_next_match() asked from inside the armed callback */

static time_t fake_now(void *opaque)
{
	(void)opaque;
	return host_time;
}

static void rec_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	cr_assert_eq(gsi, LINE);
	cr_assert_lt(nlevels, 64);
	levels[nlevels++] = level;
}

static int line(void)
{
	return nlevels ? levels[nlevels - 1] : 0;
}

static void setup(void)
{
	struct irq_line irq = {.set = rec_irq, .gsi = LINE};

	host_time = 1700000000;
	nlevels = 0;
	armed_calls = 0;
	armed_saw = -2;
	io_bus_init(&bus, "mmio");
	cr_assert_eq(pl031_attach(&rtc, &bus, BASE, irq, fake_now, NULL), 0);
}

static void teardown(void)
{
	pl031_detach(&rtc, &bus);
	io_bus_destroy(&bus);
}

static uint32_t rd(uint64_t reg)
{
	uint32_t v = 0xdeadbeef;

	cr_assert_eq(io_bus_read(&bus, BASE + reg, &v, 4), 1);
	return v;
}

static void wr(uint64_t reg, uint32_t v)
{
	cr_assert_eq(io_bus_write(&bus, BASE + reg, &v, 4), 1);
}

TestSuite(pl031, .init = setup, .fini = teardown);

Test(pl031, primecell_ids)
{
	static const uint8_t want[8] = {0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

	for (int i = 0; i < 8; i++)
		cr_assert_eq(rd(PL031_PERIPHID0 + 4 * (uint64_t)i), want[i], "ID byte %d", i);
}

Test(pl031, reads_the_host_clock)
{
	cr_assert_eq(rd(PL031_DR), 1700000000);
	host_time += 5;
	cr_assert_eq(rd(PL031_DR), 1700000005);
	cr_assert_eq(rd(PL031_CR), 1, "the counter runs");
	wr(PL031_CR, 0);
	cr_assert_eq(rd(PL031_CR), 1, "and cannot be stopped");
}

Test(pl031, guest_sets_the_time_through_lr)
{
	wr(PL031_LR, 1000);
	cr_assert_eq(rd(PL031_DR), 1000);
	cr_assert_eq(rd(PL031_LR), 1000);
	host_time += 60;
	cr_assert_eq(rd(PL031_DR), 1060, "the clock runs on from the value written");
	wr(PL031_DR, 5); /* read-only */
	cr_assert_eq(rd(PL031_DR), 1060);
}

/* rtc-pl031's alarm: MR = time, IMSC = 1; its interrupt handler reads MIS and writes ICR. */
Test(pl031, match_interrupt)
{
	wr(PL031_MR, 1700000010);
	wr(PL031_IMSC, 1);
	cr_assert_eq(rd(PL031_RIS), 0);
	cr_assert_eq(pl031_next_match(&rtc), 10);
	host_time += 9;
	pl031_poll(&rtc);
	cr_assert_eq(line(), 0);
	host_time += 1;
	pl031_poll(&rtc);
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(PL031_MIS), 1);
	cr_assert_eq(pl031_next_match(&rtc), -1, "fired: no longer armed");
	wr(PL031_ICR, 1);
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(PL031_RIS), 0);
	host_time += 100;
	pl031_poll(&rtc);
	cr_assert_eq(line(), 0, "a match fires once");
}

Test(pl031, match_seen_at_a_register_access_without_poll)
{
	wr(PL031_IMSC, 1);
	wr(PL031_MR, 1700000003);
	host_time += 4;
	cr_assert_eq(rd(PL031_RIS), 1, "the counter passed MR between two accesses");
	cr_assert_eq(line(), 1);
}

Test(pl031, match_in_the_past_fires_at_once_masked_or_not)
{
	wr(PL031_MR, 1600000000);
	cr_assert_eq(rd(PL031_RIS), 1);
	cr_assert_eq(line(), 0, "IMSC masks the line, not the raw status");
	wr(PL031_IMSC, 1);
	cr_assert_eq(line(), 1);
	wr(PL031_IMSC, 0);
	cr_assert_eq(line(), 0);
}

Test(pl031, lr_rearms_the_match)
{
	wr(PL031_MR, 500);
	wr(PL031_ICR, 1); /* it fired at once: 500 is long past */
	wr(PL031_IMSC, 1);
	wr(PL031_LR, 490);
	cr_assert_eq(pl031_next_match(&rtc), 10);
	host_time += 10;
	pl031_poll(&rtc);
	cr_assert_eq(line(), 1);
}

Test(pl031, odd_accesses_are_harmless)
{
	uint8_t b = 0xff;
	uint64_t q = 0x55;
	uint16_t h = 0;

	cr_assert_eq(io_bus_read(&bus, BASE + PL031_DR + 1, &b, 1), 1);
	cr_assert_eq(b, 0);
	cr_assert_eq(io_bus_read(&bus, BASE + PL031_DR, &q, 8), 1);
	cr_assert_eq(q, 0);
	cr_assert_eq(io_bus_read(&bus, BASE + PL031_DR, &h, 2), 1);
	cr_assert_eq(h, (uint16_t)1700000000);
	cr_assert_eq(rd(0x20), 0);
	cr_assert_eq(rd(PL031_ICR), 0);
	wr(0x20, ~0u);
	wr(PL031_RIS, ~0u);
	wr(PL031_IMSC, ~0u);
	cr_assert_eq(rd(PL031_IMSC), 1);
	cr_assert_eq(rd(PL031_RIS), 0);
}

Test(pl031, save_restore)
{
	struct pl031_state s, again, bad, now;
	struct io_bus bus2;
	struct pl031 r2;
	struct irq_line irq = {.set = rec_irq, .gsi = LINE};

	wr(PL031_LR, 12345);
	wr(PL031_IMSC, 1);
	wr(PL031_MR, 12000); /* in the past: RIS set */
	wr(PL031_MR, 12400); /* armed again */
	pl031_save(&rtc, &s);
	cr_assert_eq(s.ris, 1);
	cr_assert_eq(s.armed, 1);
	io_bus_init(&bus2, "mmio");
	cr_assert_eq(pl031_attach(&r2, &bus2, BASE, irq, fake_now, NULL), 0);
	nlevels = 0;
	cr_assert_eq(pl031_restore(&r2, &s), 0);
	cr_assert_eq(nlevels, 1);
	cr_assert_eq(levels[0], 1, "the pending match is driven on the new line");
	pl031_save(&r2, &again);
	cr_assert_eq(memcmp(&s, &again, sizeof(s)), 0);
	host_time += 30;
	uint32_t v = 0;
	cr_assert_eq(io_bus_read(&bus2, BASE + PL031_DR, &v, 4), 1);
	cr_assert_eq(v, 12375, "the restored clock keeps its offset");

	for (int i = 0; i < 4; i++) {
		bad = s;
		switch (i) {
		case 0:
			bad.imsc = 2;
			break;
		case 1:
			bad.armed = 7;
			break;
		case 2:
			bad.reserved[4] = 1;
			break;
		default:
			bad.offset = INT64_MIN;
			break;
		}
		cr_assert_eq(pl031_restore(&r2, &bad), -EINVAL, "case %d", i);
		pl031_save(&r2, &now);
		cr_assert_eq(memcmp(&now, &again, sizeof(now)), 0, "unchanged after case %d", i);
	}
	pl031_detach(&r2, &bus2);
	io_bus_destroy(&bus2);
}

/* The armed callback of a host timer: called without the device lock, so that it may ask the
 * device (a timer re-reads the match; under the lock this would deadlock). */
static void count_armed(void *opaque)
{
	cr_assert_eq(opaque, &rtc);
	cr_assert_eq(pthread_mutex_trylock(&rtc.lock), 0, "called under the device lock");
	pthread_mutex_unlock(&rtc.lock);
	armed_saw = pl031_next_match(&rtc);
	armed_calls++;
}

Test(pl031, armed_callback_after_each_match_write)
{
	uint16_t h = 0x1234;

	pl031_set_armed_cb(&rtc, count_armed, &rtc);
	wr(PL031_IMSC, 1);
	wr(PL031_ICR, 1);
	wr(PL031_CR, 1);
	wr(PL031_DR, 5);
	wr(0x20, 1);
	cr_assert_eq(rd(PL031_DR), 1700000000);
	cr_assert_eq(io_bus_write(&bus, BASE + PL031_MR + 1, &h, 2), 1, "not a register access");
	cr_assert_eq(armed_calls, 0, "only RTCMR and RTCLR writes move the match");
	wr(PL031_MR, 1700000010);
	cr_assert_eq(armed_calls, 1);
	cr_assert_eq(armed_saw, 10, "the callback sees the new match");
	wr(PL031_LR, 1699999995);
	cr_assert_eq(armed_calls, 2);
	cr_assert_eq(armed_saw, 15, "a new time moves the match");
	cr_assert_eq(io_bus_write(&bus, BASE + PL031_MR, &h, 2), 1);
	cr_assert_eq(armed_calls, 3, "a 2-byte RTCMR write too");
	cr_assert_eq(armed_saw, -1, "0x1234 is long past: fired at once, no longer armed");
	pl031_set_armed_cb(&rtc, NULL, NULL);
	wr(PL031_MR, 1700000020);
	cr_assert_eq(armed_calls, 3, "no callback once cleared");
	cr_assert_eq(pl031_next_match(&rtc), 25, "RTCLR set the clock 5 s back");
}

Test(pl031, armed_callback_after_a_restore)
{
	struct pl031_state s, bad;

	wr(PL031_MR, 1700000007);
	pl031_save(&rtc, &s);
	pl031_set_armed_cb(&rtc, count_armed, &rtc);
	bad = s;
	bad.armed = 2;
	cr_assert_eq(pl031_restore(&rtc, &bad), -EINVAL);
	cr_assert_eq(armed_calls, 0, "a refused state changes nothing");
	host_time += 3;
	cr_assert_eq(pl031_restore(&rtc, &s), 0);
	cr_assert_eq(armed_calls, 1);
	cr_assert_eq(armed_saw, 4);
}
