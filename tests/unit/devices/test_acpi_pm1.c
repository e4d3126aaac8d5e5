/* devices/acpi_pm1.h: the ACPI PM1 registers and PM timer as a BIOS boot's FADT and the
 * PIIX4 PM function use them: SCI_EN reads 1 from reset and stays, PM1_STS's write-1-to-clear,
 * PM1_EN stored, PM1_CNT's soft off (SLP_TYP 0 with SLP_EN, in one word or a byte at a time)
 * stopping the VM with status 0, the other sleep types ignored, the 24-bit timer at 3.579545 MHz,
 * and the ports claimed, moved and released. */
#include <criterion/criterion.h>
#include <errno.h>

#include "base/io_bus.h"
#include "devices/acpi_pm1.h"
#include "tests/unit/devices/fake_power.h"

#define BASE 0x600

static struct io_bus pio;
static struct acpi_pm1 pm;
static void setup(void)
{
	io_bus_init(&pio, "pio");
	stops = 0;
	fake_ns = 0;
	cr_assert_eq(acpi_pm1_init(&pm, &control, "acpi-pm1"), 0);
	pm.now_ns = fake_clock;
	cr_assert_eq(acpi_pm1_claim(&pm, &pio, BASE, ACPI_PM1_LEN), 0);
}

static void teardown(void)
{
	acpi_pm1_destroy(&pm);
	io_bus_destroy(&pio);
}

TestSuite(acpi_pm1, .init = setup, .fini = teardown);

static uint32_t rd(uint16_t port, uint32_t len)
{
	uint32_t v = 0;
	cr_assert_gt(io_bus_read(&pio, port, &v, len), 0, "port 0x%x unclaimed", port);
	return v;
}

static void wr16(uint16_t port, uint16_t v)
{
	io_bus_write(&pio, port, &v, 2);
}

Test(acpi_pm1, sci_en_reads_1_from_reset_and_stays)
{
	cr_assert_eq(rd(BASE + ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN);
	wr16(BASE + ACPI_PM1_CNT, 0);
	cr_assert_eq(rd(BASE + ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN, "no SMI_CMD: always ACPI mode");
	wr16(BASE + ACPI_PM1_CNT, 0x0004); /* GBL_RLS and the like are kept */
	cr_assert_eq(rd(BASE + ACPI_PM1_CNT, 2), 0x0005);
}

Test(acpi_pm1, status_enable_and_the_rest)
{
	pm.sts = 0x8001;
	wr16(BASE + ACPI_PM1_STS, 0x0001);
	cr_assert_eq(rd(BASE + ACPI_PM1_STS, 2), 0x8000, "write 1 to clear");
	wr16(BASE + ACPI_PM1_EN, 0x0120);
	cr_assert_eq(rd(BASE + ACPI_PM1_EN, 2), 0x0120);
	cr_assert_eq(rd(BASE + 6, 2), 0, "a hole reads 0");
	cr_assert_eq(stops, 0);
}

Test(acpi_pm1, timer_counts_at_3_58_mhz_in_24_bits)
{
	fake_ns = 1000000000ULL; /* 1 s: 3579545 ticks */
	cr_assert_eq(rd(BASE + ACPI_PM1_TMR, 4), 3579545);
	fake_ns += 1000000ULL; /* 1 ms */
	cr_assert_eq(rd(BASE + ACPI_PM1_TMR, 4), 3579545 + 3579);
	fake_ns = 10ULL * 1000000000ULL; /* 35795450 ticks: wrapped */
	cr_assert_eq(rd(BASE + ACPI_PM1_TMR, 4), 35795450 & ACPI_PM_TIMER_MASK);
	cr_assert_eq(rd(BASE + ACPI_PM1_TMR + 2, 1), (35795450 >> 16) & 0xff, "byte reads");
}

Test(acpi_pm1, soft_off_stops_the_vm_with_status_0)
{
	wr16(BASE + ACPI_PM1_CNT, ACPI_PM1_SCI_EN);
	cr_assert_eq(stops, 0, "no SLP_EN: nothing");
	wr16(BASE + ACPI_PM1_CNT, ACPI_PM1_SCI_EN | ACPI_PM1_SLP_EN);
	cr_assert_eq(stops, 1);
	cr_assert_eq(stop_why, VM_STOP_POWEROFF);
	cr_assert_eq(stop_status, VMM_EXIT_OK);
	cr_assert_eq(rd(BASE + ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN, "SLP_EN is write-only");
}

Test(acpi_pm1, soft_off_written_a_byte_at_a_time)
{
	uint8_t b = 0x20; /* the high byte: SLP_EN, SLP_TYP 0 (SeaBIOS's APM off writes a word) */
	io_bus_write(&pio, BASE + ACPI_PM1_CNT + 1, &b, 1);
	cr_assert_eq(stops, 1);
}

Test(acpi_pm1, other_sleep_types_are_ignored)
{
	for (uint16_t typ = 1; typ < 8; typ++)
		wr16(BASE + ACPI_PM1_CNT, (uint16_t)(ACPI_PM1_SLP_EN | typ << ACPI_PM1_SLP_SHIFT));
	cr_assert_eq(stops, 0, "only the soft off (type 0) powers off");
	cr_assert_eq(rd(BASE + ACPI_PM1_CNT, 2) & ACPI_PM1_SLP_EN, 0);
}

Test(acpi_pm1, claimed_moved_and_released)
{
	uint32_t v;
	cr_assert(acpi_pm1_claimed(&pm));
	cr_assert_eq(acpi_pm1_claim(&pm, &pio, 0xb000, 64), 0);
	cr_assert_eq(io_bus_read(&pio, BASE + ACPI_PM1_TMR, &v, 4), 0, "the old ports are free");
	rd(0xb000 + 63, 1);
	acpi_pm1_release(&pm);
	cr_assert_not(acpi_pm1_claimed(&pm));
	cr_assert_eq(io_bus_read(&pio, 0xb000, &v, 2), 0);
	cr_assert_eq(acpi_pm1_claim(&pm, &pio, BASE, 4), -EINVAL, "smaller than the registers");
}

Test(acpi_pm1, a_taken_range_is_refused)
{
	static const struct io_ops none = {0};
	cr_assert_eq(io_bus_register(&pio, 0xc000, 4, &none, NULL, "other"), 0);
	acpi_pm1_release(&pm);
	cr_assert_lt(acpi_pm1_claim(&pm, &pio, 0xc000, ACPI_PM1_LEN), 0);
	cr_assert_not(acpi_pm1_claimed(&pm));
	io_bus_unregister(&pio, 0xc000);
}

Test(acpi_pm1, saved_and_restored_the_timer_counting_on)
{
	struct acpi_pm1_state s;
	struct acpi_pm1 other;

	fake_ns = 2000000000ULL; /* 2 s: 7159090 ticks */
	wr16(BASE + ACPI_PM1_EN, 0x0100);
	wr16(BASE + ACPI_PM1_CNT, ACPI_PM1_SCI_EN | 0x0004);
	acpi_pm1_save(&pm, &s);
	cr_assert_eq(s.en, 0x0100);
	cr_assert_eq(s.cnt, ACPI_PM1_SCI_EN | 0x0004);
	cr_assert_eq(s.timer, 7159090);
	cr_assert_eq(s.reserved | s.reserved2, 0);

	/* a new VM on another host, whose clock stands elsewhere */
	cr_assert_eq(acpi_pm1_init(&other, &control, "restored"), 0);
	other.now_ns = fake_clock;
	fake_ns = 1000000000ULL; /* 1 s */
	cr_assert_eq(acpi_pm1_restore(&other, &s), 0);
	cr_assert_eq(acpi_pm1_timer(&other), 7159090, "counts on from the saved count");
	fake_ns += 1000000ULL; /* 1 ms later */
	cr_assert_eq(acpi_pm1_timer(&other), 7159090 + 3579);
	cr_assert_eq(other.en, 0x0100);
	cr_assert_eq(other.cnt, ACPI_PM1_SCI_EN | 0x0004);
	acpi_pm1_destroy(&other);
}

Test(acpi_pm1, a_state_no_guest_can_make_is_refused)
{
	struct acpi_pm1_state good, bad;

	acpi_pm1_save(&pm, &good);
	bad = good;
	bad.cnt &= (uint16_t)~ACPI_PM1_SCI_EN;
	cr_assert_eq(acpi_pm1_restore(&pm, &bad), -EINVAL, "SCI_EN clear");
	bad = good;
	bad.cnt |= ACPI_PM1_SLP_EN;
	cr_assert_eq(acpi_pm1_restore(&pm, &bad), -EINVAL, "SLP_EN is never stored");
	bad = good;
	bad.timer = ACPI_PM_TIMER_MASK + 1;
	cr_assert_eq(acpi_pm1_restore(&pm, &bad), -EINVAL, "a count past 24 bits");
	bad = good;
	bad.reserved2 = 1;
	cr_assert_eq(acpi_pm1_restore(&pm, &bad), -EINVAL, "reserved bytes");
	bad = good;
	bad.en = 0x0100;
	bad.reserved = 1;
	cr_assert_eq(acpi_pm1_restore(&pm, &bad), -EINVAL);
	cr_assert_eq(pm.en, good.en, "nothing changed");
	cr_assert_eq(stops, 0);
}
