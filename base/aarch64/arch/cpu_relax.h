/* cpu_relax(): what a busy-wait loop does between two looks, on aarch64 (every architecture's
 * arch/cpu_relax.h defines it). YIELD: the hint that this is a spin loop, which an SMT core or
 * a hypervisor may use to run something else (what Linux's arm64 cpu_relax() does). */
#ifndef VMM_BASE_AARCH64_ARCH_CPU_RELAX_H
#define VMM_BASE_AARCH64_ARCH_CPU_RELAX_H

static inline void cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

#endif
