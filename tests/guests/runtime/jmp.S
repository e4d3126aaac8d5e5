/* struct jmp_ctx offsets: rbx 0, rbp 8, r12 16, r13 24, r14 32, r15 40, rsp 48, rip 56,
 * rflags 64 (see jmp.h). */
	.text
	.globl guest_setjmp
guest_setjmp:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rdx
	mov %rdx, 48(%rdi)
	mov (%rsp), %rdx
	mov %rdx, 56(%rdi)
	pushfq
	popq 64(%rdi)
	xor %eax, %eax
	ret

	.globl guest_longjmp
guest_longjmp:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	pushq 64(%rdi)
	popfq
	mov %esi, %eax
	test %eax, %eax
	jnz 1f
	inc %eax
1:	jmp *56(%rdi)
