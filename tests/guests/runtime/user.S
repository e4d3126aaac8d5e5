#include "segments.h"

/* user_enter(fn %rdi, arg %rsi, user_rsp %rdx, rflags %rcx): iretq into ring 3. */
	.text
	.globl user_enter
user_enter:
	pushq $SEL_USER_DS
	pushq %rdx
	pushq %rcx
	pushq $SEL_USER_CS
	pushq $user_trampoline
	mov %rdi, %rax
	mov %rsi, %rdi
	mov $SEL_USER_DS, %ecx
	mov %ecx, %ds
	mov %ecx, %es
	iretq

/* Ring 3: the user stack top is 16-byte aligned, so fn sees the ABI's alignment after the call. */
user_trampoline:
	call *%rax
	mov %rax, %rdi
	mov $USER_OP_RETURN, %eax
	int $USER_GATE_VECTOR
	ud2
