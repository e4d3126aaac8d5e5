/* Running code in ring 3 (user mode).
 *
 * Why: on hosts whose KVM emulates guest ring 0 (kvm_pvm; ~3.5 M instructions/s, ~10 us per exit)
 * ring-3 code runs natively, so benchmark hot loops belong in run_user(). Keep ring-0 work small.
 *
 * run_user(fn, arg) enters ring 3 with iretq on a runtime-owned 64 KiB user stack, calls fn(arg)
 * there, and returns its result when fn returns: the trampoline then executes `int $0x80` (a DPL-3
 * interrupt gate), whose handler longjmps back to run_user()'s ring-0 frame. No `syscall`/`sysret`
 * (they may fault on such hosts). All memory is mapped user-accessible, so fn may touch anything
 * (including MMIO). RFLAGS.IF in ring 3 is the caller's. With USER_IOPL3 in flags, port I/O (and
 * so printf) works from ring 3; without, it raises #GP. A fault in ring 3 is reported like any other
 * (or caught by an enclosing catch_fault()). BSP only, not reentrant. */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include <stdint.h>

#define USER_IOPL3 (1u << 0)

uint64_t run_user_flags(uint64_t (*fn)(void *), void *arg, unsigned flags);

static inline uint64_t run_user(uint64_t (*fn)(void *), void *arg)
{
	return run_user_flags(fn, arg, USER_IOPL3);
}

#endif
