/* Stops the guest the way Linux's `poweroff` does without a power-off device: every CPU in HLT
 * with interrupts disabled. The VMM must notice and exit 0 (host/kvm/halt_watch.h).
 *   halt.cpus=N  start N-1 application processors first (they park in cli; hlt)
 *   halt.irq=1   halt with interrupts enabled instead: a device could still wake the CPU, so
 *                the VMM must keep waiting (the test expects its timeout)
 *   halt.pcihp=1 instead of halting, answer the VMM's PCI hotplug controller as a guest's ACPI
 *                driver would (devices/pci/acpi_pcihp.h): every few ms read PCIU (slots to
 *                check) and PCID (devices to release) and write PCID's bits to B0EJ, which
 *                releases those devices (printing "released 0x<slots>")
 * Prints "halting" and never returns. */
#include "guest.h"

#define AP_TIMEOUT_MS 5000

/* base/layout.h's ACPI_PCIHP_MMIO_BASE and the registers' offsets (acpi_pcihp.h) */
#define PCIHP_BASE 0xC0008000ULL
#define PCIHP_PCIU 0x0
#define PCIHP_PCID 0x4
#define PCIHP_B0EJ 0x8

static void answer_pcihp(void)
{
	printf("answering PCI hotplug\n");
	for (;;) {
		(void)mmio_read32(PCIHP_BASE + PCIHP_PCIU);
		uint32_t down = mmio_read32(PCIHP_BASE + PCIHP_PCID);
		if (down) {
			mmio_write32(PCIHP_BASE + PCIHP_B0EJ, down);
			printf("released 0x%x\n", down);
		}
		for (int i = 0; i < 200000; i++)
			cpu_relax();
	}
}

int guest_main(void)
{
	uint64_t cpus = 1;
	cmdline_get_u64("halt.cpus", &cpus);
	if (cpus > 1) {
		int up = smp_start_aps((unsigned)cpus - 1, 0, AP_TIMEOUT_MS);
		TEST_ASSERT_MSG(up == (int)cpus - 1, "%d of %u APs started", up,
				(unsigned)cpus - 1);
	}
	if (cmdline_has("halt.pcihp"))
		answer_pcihp();
	bool irq = cmdline_has("halt.irq");
	printf("halting with interrupts %s\n", irq ? "enabled" : "disabled");
	for (;;) {
		if (irq)
			__asm__ volatile("sti; hlt" ::: "memory");
		else
			__asm__ volatile("cli; hlt" ::: "memory");
	}
}
