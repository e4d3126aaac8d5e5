#include "trap.h"

#include "apic.h"
#include "cpu.h"
#include "jmp.h"
#include "printf.h"
#include "segments.h"
#include "string.h"
#include "test.h"

#define IDT_VECTORS    256
#define ISR_STUB_SIZE  16
#define GATE_INTERRUPT 0x8E /* present, DPL 0, 64-bit interrupt gate */
#define GATE_DPL3      0x60
#define IST_DF	       1 /* #DF runs on its own stack: it often means the stack is gone */

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

/* 64-bit TSS (SDM vol. 3 figure 8-11). Only RSP0 (ring-3 -> ring-0 stack) and IST1 are used. */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern char isr_stubs[];
extern uint64_t gdt[GDT_ENTRIES];

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static struct tss64 runtime_tss __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));
static irq_handler_t irq_handlers[IDT_VECTORS];
static volatile uint64_t irq_counts[IDT_VECTORS];

static struct jmp_ctx *catch_ctx;
static struct fault_info *catch_info;
static volatile int in_fatal;

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "RSV", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

const char *exception_name(unsigned vector)
{
	if (vector < 32 && exception_names[vector])
		return exception_names[vector];
	return vector < 32 ? "reserved" : "interrupt";
}

static void set_gate(unsigned vec, uint8_t type_attr, uint8_t ist)
{
	uint64_t addr = (uint64_t)(uintptr_t)isr_stubs + (uint64_t)vec * ISR_STUB_SIZE;

	idt[vec] = (struct idt_gate){
	    .offset_lo = (uint16_t)addr,
	    .selector = SEL_KERNEL_CS,
	    .ist = ist,
	    .type_attr = type_attr,
	    .offset_mid = (uint16_t)(addr >> 16),
	    .offset_hi = (uint32_t)(addr >> 32),
	};
}

/* 16-byte system descriptor for an available 64-bit TSS (type 9), SDM vol. 3 figure 8-4. */
static void set_tss_descriptor(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&runtime_tss, limit = sizeof(runtime_tss) - 1;

	gdt[SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
			   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = base >> 32;
}

void tss_set_rsp0(uint64_t rsp0)
{
	runtime_tss.rsp[0] = rsp0;
}

void trap_load_idt(void)
{
	struct desc_ptr p = {.limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt};

	__asm__ volatile("lidt %0" : : "m"(p));
}

void trap_init(void)
{
	for (unsigned v = 0; v < IDT_VECTORS; v++)
		set_gate(v, GATE_INTERRUPT, v == VEC_DF ? IST_DF : 0);
	/* Reachable from ring 3 by `int n`: breakpoints and the run_user() return gate. */
	set_gate(VEC_BP, GATE_INTERRUPT | GATE_DPL3, 0);
	set_gate(USER_GATE_VECTOR, GATE_INTERRUPT | GATE_DPL3, 0);

	runtime_tss.ist[IST_DF - 1] = (uint64_t)(uintptr_t)(df_stack + sizeof(df_stack));
	runtime_tss.iomap_base = sizeof(runtime_tss); /* no I/O bitmap: IOPL alone decides */
	set_tss_descriptor();
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	trap_load_idt();
}

bool catch_fault(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	struct jmp_ctx ctx;

	if (guest_setjmp(&ctx)) {
		catch_ctx = NULL;
		__asm__ volatile("mov %0, %%ss" : : "r"(SEL_KERNEL_DS));
		return true;
	}
	*fi = (struct fault_info){0};
	catch_info = fi;
	catch_ctx = &ctx;
	fn(arg);
	catch_ctx = NULL;
	return false;
}

void irq_set_handler(unsigned vector, irq_handler_t h)
{
	if (vector < IDT_VECTORS)
		irq_handlers[vector] = h;
}

uint64_t irq_count(unsigned vector)
{
	return vector < IDT_VECTORS ? irq_counts[vector] : 0;
}

static _Noreturn void fatal_exception(const struct trap_frame *f, uint64_t cr2)
{
	if (__atomic_exchange_n(&in_fatal, 1, __ATOMIC_ACQUIRE)) {
		/* A second fault while reporting: leave without printing. */
		__asm__ volatile("outl %0, %1"
				 :
				 : "a"(GUEST_EXIT_EXCEPTION), "Nd"(DEBUG_EXIT_PORT));
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	printf_break_lock();
	printf("UNEXPECTED EXCEPTION: vector %llu (%s) error 0x%llx rip 0x%llx cr2 0x%llx\n",
	       (unsigned long long)f->vector, exception_name((unsigned)f->vector),
	       (unsigned long long)f->error_code, (unsigned long long)f->rip,
	       (unsigned long long)cr2);
	printf("  cs 0x%llx rflags 0x%llx rsp 0x%llx ss 0x%llx%s\n", (unsigned long long)f->cs,
	       (unsigned long long)f->rflags, (unsigned long long)f->rsp, (unsigned long long)f->ss,
	       (f->cs & 3) ? " (ring 3)" : "");
	printf("  rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
	       (unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi);
	guest_exit(GUEST_EXIT_EXCEPTION);
}

/* kvm_pvm raises #UD, with RIP at the instruction, for `int $0x80` from ring 3 (it seems to accept
 * only int3 there). Such a #UD is the ring-3 gate all the same: step over it and serve it. */
static bool is_user_gate_ud(const struct trap_frame *f)
{
	const uint8_t *insn = (const uint8_t *)f->rip;

	return f->vector == VEC_UD && (f->cs & 3) && f->rip < 0x100000000ULL - 2 &&
	       insn[0] == 0xCD && insn[1] == USER_GATE_VECTOR;
}

static void handle_exception(struct trap_frame *f)
{
	uint64_t cr2 = f->vector == VEC_PF ? read_cr2() : 0;

	if (is_user_gate_ud(f)) {
		f->rip += 2;
		user_gate(f);
		return;
	}

	if (catch_ctx) {
		*catch_info = (struct fault_info){
		    .vector = (uint32_t)f->vector,
		    .error_code = f->error_code,
		    .rip = f->rip,
		    .cr2 = cr2,
		    .user = (f->cs & 3) != 0,
		};
		guest_longjmp(catch_ctx, 1);
	}
	fatal_exception(f, cr2);
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;

	if (v < 32) {
		handle_exception(f);
		return;
	}
	if (v == USER_GATE_VECTOR && (f->cs & 3)) {
		user_gate(f); /* software interrupt: no EOI */
		return;
	}
	__atomic_add_fetch(&irq_counts[v], 1, __ATOMIC_RELAXED);
	if (irq_handlers[v])
		irq_handlers[v](f);
	if (v != LAPIC_SPURIOUS_VECTOR)
		lapic_eoi();
}
