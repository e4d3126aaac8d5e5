/* Start of the protected-mode kernel (loaded at 1 MiB): startup_32 at offset 0, startup_64 at
 * offset 0x200, as a bzImage's arch/x86/boot/compressed/head_64.S.
 *
 * boot.rst, "64-bit Boot Protocol": the loader jumps to load address + 0x200 in 64-bit mode with
 * paging on, the kernel, zero page and command line identity mapped, a GDT with flat __BOOT_CS
 * (0x10, execute/read) and __BOOT_DS (0x18, read/write), CS = __BOOT_CS, DS/ES/SS = __BOOT_DS,
 * interrupts disabled, RSI = address of struct boot_params. Nothing else is promised: no stack,
 * no IDT, and the page tables and GDT live in memory the kernel does not own. So startup_64 first
 * records what it was given (entry_state, checked later in C), then moves onto the runtime's own
 * GDT (start.S), identity map and stack, and clears the BSS, as start.S does after the PVH entry. */
#include "../runtime/segments.h"
#include "bzimage.h"

#define SLOT(n) (entry_state + 8 * (n))(%rip)

	.section .bzimage.head, "ax"
	.code32
	.globl startup_32
startup_32:				/* 32-bit protocol: not supported, never entered */
	cli
1:	hlt
	jmp 1b

	.org BZ_ENTRY64_OFFSET
	.code64
	.globl startup_64
startup_64:
	mov %rsi, SLOT(ES_RSI)
	mov %rsp, SLOT(ES_RSP)
	lea bsp_stack + BSP_STACK_SIZE(%rip), %rsp
	pushfq
	popq SLOT(ES_RFLAGS)
	mov %cs, SLOT(ES_CS)
	mov %ds, SLOT(ES_DS)
	mov %es, SLOT(ES_ES)
	mov %ss, SLOT(ES_SS)
	mov %fs, SLOT(ES_FS)
	mov %gs, SLOT(ES_GS)
	sgdt SLOT(ES_GDTR)
	sidt SLOT(ES_IDTR)
	mov %cr0, %rax
	mov %rax, SLOT(ES_CR0)
	mov %cr3, %rax
	mov %rax, SLOT(ES_CR3)
	mov %cr4, %rax
	mov %rax, SLOT(ES_CR4)
	mov $MSR_EFER, %ecx
	rdmsr
	mov %eax, SLOT(ES_EFER)
	mov %edx, (entry_state + 8 * ES_EFER + 4)(%rip)

	cli
	cld
	lgdt gdt_ptr(%rip)
	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	pushq $SEL_KERNEL_CS		/* reload CS from our GDT */
	lea 2f(%rip), %rax
	pushq %rax
	lretq
2:	mov %cr4, %rax
	or $(CR4_OSFXSR | CR4_OSXMMEX), %rax
	mov %rax, %cr4
	mov %cr0, %rax
	and $~CR0_EM, %rax
	or $CR0_MP, %rax
	mov %rax, %cr0
	lea pml4(%rip), %rax
	mov %rax, %cr3

	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	shr $3, %rcx
	xor %eax, %eax
	rep stosq

	mov SLOT(ES_RSI), %rdi
	xor %ebp, %ebp
	call bz_start
3:	cli
	hlt
	jmp 3b

	.data
	.p2align 3
	.globl entry_state
entry_state:				/* .data, not .bss: written before the BSS is cleared */
	.fill ES_SLOTS, 8, 0
