/* run_user() for arm64: x86's user.h runs a guest's hot loops in ring 3 because the x86 hosts'
 * KVM emulates guest ring 0 (kvm_pvm); arm64's KVM runs EL1 natively, so here fn runs where it is
 * called, at EL1 (printf and MMIO work the same). Found through the include path (runtime/aarch64
 * before runtime/), so an arch-neutral guest's `#include "user.h"` gets this one on arm64. */
#ifndef GUEST_AARCH64_USER_H
#define GUEST_AARCH64_USER_H

#include <stdint.h>

static inline uint64_t run_user(uint64_t (*fn)(void *), void *arg)
{
	return fn(arg);
}

/* x86's way to ring 3 for an AP: here fn runs in place at EL1 (interrupts as they are: off on a
 * secondary), its own stack unused; fn must never return (if it does, the CPU parks). */
static inline _Noreturn void run_user_ap(uint64_t (*fn)(void *), void *arg, void *stack_top)
{
	(void)stack_top;
	fn(arg);
	for (;;)
		__asm__ volatile("wfe");
}

#endif
