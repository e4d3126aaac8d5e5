/* Interrupt descriptor table, exception reporting, fault catching and interrupt handlers.
 *
 * Every one of the 256 vectors has a stub (isr.S) that saves the registers and calls
 * trap_dispatch(). Exceptions (0-31) are fatal unless a catch_fault() is active: the runtime prints
 * vector, name, error code, RIP, CR2 and exits with GUEST_EXIT_EXCEPTION. Vectors 32-255 are
 * interrupts: counted, passed to a registered handler, then acknowledged with a LAPIC EOI. */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14

/* Register state as isr.S pushes it (lowest address first). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code; /* error_code is 0 for vectors that push none */
	uint64_t rip, cs, rflags, rsp, ss;
};

struct fault_info {
	uint32_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cr2; /* only meaningful for #PF */
	bool user;    /* the fault happened in ring 3 */
};

/* Loads the GDT's TSS and the IDT on the BSP (called by the runtime before guest_main). */
void trap_init(void);
/* Loads the (shared) IDT on an AP. */
void trap_load_idt(void);
const char *exception_name(unsigned vector);

/* Runs fn(arg). If it raises a CPU exception (in ring 0, or in ring 3 under run_user()), execution
 * resumes here: fills *fi and returns true. Returns false if fn returned normally. BSP only, not
 * nestable. Interrupt flag and callee-saved registers are restored; anything else fn changed
 * (e.g. a held lock) is not. */
bool catch_fault(void (*fn)(void *), void *arg, struct fault_info *fi);

/* Interrupt vectors 32-255. The handler runs with interrupts disabled, before the EOI. */
typedef void (*irq_handler_t)(struct trap_frame *f);
void irq_set_handler(unsigned vector, irq_handler_t h);
/* How many times vector has fired since boot (any CPU). */
uint64_t irq_count(unsigned vector);

/* Sets the stack the CPU switches to on an interrupt or exception from ring 3. */
void tss_set_rsp0(uint64_t rsp0);

/* The ring-3 gate (USER_GATE_VECTOR from CPL 3); implemented in user.c. */
void user_gate(struct trap_frame *f);

#endif
