/* Real-mode AP start-up code, copied to a page below 1 MiB by smp.c. Position-independent:
 * CS = the page's segment (SIPI vector << 8), IP = 0; data is addressed relative to DS = CS. */
#include "segments.h"

	.section .rodata
	.code16
	.globl smp_trampoline_start
smp_trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tramp_gdtr - smp_trampoline_start
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $SEL_KERNEL_CS32, $ap_entry32

	.p2align 3
tramp_gdtr:
	.word GDT_ENTRIES * 8 - 1
	.long gdt
	.globl smp_trampoline_end
smp_trampoline_end:
	.code64
