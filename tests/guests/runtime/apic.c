#include "apic.h"

#include "cpu.h"
#include "io.h"
#include "trap.h"

#define SVR_ENABLE	   (1u << 8)
#define LVT_MASKED	   (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define TIMER_DIV_16	   0x3
#define IOAPIC_REGSEL	   0x00
#define IOAPIC_WINDOW	   0x10
#define IOAPIC_VER	   0x01
#define IOAPIC_REDTBL	   0x10
/* Ticks per millisecond of the LAPIC timer after divide-by-16 on a 1 GHz APIC bus (KVM). */
#define TIMER_TICKS_PER_MS (1000000u / 16)

#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1

void pic_disable(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(LAPIC_BASE + reg, val);
}

void lapic_init(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (int i = 0; i < 10000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_STATUS))
			return true;
		cpu_relax();
	}
	return false;
}

static void lapic_timer_arm(uint32_t lvt, uint32_t count)
{
	lapic_write(LAPIC_TIMER_DCR, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, lvt); /* unmasked */
	lapic_write(LAPIC_TIMER_ICR, count);
}

void lapic_timer_oneshot(uint8_t vector, uint32_t count)
{
	lapic_timer_arm(vector, count);
}

void lapic_timer_periodic(uint8_t vector, uint32_t count)
{
	lapic_timer_arm(LVT_TIMER_PERIODIC | vector, count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}

uint64_t lapic_tsc_hz(void)
{
	const uint32_t span = 50000000; /* ticks of 1 ns, divide by 1 */
	uint32_t c0, c1;
	uint64_t t0, t1;

	lapic_init();
	lapic_write(LAPIC_TIMER_DCR, 0xB); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
	c0 = lapic_read(LAPIC_TIMER_CCR);
	t0 = rdtsc();
	do {
		c1 = lapic_read(LAPIC_TIMER_CCR);
	} while (c0 - c1 < span);
	t1 = rdtsc();
	lapic_timer_stop();
	return (t1 - t0) * 1000000000ull / (c0 - c1);
}

uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WINDOW);
}

void ioapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WINDOW, val);
}

unsigned ioapic_pins(void)
{
	return ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
}

void ioapic_route(unsigned pin, uint8_t vector, uint8_t dest, uint32_t flags)
{
	/* High dword first, so the entry is never live with a stale destination. */
	ioapic_write(IOAPIC_REDTBL + 2 * pin, IOAPIC_MASKED);
	ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, (uint32_t)dest << 24);
	ioapic_write(IOAPIC_REDTBL + 2 * pin, vector | (flags & ~IOAPIC_MASKED));
}

void ioapic_mask(unsigned pin)
{
	ioapic_write(IOAPIC_REDTBL + 2 * pin, IOAPIC_MASKED);
}

bool irq_wait(unsigned vector, uint64_t *seen, uint32_t timeout_ms)
{
	uint64_t ticks = (uint64_t)timeout_ms * TIMER_TICKS_PER_MS;
	uint64_t fired = irq_count(LAPIC_WATCHDOG_VECTOR);
	bool got = false;

	cli();
	lapic_timer_oneshot(LAPIC_WATCHDOG_VECTOR,
			    ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks);
	for (;;) {
		if (irq_count(vector) > *seen) {
			got = true;
			break;
		}
		if (irq_count(LAPIC_WATCHDOG_VECTOR) != fired)
			break;
		irq_sleep();
	}
	lapic_timer_stop();
	*seen = irq_count(vector);
	return got;
}
