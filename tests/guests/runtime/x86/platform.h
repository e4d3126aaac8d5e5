/* What the arch-neutral runtime files (printf, test, cmdline, fdt, virtio_*, hostile*) need of
 * the architecture, x86's answer: the x86 runtime's own headers, plus the few neutral names
 * below (aarch64/platform.h gives the same names for arm64). Found through the include path
 * (runtime/x86 for x86 guests), never from runtime/ itself. */
#ifndef GUEST_X86_PLATFORM_H
#define GUEST_X86_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../apic.h"
#include "../cpu.h"
#include "../io.h"
#include "../pvh.h"
#include "../trap.h"

/* virtio-mmio windows come from the command line unless it says `dtb_discovery`. */
#define PLATFORM_DT_DISCOVERY false

/* A free-running counter and its rate: the TSC. */
static inline uint64_t clock_ticks(void)
{
	return rdtsc();
}

static inline uint64_t clock_ticks_per_us(void)
{
	return tsc_per_us();
}

/* Measures the clock's rate in Hz and says how (*how, for the guest's log); clock_ticks_per_us()
 * answers with it from then on. x86: the TSC against the LAPIC timer, which KVM and QEMU count
 * at 1 GHz (CPUID may not give the TSC's rate; the runtime's 2 GHz guess is only that), ~50 ms.
 * arm64: CNTFRQ_EL0, the counter's own. */
uint64_t platform_clock_calibrate(const char **how);

/* An MMIO address whose 32-bit writes exit to the VMM's user space and change nothing, on our VMM
 * and on QEMU: what one such exit costs (exit_cost.c). x86: offset 8 of the boot-timer page
 * (0xC0000008: ignored whether or not --boot-timer claims the page; unassigned on QEMU). */
static inline uint64_t platform_plain_exit_addr(void)
{
	return 0xC0000008ull;
}

/* The number of equal leading bytes of a and b: one string instruction (repe cmpsb), which
 * hosts that emulate ring 0 run as one. */
static inline uint32_t mem_same_prefix(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t left = n;

	if (!n)
		return 0;
	__asm__ volatile("repe cmpsb" : "+S"(a), "+D"(b), "+c"(left) : : "memory", "cc");
	/* Stopped at a difference: a is one past it, left counts what was not compared. */
	return a[-1] == b[-1] ? n : n - (uint32_t)left - 1;
}

/* Makes [start, start + len), memory that a device names (a virtio-mem region), ordinary
 * write-back memory; true when it is. x86's map is fixed: write-back below the 3-4 GiB hole. */
static inline bool platform_mem_map(uint64_t start, uint64_t len)
{
	return start + len <= 0xC0000000ull;
}

/* Where the VMM's virtio-pmem windows may begin: x86's map puts them above 4 GiB. */
static inline uint64_t platform_pmem_floor(void)
{
	return 0x100000000ull;
}

/* A periodic timer interrupt on this CPU every period_us, counted under `vector` (irq_count):
 * the LAPIC timer, periodic, at KVM's 1 GHz APIC bus divided by 16 (aarch64: the virtual
 * timer). irq_wait()'s watchdog is the same timer: not both at once. */
static inline void platform_tick_start(uint8_t vector, uint32_t period_us)
{
	lapic_init();
	lapic_timer_periodic(vector, period_us * 1000 / 16);
}

static inline void platform_tick_stop(void)
{
	lapic_timer_stop();
}

/* Ends the run with `code` (test.h's GUEST_EXIT_*): the isa-debug-exit port; halts forever
 * when nothing listens there. */
_Noreturn void platform_exit(uint32_t code);
/* Stops this CPU for good, interrupts off; the VM runs on until the host ends it. */
_Noreturn void platform_halt(void);
/* Writes printf's text: to COM1 in ring 0, through the ring-3 gate from run_user(). */
void platform_print(const char *s, size_t len);
/* Routes interrupt line `line` (an IOAPIC pin, level-triggered, active high) to `vector` on
 * this CPU. False (with a message) when there is no such pin. */
bool platform_irq_route(unsigned line, uint8_t vector);

#endif
