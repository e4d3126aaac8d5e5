/* boot_timer for arm64: the smallest guest there is, for "VMM process start to first guest
 * instruction" (x86's is ../boot_timer.S). No runtime: an Image header (Linux
 * Documentation/arch/arm64/booting.rst), then, four instructions in, the Firecracker boot-timer
 * write: the byte 123 to our VMM's BOOT_TIMER_MMIO_BASE (0x40000000, base/aarch64/arch/layout.h);
 * our VMM (--boot-timer) records the time. Our VMM's RAM starts at 2 GiB; QEMU's virt board has
 * its RAM at 1 GiB, from the boot timer's address on: where the image finds itself below 2 GiB
 * (QEMU) the write is left out (it would land in RAM). Then "TEST PASS" on the PL011 (our VMM's at
 * 0x40002000, QEMU's at 0x09000000, told apart the same way) and PSCI SYSTEM_OFF (the VMM and
 * QEMU exit 0). The MMU is off: every access is to device memory, aligned, one register each (a
 * valid syndrome for the VMM); everything is position-independent. */
#define BOOT_TIMER_MMIO	 0x40000000
#define VMM_RAM_START	 0x80000000
#define BOOT_TIMER_MAGIC 123
#define VMM_PL011	 0x40002000
#define QEMU_PL011	 0x09000000
#define UARTFR		 0x18
#define UARTCR		 0x30
#define FR_TXFF_BIT	 5
#define CR_ENABLE	 0x101 /* UARTEN, TXE */
#define PSCI_SYSTEM_OFF	 0x84000008

	.section .text, "ax"
	.globl _head
_head:
	b	entry			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	image_end - _head	/* image_size */
	.quad	0x2			/* flags: little-endian, 4 KiB pages */
	.quad	0, 0, 0			/* res2-4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5 */

entry:
	adr	x1, _head
	mov	x2, #VMM_RAM_START
	cmp	x1, x2
	b.lo	on_qemu
	mov	x2, #BOOT_TIMER_MMIO
	mov	w3, #BOOT_TIMER_MAGIC
	strb	w3, [x2]
	movz	x4, #(VMM_PL011 >> 16), lsl #16
	movk	x4, #(VMM_PL011 & 0xffff)
	b	print
on_qemu:
	movz	x4, #(QEMU_PL011 >> 16), lsl #16
print:
	mov	w6, #CR_ENABLE
	str	w6, [x4, #UARTCR]
	adr	x5, message
next:
	ldrb	w6, [x5]
	add	x5, x5, #1
	cbz	w6, off
busy:
	ldr	w7, [x4, #UARTFR]
	tbnz	w7, #FR_TXFF_BIT, busy
	str	w6, [x4]
	b	next
off:
	movz	x0, #(PSCI_SYSTEM_OFF >> 16), lsl #16
	movk	x0, #(PSCI_SYSTEM_OFF & 0xffff)
	hvc	#0
park:
	wfi
	b	park

message:
	.asciz	"TEST PASS\n"
	.p2align 3
image_end:
