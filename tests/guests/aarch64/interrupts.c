/* Interrupts through the in-kernel GIC (v3, or v2): the architected virtual timer (PPI 27, level)
 * taken `ticks` times as a periodic tick reprogrammed from its handler, no faster than programmed;
 * and a software-generated interrupt (SGI 3) sent to this CPU. Command line: [ticks=N]
 * (default 20) [period_us=N] (default 2000). */
#include "guest.h"

#define SGI_TEST   3
#define TIMEOUT_MS 10000

static uint64_t period_ticks;
static volatile uint64_t ticks_left;

static void vtimer_tick(struct trap_frame *f)
{
	(void)f;
	if (ticks_left && --ticks_left) {
		write_sysreg(cntv_tval_el0, period_ticks); /* the level drops: a new deadline */
	} else {
		write_sysreg(cntv_ctl_el0, 0);
	}
}

static void check_timer(uint64_t n, uint64_t period_us)
{
	uint64_t seen = irq_count(GIC_PPI_VTIMER), start, elapsed_us, end;

	period_ticks = period_us * clock_ticks_per_us();
	ticks_left = n;
	irq_set_handler(GIC_PPI_VTIMER, vtimer_tick);
	gic_enable(GIC_PPI_VTIMER);
	start = clock_ticks();
	end = start + (uint64_t)TIMEOUT_MS * 1000 * clock_ticks_per_us();
	write_sysreg(cntv_tval_el0, period_ticks);
	write_sysreg(cntv_ctl_el0, 1);
	irq_enable();
	while (ticks_left && clock_ticks() < end)
		__asm__ volatile("wfi");
	irq_disable();
	elapsed_us = (clock_ticks() - start) / clock_ticks_per_us();
	write_sysreg(cntv_ctl_el0, 0);
	irq_set_handler(GIC_PPI_VTIMER, 0);
	printf("virtual timer: %llu interrupts in %llu us (period %llu us)\n",
	       (unsigned long long)(irq_count(GIC_PPI_VTIMER) - seen),
	       (unsigned long long)elapsed_us, (unsigned long long)period_us);
	TEST_ASSERT_MSG(ticks_left == 0, "%llu of %llu timer interrupts missing",
			(unsigned long long)ticks_left, (unsigned long long)n);
	TEST_ASSERT_EQ(irq_count(GIC_PPI_VTIMER) - seen, n);
	TEST_ASSERT_MSG(elapsed_us >= n * period_us, "%llu ticks of %llu us came in %llu us: early",
			(unsigned long long)n, (unsigned long long)period_us,
			(unsigned long long)elapsed_us);
}

static void check_sgi(void)
{
	uint64_t seen = irq_count(SGI_TEST);

	gic_enable(SGI_TEST);
	gic_send_sgi_self(SGI_TEST);
	TEST_ASSERT_MSG(irq_wait(SGI_TEST, &seen, 1000), "SGI %u never arrived", SGI_TEST);
	printf("SGI %u to self: taken\n", SGI_TEST);
}

int guest_main(void)
{
	uint64_t n = 20, period_us = 2000;

	cmdline_get_u64("ticks", &n);
	cmdline_get_u64("period_us", &period_us);
	TEST_ASSERT_MSG(gic_present(), "no GIC");
	TEST_ASSERT_MSG(n > 0 && period_us > 0, "ticks= and period_us= must be > 0");
	check_timer(n, period_us);
	check_sgi();
	return 0;
}
