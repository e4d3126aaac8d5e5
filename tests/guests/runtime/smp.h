/* Application-processor start-up: INIT-SIPI-SIPI broadcast through the LAPIC ICR (SDM vol. 3
 * section 9.4.4, "MP initialization example"). The APs start in real mode at a 4 KiB page below
 * 1 MiB (the SIPI vector is its page number): a trampoline copied there switches to protected
 * mode and jumps into the image (start.S ap_entry32), which enters long mode on the shared page
 * tables and calls smp_ap_main() on its own stack. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdint.h>

#include "segments.h"

struct smp_cpu {
	uint32_t apic_id;
	volatile uint32_t online;
};

/* Starts every AP and waits up to timeout_ms for `expected` of them to check in (plus 20 ms for
 * unexpected extra ones). Each AP loads the IDT, enables its LAPIC, records its APIC ID, checks in,
 * runs fn(index) if fn (the BSP waits for these to finish, up to timeout_ms), then halts forever.
 * Returns how many APs checked in (may exceed `expected` if more exist), or -1 if no page below
 * 1 MiB could hold the trampoline. BSP only, once. */
int smp_start_aps(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms);
/* The same, but returns once the APs checked in, without waiting for fn: the APs run it while
 * the BSP goes on (fn then signals its progress itself, e.g. through shared memory). */
int smp_start_aps_nowait(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms);
/* The AP with start-up index `index` (0 .. SMP_MAX_CPUS-2), in check-in order. */
const struct smp_cpu *smp_ap(unsigned index);
/* Guest-physical address the trampoline was copied to (0 before smp_start_aps). */
uint64_t smp_trampoline_addr(void);

/* Number of enabled processor entries in the Intel MP table (MP spec 1.4 chapter 4), or -1 if
 * there is no valid table. */
int mptable_count_cpus(void);

#endif
