/* Stops the guest the way Linux's `poweroff` does without a power-off device: every CPU in HLT
 * with interrupts disabled. The VMM must notice and exit 0 (host/kvm/halt_watch.h).
 *   halt.cpus=N  start N-1 application processors first (they park in cli; hlt)
 *   halt.irq=1   halt with interrupts enabled instead: a device could still wake the CPU, so
 *                the VMM must keep waiting (the test expects its timeout)
 * Prints "halting" and never returns. */
#include "guest.h"

#define AP_TIMEOUT_MS 5000

int guest_main(void)
{
	uint64_t cpus = 1;
	cmdline_get_u64("halt.cpus", &cpus);
	if (cpus > 1) {
		int up = smp_start_aps((unsigned)cpus - 1, 0, AP_TIMEOUT_MS);
		TEST_ASSERT_MSG(up == (int)cpus - 1, "%d of %u APs started", up,
				(unsigned)cpus - 1);
	}
	bool irq = cmdline_has("halt.irq");
	printf("halting with interrupts %s\n", irq ? "enabled" : "disabled");
	for (;;) {
		if (irq)
			__asm__ volatile("sti; hlt" ::: "memory");
		else
			__asm__ volatile("cli; hlt" ::: "memory");
	}
}
