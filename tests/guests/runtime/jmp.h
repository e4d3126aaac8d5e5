/* Minimal setjmp/longjmp (callee-saved registers, stack, return address and RFLAGS), used to
 * leave an exception handler or the ring-3 return gate back into ring-0 C code. */
#ifndef GUEST_JMP_H
#define GUEST_JMP_H

#include <stdint.h>

struct jmp_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};

int guest_setjmp(struct jmp_ctx *c) __attribute__((returns_twice));
_Noreturn void guest_longjmp(const struct jmp_ctx *c, int val);

#endif
