/* boot_timer: the smallest guest there is, for "VMM process start to first guest instruction".
 *
 * No runtime: its start-up (GDT, page tables, long mode, .bss zeroing) would run before the
 * measurement and, on hosts that emulate guest ring 0, cost more than the VMM itself. The PVH
 * entry (32-bit protected mode, paging off, flat segments: Xen docs/misc/pvh.pandoc) is the first
 * instruction the guest runs, and it is the Firecracker boot-timer write: the byte 123 to MMIO
 * 0xC0000000, reachable as is with paging off. Our VMM (--boot-timer) records the time; QEMU has
 * no such device and ignores the write (unassigned MMIO). Then "TEST PASS" on COM1 and value 0
 * to isa-debug-exit (port 0xf4): exit status 1, as for every passing test guest. */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define BOOT_TIMER_MMIO		 0xc0000000
#define BOOT_TIMER_MAGIC	 123
#define COM1			 0x3f8
#define COM1_LSR		 (COM1 + 5)
#define LSR_THRE		 0x20
#define DEBUG_EXIT_PORT		 0xf4

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
	movb $BOOT_TIMER_MAGIC, BOOT_TIMER_MMIO
	mov $message, %esi
next_char:
	movzbl (%esi), %ecx
	test %ecx, %ecx
	jz done
wait_thre:
	mov $COM1_LSR, %dx
	inb %dx, %al
	test $LSR_THRE, %al
	jz wait_thre
	mov $COM1, %dx
	mov %cl, %al
	outb %al, %dx
	inc %esi
	jmp next_char
done:
	mov $DEBUG_EXIT_PORT, %dx
	xor %eax, %eax
	outl %eax, %dx
park:					/* nothing on port 0xf4: halt until the script's timeout */
	cli
	hlt
	jmp park

	.section .rodata
message:
	.asciz "TEST PASS\n"
