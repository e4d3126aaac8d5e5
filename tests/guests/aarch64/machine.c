/* The machine the arm64 guest was given, as its device tree says and the CPU sees it: EL1, the
 * RAM (expect_mem=: within 2 MiB under it; the image and the tree inside it), the CPUs
 * (ncpus=: that many, the boot CPU among them), a PL011, a GICv3 or a GICv2, the architected
 * timer and its virtual PPI, PSCI over HVC (version >= 0.2, the calls the runtime uses
 * implemented), and a counter that moves at CNTFRQ_EL0. Command line: [expect_mem=SIZE] [ncpus=N].
 */
#include "guest.h"
#include "machine_checks.h"

int guest_main(void)
{
	TEST_ASSERT_EQ((read_sysreg(CurrentEL) >> 2) & 3, 1);
	machine_check_memory();
	machine_check_cpus("ncpus");
	if (machine.gicc)
		printf("pl011 0x%llx, gicv2 distributor 0x%llx, CPU interface 0x%llx\n",
		       (unsigned long long)machine.uart, (unsigned long long)machine.gicd,
		       (unsigned long long)machine.gicc);
	else
		printf("pl011 0x%llx, gicv3 distributor 0x%llx, redistributors 0x%llx + 0x%llx\n",
		       (unsigned long long)machine.uart, (unsigned long long)machine.gicd,
		       (unsigned long long)machine.gicr, (unsigned long long)machine.gicr_size);
	TEST_ASSERT_MSG(machine.uart && machine.gicd && (machine.gicr || machine.gicc),
			"a device is missing");
	machine_check_psci();
	machine_check_timer();
	printf("machine: ok\n");
	return 0;
}
