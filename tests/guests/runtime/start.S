/* PVH entry point, GDT, identity page tables and the switch to long mode.
 *
 * Xen PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h and docs/misc/pvh.pandoc):
 * the loader enters at the XEN_ELFNOTE_PHYS32_ENTRY address in 32-bit protected mode, paging off,
 * CS/DS/ES/SS flat 4 GiB segments, EBX = physical address of struct hvm_start_info. GDTR, IDTR
 * and ESP are undefined, so everything is set up here before the first push. */
#include "segments.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a"
	.p2align 2
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz: 32-bit entry address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_entry32

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	cld
	lgdt gdt_ptr
	ljmp $SEL_KERNEL_CS32, $1f
1:	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov $bsp_stack + BSP_STACK_SIZE, %esp

	/* Zero .bss (a loader should have, but the ELF contract is cheap to enforce). */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	mov %ebx, pvh_start_info_paddr

	call enable_long_mode
	ljmp $SEL_KERNEL_CS, $bsp_entry64

/* Shared by the BSP and the APs: PAE paging over the static identity map, EFER.LME, PG. */
	.globl enable_long_mode
enable_long_mode:
	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEX), %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	and $~CR0_EM, %eax
	or $(CR0_PG | CR0_PE | CR0_MP), %eax
	mov %eax, %cr0
	ret

/* APs arrive here from the real-mode trampoline (smp_trampoline.S), already in protected mode. */
	.globl ap_entry32
ap_entry32:
	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	/* Take a ticket: the AP's index selects its stack. */
	mov $1, %eax
	lock xadd %eax, ap_next_index
	cmp $SMP_MAX_CPUS, %eax
	jae ap_park32
	mov %eax, %edi
	inc %eax
	imul $AP_STACK_SIZE, %eax, %esp
	add $ap_stacks, %esp
	call enable_long_mode
	ljmp $SEL_KERNEL_CS, $ap_entry64

ap_park32:
	cli
	hlt
	jmp ap_park32

	.code64
bsp_entry64:
	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $bsp_stack + BSP_STACK_SIZE, %rsp
	xor %ebp, %ebp
	mov pvh_start_info_paddr, %edi
	call runtime_main
2:	cli
	hlt
	jmp 2b

ap_entry64:
	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %esp, %esp		/* zero-extend the 32-bit stack pointer */
	xor %ebp, %ebp
	call smp_ap_main	/* edi = AP index, from the ticket */
3:	cli
	hlt
	jmp 3b

	.data
	.p2align 3
	.globl gdt
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* 0x08 32-bit code, flat */
	.quad 0x00AF9A000000FFFF	/* 0x10 64-bit code, ring 0 */
	.quad 0x00CF92000000FFFF	/* 0x18 data, ring 0 */
	.quad 0x00CFF2000000FFFF	/* 0x20 data, ring 3 */
	.quad 0x00AFFA000000FFFF	/* 0x28 64-bit code, ring 3 */
	.quad 0, 0			/* 0x30 TSS, filled in by trap.c */
gdt_end:
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl pvh_start_info_paddr
pvh_start_info_paddr:
	.long 0
	.globl ap_next_index
ap_next_index:
	.long 0

/* Identity map of the first 4 GiB with 2 MiB pages, user-accessible so run_user() code can
 * touch anything (tests, not isolation). 3-4 GiB is the MMIO hole: mapped uncached. */
#define PTE_P  0x001
#define PTE_RW 0x002
#define PTE_US 0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

	.section .data.pagetables, "aw"
	.p2align 12
	.globl pml4
pml4:
	.quad pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x1000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x2000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x3000 + (PTE_P | PTE_RW | PTE_US)
	.fill 508, 8, 0
pd:
	.set addr, 0
	.rept 1536
	.quad addr | (PTE_P | PTE_RW | PTE_US | PTE_PS)
	.set addr, addr + 0x200000
	.endr
	.rept 512
	.quad addr | (PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_PWT | PTE_PCD)
	.set addr, addr + 0x200000
	.endr

	.section .stack, "aw", @nobits
	.p2align 12
	.globl bsp_stack
bsp_stack:
	.skip BSP_STACK_SIZE
	.globl ap_stacks
ap_stacks:
	.skip AP_STACK_SIZE * SMP_MAX_CPUS
