#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/x86/rtc_cmos.h"
#include "devices/x86/rtc_cmos_test.h"

static struct io_bus bus;
static struct rtc_cmos rtc;
static time_t fake_now;

static time_t fixed_clock(void *opaque)
{
	return *(time_t *)opaque;
}

static void setup(void)
{
	io_bus_init(&bus, "pio");
	cr_assert_eq(rtc_cmos_attach(&rtc, &bus), 0);
	rtc.now = fixed_clock;
	rtc.now_opaque = &fake_now;
	fake_now = 1709251198; /* 2024-02-29 23:59:58 UTC, a Thursday */
}

static void teardown(void)
{
	rtc_cmos_detach(&rtc, &bus);
	io_bus_destroy(&bus);
}

static uint8_t cmos(uint8_t index)
{
	uint8_t v = 0;

	cr_assert_eq(io_bus_write(&bus, PORT_RTC, &index, 1), 1);
	cr_assert_eq(io_bus_read(&bus, PORT_RTC + 1, &v, 1), 1);
	return v;
}

static void cmos_write(uint8_t index, uint8_t val)
{
	io_bus_write(&bus, PORT_RTC, &index, 1);
	io_bus_write(&bus, PORT_RTC + 1, &val, 1);
}

TestSuite(rtc_cmos, .init = setup, .fini = teardown);

Test(rtc_cmos, time_in_bcd)
{
	cr_assert_eq(cmos(0x00), 0x58);
	cr_assert_eq(cmos(0x02), 0x59);
	cr_assert_eq(cmos(0x04), 0x23);
	cr_assert_eq(cmos(0x06), 0x05, "Thursday is day 5 (Sunday = 1)");
	cr_assert_eq(cmos(0x07), 0x29);
	cr_assert_eq(cmos(0x08), 0x02);
	cr_assert_eq(cmos(0x09), 0x24);
	cr_assert_eq(cmos(0x32), 0x20);
}

Test(rtc_cmos, another_date_and_century)
{
	fake_now = 4102383909; /* 2099-12-31 07:05:09, a Thursday */
	cr_assert_eq(cmos(0x00), 0x09);
	cr_assert_eq(cmos(0x02), 0x05);
	cr_assert_eq(cmos(0x04), 0x07);
	cr_assert_eq(cmos(0x08), 0x12);
	cr_assert_eq(cmos(0x09), 0x99);
	cr_assert_eq(cmos(0x32), 0x20);
}

Test(rtc_cmos, status_registers)
{
	cr_assert_eq(cmos(0x0a) & 0x80, 0, "update never in progress");
	cr_assert_eq(cmos(0x0b), 0x02, "24-hour, BCD, no interrupts");
	cr_assert_eq(cmos(0x0c), 0x00);
	cr_assert_eq(cmos(0x0d), 0x80, "valid RAM and time");
	cr_assert_eq(cmos(0x01), 0x00, "alarm registers read 0");
}

Test(rtc_cmos, index_bit7_is_nmi_mask_not_address)
{
	cr_assert_eq(cmos(0x80 | 0x04), 0x23);
	cr_assert(rtc.nmi_disabled);
	cr_assert_eq(cmos(0x8d), 0x80);
	cr_assert_eq(cmos(0x0d), 0x80);
	cr_assert(!rtc.nmi_disabled);
}

Test(rtc_cmos, clock_writes_ignored_ram_writes_kept)
{
	cmos_write(0x00, 0x11);
	cmos_write(0x0b, 0x86);
	cr_assert_eq(cmos(0x00), 0x58);
	cr_assert_eq(cmos(0x0b), 0x02);
	cr_assert_eq(cmos(0x40), 0x00, "RAM starts zeroed");
	cmos_write(0x40, 0xab);
	cr_assert_eq(cmos(0x40), 0xab);
	cmos_write(0x32, 0x19);
	cr_assert_eq(cmos(0x32), 0x20, "century is the clock's");
}

Test(rtc_cmos, index_port_reads_all_ones)
{
	uint8_t v = 0;

	cr_assert_eq(io_bus_read(&bus, PORT_RTC, &v, 1), 1);
	cr_assert_eq(v, 0xff);
}

/* Nothing fills the memory-size bytes: the guest's memory map comes from e820 / PVH. */
Test(rtc_cmos, memory_size_bytes_stay_zero)
{
	const uint8_t regs[] = {0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d};
	for (size_t i = 0; i < sizeof(regs); i++)
		cr_assert_eq(cmos(regs[i]), 0, "CMOS byte %#x", regs[i]);
}

Test(rtc_cmos, host_clock_is_used_by_default)
{
	time_t before = time(NULL);
	struct tm tm;
	uint8_t year;

	rtc.now = NULL;
	year = cmos(0x09);
	gmtime_r(&before, &tm);
	cr_assert_eq(year, (((tm.tm_year % 100) / 10) << 4) | (tm.tm_year % 10));
}

/* ---- snapshot ---- */

Test(rtc_cmos, cmos_bytes_and_index_survive_a_restore)
{
	struct rtc_cmos_state s;
	struct rtc_cmos fresh;

	cmos_write(0x40, 0x99);
	rtc_cmos_write(&rtc, 0, 0x80 | 0x40); /* index 0x40, NMI disabled */
	rtc_cmos_save(&rtc, &s);
	cr_assert_eq(rtc_cmos_init(&fresh), 0);
	cr_assert_eq(rtc_cmos_restore(&fresh, &s), 0);
	cr_assert_eq(rtc_cmos_read(&fresh, 1), 0x99, "the index register was restored");
	cr_assert(fresh.nmi_disabled);
	s.index = 0x80; /* beyond the 128 bytes */
	cr_assert_eq(rtc_cmos_restore(&fresh, &s), -EINVAL);
	s.index = 0;
	s.nmi_disabled = 2;
	cr_assert_eq(rtc_cmos_restore(&fresh, &s), -EINVAL);
	rtc_cmos_detach(&fresh, NULL);
}

Test(rtc_cmos, memory_sizes_as_a_pc_bios_reads_them)
{
	rtc_cmos_set_memory(&rtc, 0xC0000000ULL, 0x40000000ULL); /* 4 GiB: 3 below, 1 above */
	cr_assert_eq(cmos(0x15) | cmos(0x16) << 8, 640);
	cr_assert_eq(cmos(0x17) | cmos(0x18) << 8, 0xffff, "KiB from 1 MiB, capped");
	cr_assert_eq(cmos(0x30) | cmos(0x31) << 8, 0xffff);
	cr_assert_eq(cmos(0x34) | cmos(0x35) << 8, (0xC0000000 - 0x1000000) >> 16);
	cr_assert_eq(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 0x40000000 >> 16);
	rtc_cmos_set_memory(&rtc, 0x2000000ULL, 0); /* 32 MiB */
	cr_assert_eq(cmos(0x17) | cmos(0x18) << 8, 31 * 1024);
	cr_assert_eq(cmos(0x34) | cmos(0x35) << 8, 0x100);
	cr_assert_eq(cmos(0x5b) | cmos(0x5c) | cmos(0x5d), 0);
	rtc_cmos_set_ram(&rtc, 0x00, 0x99); /* a clock register: not RAM */
	cr_assert_eq(cmos(0x00), 0x58);
}
