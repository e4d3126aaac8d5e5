/* Small wrappers around privileged and timing instructions. */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define RFLAGS_IF (1UL << 9)

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* platform.h's neutral names (aarch64/platform.h has the same). */
static inline void irq_enable(void)
{
	sti();
}

static inline void irq_disable(void)
{
	cli();
}

/* Called with interrupts off: sleeps until an interrupt comes, takes it, and returns with
 * interrupts off again. sti's one-instruction shadow makes "check, then sleep" race-free. */
static inline void irq_sleep(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline uint64_t read_rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* Busy-waits about `us` microseconds using the TSC (frequency from CPUID 0x15/0x16 when given,
 * else assumed 2 GHz: only for bounded waits, never for measurements). */
void delay_us(uint64_t us);
/* TSC ticks per microsecond, as delay_us() assumes it. */
uint64_t tsc_per_us(void);
/* Replaces that assumption with a measured frequency (e.g. lapic_tsc_hz() / 1000000), for guests
 * that time themselves with tsc_per_us(); 0 is ignored. */
void tsc_set_per_us(uint64_t ticks);

#endif
