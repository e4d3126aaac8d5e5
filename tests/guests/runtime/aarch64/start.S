/* arm64 entry (Linux Documentation/arch/arm64/booting.rst): the Image header, the boot CPU's
 * entry (x0 = the device tree, MMU off, EL1), the secondary CPUs' entry (PSCI CPU_ON, x0 = the
 * context: the CPU index) and the exception vector table. The image is linked at 0 and moves
 * itself: our VMM loads it at RAM + 2 MiB, QEMU's virt board at the start of its RAM, so start.S
 * applies the R_AARCH64_RELATIVE relocations first. */
#define R_AARCH64_RELATIVE 1027
#define FRAME_SIZE	   288 /* struct trap_frame, 16-byte aligned */
#define STACK_SIZE	   (32 * 1024)
#define AP_STACK_SHIFT	   14 /* 16 KiB each */
#define MAX_CPUS	   16

	.section .text.head, "ax"
	.globl _head
_head:
	b	boot_entry		/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset: at a 2 MiB boundary */
	.quad	__image_size		/* image_size, .bss included */
	.quad	0x2			/* flags: little-endian, 4 KiB pages, near the start of RAM */
	.quad	0, 0, 0			/* res2-4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5 */

	.text
boot_entry:
	msr	daifset, #0xf
	mov	x19, x0
	/* .bss: zero */
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
1:	cmp	x0, x1
	b.hs	2f
	stp	xzr, xzr, [x0], #16
	b	1b
2:	/* relocations: *(base + offset) = base + addend */
	adrp	x0, _head
	add	x0, x0, :lo12:_head
	adrp	x1, __rela_start
	add	x1, x1, :lo12:__rela_start
	adrp	x2, __rela_end
	add	x2, x2, :lo12:__rela_end
3:	cmp	x1, x2
	b.hs	4f
	ldp	x3, x4, [x1], #16
	ldr	x5, [x1], #8
	cmp	w4, #R_AARCH64_RELATIVE
	b.ne	3b
	add	x5, x5, x0
	str	x5, [x0, x3]
	b	3b
4:	adrp	x1, vectors
	add	x1, x1, :lo12:vectors
	msr	vbar_el1, x1
	adrp	x1, boot_stack_top
	add	x1, x1, :lo12:boot_stack_top
	mov	sp, x1
	isb
	mov	x0, x19
	bl	boot_early
	bl	mmu_enable
	bl	runtime_main
5:	wfi
	b	5b

	.globl secondary_entry
secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	adrp	x1, vectors
	add	x1, x1, :lo12:vectors
	msr	vbar_el1, x1
	adrp	x1, ap_stacks
	add	x1, x1, :lo12:ap_stacks
	and	x2, x19, #(MAX_CPUS - 1)
	add	x2, x2, #1
	add	x1, x1, x2, lsl #AP_STACK_SHIFT
	mov	sp, x1
	isb
	bl	mmu_enable
	mov	x0, x19
	bl	secondary_main
6:	wfe
	b	6b

/* The vector table (Arm ARM D1.10.2): 16 entries of 0x80 bytes; each saves x0/x1, puts its
 * index in x0 and joins trap_entry, which saves the rest into a struct trap_frame. */
	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	trap_entry
	.endm

	.balign	0x800
vectors:
	.irp	kind, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	ventry	\kind
	.endr

trap_entry:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x1, elr_el1
	stp	x30, x1, [sp, #240]
	mrs	x1, spsr_el1
	mrs	x2, esr_el1
	stp	x1, x2, [sp, #256]
	mrs	x1, far_el1
	stp	x1, x0, [sp, #272]
	mov	x0, sp
	bl	trap_dispatch
	ldp	x30, x1, [sp, #240]
	msr	elr_el1, x1
	ldr	x1, [sp, #256]
	msr	spsr_el1, x1
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	add	sp, sp, #FRAME_SIZE
	eret

	.bss
	.balign	16
boot_stack:
	.skip	STACK_SIZE
boot_stack_top:
	.balign	16
ap_stacks:
	.skip	(MAX_CPUS + 1) << AP_STACK_SHIFT

	.section .note.GNU-stack, "", %progbits
