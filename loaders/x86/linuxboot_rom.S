/* The source of linuxboot_rom.c's bytes (tools/gen-linuxboot-rom.sh assembles this file and
 * prints them; this file is not built into the VMM).
 *
 * A legacy option ROM that a PC BIOS (SeaBIOS) runs from fw_cfg's "genroms/" files and lists as
 * a boot entry (its PnP header's Bootstrap Entry Vector), as QEMU does for -kernel with a
 * firmware. Booted, it copies the Linux kernel the VMM put in fw_cfg (setup, kernel, command
 * line, initrd: the address, size and data items, fw_cfg.h) to the addresses the VMM chose, by
 * fw_cfg DMA (no protected mode needed to reach 1 MiB and above), and enters the kernel's
 * real-mode setup code as the boot protocol's example loader does
 * (Documentation/arch/x86/boot.rst, "Running the kernel"). The VMM patched the setup header
 * (loader type, command line pointer, initrd, heap) before it put it in fw_cfg.
 *
 * Option ROM header: PCI Firmware Specification 3.0 §5.1 (0x55 0xAA, size in 512-byte units,
 * entry at 3, PnP header pointer at 0x1A); PnP expansion header: Plug and Play BIOS
 * Specification 1.0A, Appendix A. The VMM sets the ROM checksum (its last byte). */
	.code16
	.text

#define FW_CFG_SEL	0x510
#define FW_CFG_DATA	0x511
#define FW_CFG_DMA_HI	0x514
#define FW_CFG_DMA_LO	0x518
#define DMA_SELECT_READ	0x0a	/* FW_CFG_DMA_SELECT | FW_CFG_DMA_READ */
#define STACK_TOP	0x8000	/* free conventional memory below the setup code at 0x10000 */
#define DESC		0x8000	/* the FWCfgDmaAccess, just above the stack */

rom:
	.byte 0x55, 0xaa
	.byte 1				/* 512 bytes */
	lret				/* offset 3, the init entry: nothing to set up */
	.org 0x1a
	.word pnp - rom

	.align 16
pnp:
	.ascii "$PnP"
	.byte 1				/* revision */
	.byte 2				/* length: 2 x 16 bytes */
	.word 0				/* no next header */
	.byte 0
	.byte 0				/* header checksum: set by the VMM */
	.long 0				/* device ID */
	.word vendor - rom
	.word product - rom
	.byte 0, 0, 0			/* device type */
	.byte 0				/* indicators */
	.word 0				/* BCV: none */
	.word 0				/* DV: none */
	.word bev - rom			/* BEV: the boot entry */
	.word 0
	.word 0

vendor:
	.asciz "vmm"
product:
	.asciz "Linux via fw_cfg"

/* The boot entry, far-called by the BIOS; it does not return. */
bev:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %ss
	movw $STACK_TOP, %sp
	movw $0x16, %ax			/* setup: SETUP_ADDR, SETUP_SIZE, SETUP_DATA */
	movw $0x17, %bx
	movw $0x18, %cx
	call load
	movw $0x07, %ax			/* kernel: KERNEL_ADDR, KERNEL_SIZE, KERNEL_DATA */
	movw $0x08, %bx
	movw $0x11, %cx
	call load
	movw $0x13, %ax			/* command line: CMDLINE_ADDR, _SIZE, _DATA */
	movw $0x14, %bx
	movw $0x15, %cx
	call load
	movw $0x0a, %ax			/* initrd: INITRD_ADDR, _SIZE, _DATA (size 0: none) */
	movw $0x0b, %bx
	movw $0x12, %cx
	call load
	/* Enter the setup code: every segment at it, the stack at the end of its heap
	 * (heap_end_ptr + 0x200), CS:IP = its segment + 0x20 : 0. */
	movw $0x16, %ax
	call read32
	shrl $4, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movw 0x224, %sp
	addw $0x200, %sp
	addw $0x20, %ax
	pushw %ax
	pushw $0
	lret

/* Copies fw_cfg item %cx to the address in item %ax, as many bytes as item %bx says. */
load:
	call read32
	movl %eax, %edi			/* the address */
	movw %bx, %ax
	call read32
	testl %eax, %eax
	jz 2f
	bswapl %eax
	movl %eax, DESC + 4		/* length, big-endian */
	movzwl %cx, %eax
	shll $16, %eax
	orl $DMA_SELECT_READ, %eax
	bswapl %eax
	movl %eax, DESC			/* control: select %cx and read */
	movl $0, DESC + 8		/* address, big-endian: high half */
	movl %edi, %eax
	bswapl %eax
	movl %eax, DESC + 12
	xorl %eax, %eax			/* the descriptor's address, high half first */
	movw $FW_CFG_DMA_HI, %dx
	outl %eax, %dx
	movl $DESC, %eax		/* then the low half, big-endian */
	bswapl %eax
	movw $FW_CFG_DMA_LO, %dx
	outl %eax, %dx
1:	movl DESC, %eax			/* done when the control word reads 0 (or only ERROR) */
	bswapl %eax
	testl $0xfffffffe, %eax
	jnz 1b
2:	ret

/* %eax = the little-endian u32 of fw_cfg item %ax (0 when the item is missing). */
read32:
	movw $FW_CFG_SEL, %dx
	outw %ax, %dx
	movw $FW_CFG_DATA, %dx
	inb %dx, %al
	rorl $8, %eax
	inb %dx, %al
	rorl $8, %eax
	inb %dx, %al
	rorl $8, %eax
	inb %dx, %al
	rorl $8, %eax
	ret

	.org 511
	.byte 0				/* ROM checksum: set by the VMM */
