/* Running code in ring 3 (user mode).
 *
 * Why: on hosts whose KVM emulates guest ring 0 (kvm_pvm; ~3.5 M instructions/s, ~10 us per exit)
 * ring-3 code runs natively, so benchmark hot loops belong in run_user(). Keep ring-0 work small.
 *
 * run_user(fn, arg) enters ring 3 with iretq on a runtime-owned 64 KiB user stack, calls fn(arg)
 * there, and returns its result when fn returns: the trampoline then executes `int $0x80` (a DPL-3
 * interrupt gate, USER_OP_RETURN), whose handler longjmps back to run_user()'s ring-0 frame. No
 * `syscall`/`sysret` (they may fault on such hosts) and no other `int n` (kvm_pvm raises #UD for
 * any but int 0x80 and int3 from ring 3). All memory is mapped user-accessible, so fn may touch
 * anything (including MMIO). RFLAGS.IF in ring 3 is the caller's. printf() works in ring 3 (through
 * a DPL-3 gate, see printf.h). Port I/O from ring 3 raises #GP; USER_IOPL3 asks for IOPL 3, which
 * real hardware and QEMU honour but kvm_pvm does not (it still raises #GP). A fault in ring 3 is
 * reported like any other (or caught by an enclosing catch_fault()). BSP only, not reentrant. */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include <stdint.h>

#define USER_IOPL3 (1u << 0)

uint64_t run_user_flags(uint64_t (*fn)(void *), void *arg, unsigned flags);

static inline uint64_t run_user(uint64_t (*fn)(void *), void *arg)
{
	return run_user_flags(fn, arg, 0);
}

/* An AP's way to ring 3 (run_user() is the BSP's): enters fn(arg) there with interrupts off, on
 * the stack that ends at stack_top (the AP's own, 16-byte aligned). fn must never return. */
_Noreturn void run_user_ap(uint64_t (*fn)(void *), void *arg, void *stack_top);

#endif
