#include "user.h"

#include <stdbool.h>

#include "cpu.h"
#include "jmp.h"
#include "printf.h"
#include "segments.h"
#include "trap.h"

#define RFLAGS_FIXED (1UL << 1)
#define RFLAGS_IOPL3 (3UL << 12)

/* user.S: iretq to ring 3 at the trampoline, which calls fn(arg) and then `int $0x80`. */
_Noreturn void user_enter(uint64_t (*fn)(void *), void *arg, uint64_t user_rsp, uint64_t rflags);

static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(4096), section(".stack")));
static struct jmp_ctx user_ctx;
static volatile bool in_user;
static uint64_t user_result;

void user_gate(struct trap_frame *f)
{
	switch (f->rax) {
	case USER_OP_RETURN:
		if (!in_user)
			break;
		user_result = f->rdi;
		in_user = false;
		guest_longjmp(&user_ctx, 1);
	case USER_OP_PRINT:
		printf_write((const char *)f->rdi,
			     f->rsi < USER_PRINT_MAX ? f->rsi : USER_PRINT_MAX);
		return;
	}
	printf("runtime: unknown ring-3 gate operation %llu ignored\n", (unsigned long long)f->rax);
}

static _Noreturn void enter(uint64_t (*fn)(void *), void *arg, unsigned flags)
{
	uint64_t rsp, rflags = (read_rflags() & RFLAGS_IF) | RFLAGS_FIXED;

	if (flags & USER_IOPL3)
		rflags |= RFLAGS_IOPL3;
	/* Interrupts and the return gate from ring 3 start below this frame on our own stack. */
	__asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
	tss_set_rsp0((rsp - 256) & ~0xFUL);
	in_user = true;
	user_enter(fn, arg, (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack)), rflags);
}

uint64_t run_user_flags(uint64_t (*fn)(void *), void *arg, unsigned flags)
{
	if (guest_setjmp(&user_ctx) == 0)
		enter(fn, arg, flags);
	/* Back from ring 3: an interrupt from CPL 3 loaded a null SS; restore ours. */
	__asm__ volatile("mov %0, %%ss; mov %0, %%ds; mov %0, %%es" : : "r"(SEL_KERNEL_DS));
	return user_result;
}

void run_user_ap(uint64_t (*fn)(void *), void *arg, void *stack_top)
{
	user_enter(fn, arg, (uint64_t)(uintptr_t)stack_top, RFLAGS_FIXED);
}
