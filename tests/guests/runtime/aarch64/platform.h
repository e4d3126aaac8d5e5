/* What the arch-neutral runtime files (printf, test, cmdline, fdt, virtio_*, hostile*) need of
 * the architecture, arm64's answer (x86/platform.h is x86's): MMIO accessors, a clock, the
 * interrupt accounting, the end of the run. Found through the include path (runtime/aarch64 for
 * arm64 guests, before runtime/).
 *
 * Interrupts: a driver names a "vector" (0-255) as on x86; platform_irq_route() ties a GIC SPI
 * to it, and the runtime counts and dispatches each interrupt under that vector (the GIC's own
 * INTIDs for the lines nobody routed: PPI 27 is the virtual timer's). */
#ifndef GUEST_AARCH64_PLATFORM_H
#define GUEST_AARCH64_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../boot.h"

/* virtio-mmio windows come from the device tree (the VMM puts none on the command line). */
#define PLATFORM_DT_DISCOVERY true

#define IRQ_VECTORS 256

/* ---- MMIO: one instruction of the named width, a plain register address (no writeback), so
 * the hypervisor gets a valid syndrome for every access (Arm ARM ESR_ELx.ISV). As Linux's
 * writel()/readl(): a store waits for the memory stores before it (a ring before its kick), a
 * load is complete before the memory loads after it. ---- */

static inline void *phys_ptr(uint64_t addr)
{
	__asm__("" : "+r"(addr));
	return (void *)(uintptr_t)addr;
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	uint32_t v;
	__asm__ volatile("ldrb %w0, [%1]; dmb oshld" : "=r"(v) : "r"(addr) : "memory");
	return (uint8_t)v;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	uint32_t v;
	__asm__ volatile("ldrh %w0, [%1]; dmb oshld" : "=r"(v) : "r"(addr) : "memory");
	return (uint16_t)v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;
	__asm__ volatile("ldr %w0, [%1]; dmb oshld" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint64_t mmio_read64(uint64_t addr)
{
	uint64_t v;
	__asm__ volatile("ldr %0, [%1]; dmb oshld" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("dmb oshst; strb %w0, [%1]" : : "r"((uint32_t)v), "r"(addr) : "memory");
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	__asm__ volatile("dmb oshst; strh %w0, [%1]" : : "r"((uint32_t)v), "r"(addr) : "memory");
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("dmb oshst; str %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write64(uint64_t addr, uint64_t v)
{
	__asm__ volatile("dmb oshst; str %0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

/* ---- CPU ---- */

#define read_sysreg(r)                                                                             \
	({                                                                                         \
		uint64_t v_;                                                                       \
		__asm__ volatile("mrs %0, " #r : "=r"(v_));                                        \
		v_;                                                                                \
	})
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)) : "memory")

static inline void cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

static inline void irq_enable(void)
{
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
}

/* Called with interrupts masked: sleeps until an interrupt is pending (wfi wakes on one even
 * masked), takes it, and returns with them masked again: "check, then sleep" loses no wake-up. */
static inline void irq_sleep(void)
{
	__asm__ volatile("wfi; msr daifclr, #2; isb; msr daifset, #2" ::: "memory");
}

/* This CPU's MPIDR_EL1 affinity fields (Aff3 in bits 39:32, Aff2..0 in 23:0). */
static inline uint64_t cpu_mpidr(void)
{
	return read_sysreg(mpidr_el1) & 0xff00ffffffULL;
}

/* ---- clock: the virtual counter (CNTVCT_EL0) at CNTFRQ_EL0 ---- */

static inline uint64_t clock_ticks(void)
{
	__asm__ volatile("isb" ::: "memory");
	return read_sysreg(cntvct_el0);
}

static inline uint64_t clock_ticks_per_us(void)
{
	uint64_t f = read_sysreg(cntfrq_el0) / 1000000;
	return f ? f : 1;
}

void delay_us(uint64_t us);

/* The clock's rate in Hz and where it came from (*how, for the guest's log): CNTFRQ_EL0, which
 * clock_ticks_per_us() reads too (x86 measures its TSC here). */
uint64_t platform_clock_calibrate(const char **how);

/* An MMIO address whose 32-bit writes exit to the VMM's user space and change nothing, on our VMM
 * and on QEMU: the PL011's flag register (UARTFR, read-only), the tree's UART. */
uint64_t platform_plain_exit_addr(void);

/* ---- exceptions and interrupts (trap.c) ---- */

/* What the exception entry saved; `vector` is the routed vector while an interrupt handler runs
 * (else the vector table's entry, 0-15). */
struct trap_frame {
	uint64_t x[31];
	uint64_t elr, spsr, esr, far;
	uint64_t vector;
};

typedef void (*irq_handler_t)(struct trap_frame *f);
/* Calls h for each interrupt counted under `vector` (before its end of interrupt). */
void irq_set_handler(unsigned vector, irq_handler_t h);
uint64_t irq_count(unsigned vector);
/* Waits with interrupts on until irq_count(vector) passes *seen or timeout_ms pass; updates
 * *seen. True when it fired. The virtual timer is its watchdog: not for GIC_PPI_VTIMER itself,
 * and it leaves that timer off. */
bool irq_wait(unsigned vector, uint64_t *seen, uint32_t timeout_ms);

/* A periodic interrupt on this CPU every period_us, counted under `vector` (irq_count): the
 * virtual timer (GIC_PPI_VTIMER, routed to the vector), re-armed by its handler. irq_wait()'s
 * watchdog is the same timer: not both at once. */
void platform_tick_start(uint8_t vector, uint32_t period_us);
void platform_tick_stop(void);

/* A synchronous exception taken while fault catching is on (catch_begin .. catch_end) is
 * recorded and the faulting instruction skipped, instead of ending the run. */
struct fault_info {
	uint64_t esr, far, elr;
	unsigned count;
};
void catch_begin(void);
/* Ends catching; returns how many exceptions were taken, the last one in *fi (may be NULL). */
unsigned catch_end(struct fault_info *fi);

/* ---- the rest of platform.h's contract ---- */

/* The number of equal leading bytes of a and b (x86's is a string instruction). */
static inline uint32_t mem_same_prefix(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint32_t i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* Makes [start, start + len), memory that a device names (a virtio-mem region), ordinary
 * write-back memory in the runtime's identity map; true when it is. boot.c maps Normal only the
 * 1 GiB blocks that hold RAM the tree lists: our VMM's region right above its RAM already is,
 * QEMU's virt board puts it at its device-memory base (2 GiB with little RAM), whose blocks are
 * remapped Normal here (no device shares them). False past the map. */
bool platform_mem_map(uint64_t start, uint64_t len);
/* Where the VMM's virtio-pmem windows may begin: past the end of the RAM the tree lists (our
 * VMM's map: RAM, then the virtio-mem region, then the pmem windows). */
uint64_t platform_pmem_floor(void);

/* Prints the verdict's last words and ends the run: PSCI SYSTEM_OFF (the VMM and QEMU exit 0:
 * the "TEST PASS" line is the verdict). */
_Noreturn void platform_exit(uint32_t code);
/* Stops this CPU for good, interrupts masked; the VM runs on until the host ends it. */
_Noreturn void platform_halt(void);
void platform_print(const char *s, size_t len);
/* Routes GIC SPI `line` (level, to this CPU) to `vector`; false with a message without a GIC. */
bool platform_irq_route(unsigned line, uint8_t vector);

#endif
