/* Local APIC (xAPIC, MMIO at 0xFEE00000) and I/O APIC (0xFEC00000) helpers.
 * References: SDM vol. 3 chapter 11 (APIC); Intel 82093AA I/O APIC datasheet. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE  0xFEE00000ULL
#define IOAPIC_BASE 0xFEC00000ULL

#define LAPIC_ID	0x020
#define LAPIC_VERSION	0x030
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0B0
#define LAPIC_SVR	0x0F0
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_ICR 0x380 /* initial count */
#define LAPIC_TIMER_CCR 0x390 /* current count */
#define LAPIC_TIMER_DCR 0x3E0 /* divide configuration */

#define LAPIC_SPURIOUS_VECTOR 0xFF
#define LAPIC_WATCHDOG_VECTOR 0xFE /* irq_wait()'s timeout */

/* ICR delivery modes and shorthands (SDM vol. 3 figure 11-12). */
#define ICR_INIT	    (5u << 8)
#define ICR_STARTUP	    (6u << 8)
#define ICR_FIXED	    (0u << 8)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_DELIVERY_STATUS (1u << 12)
#define ICR_ALL_BUT_SELF    (3u << 18)

/* IOAPIC redirection entry bits (82093AA section 3.2.4). */
#define IOAPIC_LEVEL	  (1u << 15)
#define IOAPIC_ACTIVE_LOW (1u << 13)
#define IOAPIC_MASKED	  (1u << 16)

/* Masks both legacy 8259 PICs: firmware (SeaBIOS on q35) leaves the master PIC at vector 8, so
 * its timer IRQ would arrive as a bogus #DF as soon as interrupts are enabled. Done at boot. */
void pic_disable(void);

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t val);
/* Software-enables this CPU's LAPIC (SVR bit 8, spurious vector 0xFF), TPR 0. Per CPU. */
void lapic_init(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Sends an IPI: icr_lo holds mode/vector/shorthand; dest is an APIC ID (ignored with a
 * shorthand). Waits (bounded) for the delivery-status bit to clear; false if it never does. */
bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo);
/* One-shot LAPIC timer: fires `vector` after `count` ticks of the bus clock / 16. */
void lapic_timer_oneshot(uint8_t vector, uint32_t count);
/* Periodic LAPIC timer: fires `vector` every `count` ticks of the bus clock / 16. */
void lapic_timer_periodic(uint8_t vector, uint32_t count);
void lapic_timer_stop(void);
/* The TSC's frequency in Hz, measured over 50 ms against the LAPIC timer, which KVM (ours and
 * QEMU's in-kernel APIC) and QEMU's TCG run at 1 GHz. Enables this CPU's LAPIC; leaves its timer
 * stopped. Where CPUID gives no TSC frequency (no leaf 0x15), tsc_per_us() is only a guess. */
uint64_t lapic_tsc_hz(void);

uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t val);
/* Number of redirection entries (pins) the IOAPIC reports. */
unsigned ioapic_pins(void);
/* Routes IOAPIC `pin` to `vector` on the CPU with APIC ID `dest` (fixed delivery, physical
 * destination). flags: IOAPIC_LEVEL, IOAPIC_ACTIVE_LOW (ISA pins are edge/high, PCI INTx
 * level/low). */
void ioapic_route(unsigned pin, uint8_t vector, uint8_t dest, uint32_t flags);
void ioapic_mask(unsigned pin);

/* Waits with `sti; hlt` until `vector` fires at least once more than `*seen` (pass the value of
 * irq_count(vector) taken BEFORE triggering the device), or until about `timeout_ms` elapse
 * (LAPIC timer watchdog; KVM's APIC bus runs at 1 GHz, so the timeout is approximate elsewhere).
 * The watchdog owns the LAPIC timer: don't wait for LAPIC-timer interrupts with irq_wait().
 * Updates *seen; returns true if the interrupt came. Returns with interrupts disabled. */
bool irq_wait(unsigned vector, uint64_t *seen, uint32_t timeout_ms);

#endif
