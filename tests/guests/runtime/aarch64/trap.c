/* Exceptions and interrupts (platform.h): the vector table (start.S) calls trap_dispatch() with
 * the saved registers. IRQs are acknowledged at the GIC, counted and handed to their handler
 * under the vector platform_irq_route() gave them (an LPI: the ITS event's vector, its.h); every
 * other exception ends the run with GUEST_EXIT_EXCEPTION unless fault catching is on. */
#include "gic.h"
#include "its.h"
#include "platform.h"
#include "printf.h"
#include "test.h"

/* Entry kinds, in the vector table's order (Arm ARM D1.10.2). */
#define KIND_SYNC_SPX 4
#define KIND_IRQ_SPX  5
#define ESR_EC(esr)   (((esr) >> 26) & 0x3f)

#define CNTV_CTL_ENABLE 1u

static irq_handler_t handlers[IRQ_VECTORS];
static volatile uint64_t counts[IRQ_VECTORS];
static uint8_t route[GIC_FIRST_SPI + 1024]; /* INTID -> vector (0: the INTID itself) */
static volatile bool catching;
static volatile unsigned caught;
static struct fault_info last_fault;

void trap_dispatch(struct trap_frame *f);

static const char *kind_name(unsigned kind)
{
	static const char *const names[] = {"sync", "irq", "fiq", "serror"};
	static const char *const levels[] = {"EL1t", "EL1h", "EL0 64-bit", "EL0 32-bit"};
	static char buf[32];

	snprintf(buf, sizeof(buf), "%s from %s", names[kind & 3], levels[(kind >> 2) & 3]);
	return buf;
}

static void unexpected(struct trap_frame *f)
{
	printf_break_lock();
	printf("UNEXPECTED EXCEPTION: %s, ESR 0x%llx (EC 0x%llx) ELR 0x%llx FAR 0x%llx SPSR "
	       "0x%llx\n",
	       kind_name((unsigned)f->vector), (unsigned long long)f->esr,
	       (unsigned long long)ESR_EC(f->esr), (unsigned long long)f->elr,
	       (unsigned long long)f->far, (unsigned long long)f->spsr);
	for (int i = 0; i < 30; i += 2)
		printf("  x%-2d 0x%016llx  x%-2d 0x%016llx\n", i, (unsigned long long)f->x[i],
		       i + 1, (unsigned long long)f->x[i + 1]);
	guest_exit(GUEST_EXIT_EXCEPTION);
}

static void dispatch_irqs(struct trap_frame *f)
{
	for (;;) {
		unsigned intid = gic_ack();
		if (intid >= GIC_INTID_SPURIOUS && intid < GIC_FIRST_LPI) /* 1020-1023: none */
			return;
		unsigned v = intid < sizeof(route) && route[intid] ? route[intid] : intid;
		if (intid >= GIC_FIRST_LPI) /* an ITS event: its vector (its.h) */
			v = intid - GIC_FIRST_LPI;
		if (v < IRQ_VECTORS) {
			counts[v]++;
			f->vector = v;
			if (handlers[v])
				handlers[v](f);
			else if (intid == GIC_PPI_VTIMER) /* irq_wait()'s watchdog */
				write_sysreg(cntv_ctl_el0, 0);
		}
		gic_eoi(intid);
	}
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned kind = (unsigned)f->vector;

	if (kind == KIND_IRQ_SPX) {
		dispatch_irqs(f);
		f->vector = kind;
		return;
	}
	if (kind == KIND_SYNC_SPX && catching) {
		last_fault = (struct fault_info){f->esr, f->far, f->elr, ++caught};
		f->elr += 4; /* every A64 instruction is 4 bytes */
		return;
	}
	unexpected(f);
}

void catch_begin(void)
{
	caught = 0;
	catching = true;
	__asm__ volatile("" ::: "memory");
}

unsigned catch_end(struct fault_info *fi)
{
	__asm__ volatile("" ::: "memory");
	catching = false;
	if (fi)
		*fi = last_fault;
	return caught;
}

void irq_set_handler(unsigned vector, irq_handler_t h)
{
	if (vector < IRQ_VECTORS)
		handlers[vector] = h;
}

uint64_t irq_count(unsigned vector)
{
	return vector < IRQ_VECTORS ? counts[vector] : 0;
}

void trap_route(unsigned intid, uint8_t vector)
{
	if (intid < sizeof(route))
		route[intid] = vector;
}

/* Sleeps (wfi with interrupts masked, then a window to take them: no lost wake-up) until the
 * vector fires or the virtual timer, armed as a watchdog, does. */
bool irq_wait(unsigned vector, uint64_t *seen, uint32_t timeout_ms)
{
	uint64_t fired = irq_count(GIC_PPI_VTIMER);
	bool got = false;

	irq_disable();
	write_sysreg(cntv_tval_el0, (uint64_t)timeout_ms * 1000 * clock_ticks_per_us());
	write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE);
	gic_enable(GIC_PPI_VTIMER);
	for (;;) {
		if (irq_count(vector) > *seen) {
			got = true;
			break;
		}
		if (irq_count(GIC_PPI_VTIMER) != fired)
			break;
		irq_sleep();
	}
	write_sysreg(cntv_ctl_el0, 0);
	*seen = irq_count(vector);
	return got;
}

static uint64_t tick_period;
static unsigned tick_vector;

/* The virtual timer's level drops once its deadline moves: one period from now. */
static void tick_rearm(struct trap_frame *f)
{
	(void)f;
	write_sysreg(cntv_tval_el0, tick_period);
}

void platform_tick_start(uint8_t vector, uint32_t period_us)
{
	tick_period = (uint64_t)period_us * clock_ticks_per_us();
	tick_vector = vector;
	trap_route(GIC_PPI_VTIMER, vector);
	irq_set_handler(vector, tick_rearm);
	write_sysreg(cntv_tval_el0, tick_period);
	write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE);
	gic_enable(GIC_PPI_VTIMER);
}

void platform_tick_stop(void)
{
	write_sysreg(cntv_ctl_el0, 0);
	gic_disable(GIC_PPI_VTIMER);
	irq_set_handler(tick_vector, 0);
	trap_route(GIC_PPI_VTIMER, 0);
}

void delay_us(uint64_t us)
{
	uint64_t end = clock_ticks() + us * clock_ticks_per_us();

	while (clock_ticks() < end)
		cpu_relax();
}
