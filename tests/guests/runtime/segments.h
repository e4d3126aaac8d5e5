/* GDT selectors and control-register bits shared by the runtime's assembly and C. */
#ifndef GUEST_SEGMENTS_H
#define GUEST_SEGMENTS_H

#define SEL_KERNEL_CS32 0x08 /* flat 32-bit code, used between PVH entry and long mode */
#define SEL_KERNEL_CS	0x10 /* 64-bit code, ring 0 */
#define SEL_KERNEL_DS	0x18
#define SEL_USER_DS	0x23 /* 0x20 | RPL 3 */
#define SEL_USER_CS	0x2B /* 0x28 | RPL 3 */
#define SEL_TSS		0x30 /* 16-byte 64-bit TSS descriptor, filled in by trap.c */
#define GDT_ENTRIES	8

#define CR0_PE	    (1 << 0)
#define CR0_MP	    (1 << 1)
#define CR0_EM	    (1 << 2)
#define CR0_PG	    (1 << 31)
#define CR4_PAE	    (1 << 5)
#define CR4_OSFXSR  (1 << 9)
#define CR4_OSXMMEX (1 << 10)
#define MSR_EFER    0xC0000080
#define EFER_LME    (1 << 8)

#define BSP_STACK_SIZE	0x8000
#define AP_STACK_SIZE	0x2000
#define SMP_MAX_CPUS	16
#define USER_STACK_SIZE 0x10000

/* The one DPL-3 gate ring-3 code calls (`int $0x80`, rax = operation): kvm_pvm delivers int 0x80
 * and int3 from ring 3 but raises #UD for other `int n`, and `syscall` may fault there.
 *   USER_OP_RETURN: rdi = fn's result; back to run_user()'s caller.
 *   USER_OP_PRINT:  rdi = text, rsi = length; ring 0 writes it to COM1 (port I/O from ring 3
 *                   faults on kvm_pvm even with IOPL 3). */
#define USER_GATE_VECTOR 0x80
#define USER_OP_RETURN	 0
#define USER_OP_PRINT	 1
#define USER_PRINT_MAX	 512

#endif
