/* cpu_relax(): what a busy-wait loop does between two looks, on x86_64 (every architecture's
 * arch/cpu_relax.h defines it). PAUSE: tells the CPU this is a spin loop (no memory-order
 * mis-speculation at its exit) and lets the sibling hyperthread run. */
#ifndef VMM_BASE_X86_ARCH_CPU_RELAX_H
#define VMM_BASE_X86_ARCH_CPU_RELAX_H

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

#endif
