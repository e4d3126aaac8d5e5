/* The machine the arm64 guest was given, as its device tree says and the CPU sees it: EL1, the
 * RAM (expect_mem=: within 2 MiB under it; the image and the tree inside it), the CPUs
 * (ncpus=: that many, the boot CPU among them), a PL011, a GICv3, the architected timer and its
 * virtual PPI, PSCI over HVC (version >= 0.2, the calls the runtime uses implemented), and a
 * counter that moves at CNTFRQ_EL0. Command line: [expect_mem=SIZE] [ncpus=N]. */
#include "guest.h"

#define MEM_SLACK (2u << 20)

static void check_memory(void)
{
	uint64_t want, total = machine_ram_total(), here = (uint64_t)(uintptr_t)&machine;

	for (unsigned i = 0; i < machine.nram; i++)
		printf("memory: 0x%llx + 0x%llx\n", (unsigned long long)machine.ram[i].base,
		       (unsigned long long)machine.ram[i].size);
	TEST_ASSERT_MSG(total > 0, "no memory node");
	if (cmdline_get_u64("expect_mem", &want))
		TEST_ASSERT_MSG(total <= want && total + MEM_SLACK >= want,
				"RAM 0x%llx bytes, expected 0x%llx", (unsigned long long)total,
				(unsigned long long)want);
	TEST_ASSERT_MSG(boot_is_ram(here, 8), "the image (0x%llx) is not in the RAM listed",
			(unsigned long long)here);
	TEST_ASSERT_MSG(boot_is_ram(machine.dtb, 64), "the DTB (0x%llx) is not in the RAM listed",
			(unsigned long long)machine.dtb);
}

static void check_cpus(void)
{
	uint64_t want;

	printf("cpus: %u, boot CPU MPIDR 0x%llx\n", machine.ncpus, (unsigned long long)cpu_mpidr());
	TEST_ASSERT_MSG(machine_cpu_index(cpu_mpidr()) >= 0, "the boot CPU is not in /cpus");
	if (cmdline_get_u64("ncpus", &want))
		TEST_ASSERT_EQ(machine.ncpus, want);
	for (unsigned i = 0; i < machine.ncpus; i++)
		for (unsigned j = 0; j < i; j++)
			TEST_ASSERT_MSG(machine.mpidr[i] != machine.mpidr[j],
					"cpus %u and %u share MPIDR 0x%llx", i, j,
					(unsigned long long)machine.mpidr[i]);
}

static void check_psci(void)
{
	static const uint32_t needed[] = {PSCI_CPU_ON, PSCI_CPU_OFF, PSCI_AFFINITY_INFO,
					  PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET};
	int64_t v = psci_call(PSCI_VERSION, 0, 0, 0);

	TEST_ASSERT_MSG(machine.psci_hvc, "/psci does not say method = \"hvc\"");
	printf("psci: version %lld.%lld\n", (long long)(v >> 16), (long long)(v & 0xffff));
	TEST_ASSERT_MSG(v >= 0x2, "PSCI version 0x%llx, want 0.2 or later", (long long)v);
	if (v < 0x10000)
		return; /* PSCI_FEATURES is 1.0's */
	for (unsigned i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		TEST_ASSERT_MSG(psci_call(PSCI_FEATURES, needed[i], 0, 0) >= 0,
				"PSCI_FEATURES: 0x%x not implemented", needed[i]);
}

static void check_timer(void)
{
	uint64_t freq = read_sysreg(cntfrq_el0), t0 = clock_ticks();

	printf("timer: CNTFRQ %llu Hz, virtual timer PPI INTID %llu\n", (unsigned long long)freq,
	       (unsigned long long)machine.vtimer_ppi);
	TEST_ASSERT_MSG(freq >= 1000000, "CNTFRQ_EL0 %llu Hz", (unsigned long long)freq);
	TEST_ASSERT_EQ(machine.vtimer_ppi, GIC_PPI_VTIMER);
	for (int i = 0; i < 1000000 && clock_ticks() == t0; i++)
		cpu_relax();
	TEST_ASSERT_MSG(clock_ticks() > t0, "the virtual counter does not move");
}

int guest_main(void)
{
	TEST_ASSERT_EQ((read_sysreg(CurrentEL) >> 2) & 3, 1);
	check_memory();
	check_cpus();
	printf("pl011 0x%llx, gicv3 distributor 0x%llx, redistributors 0x%llx + 0x%llx\n",
	       (unsigned long long)machine.uart, (unsigned long long)machine.gicd,
	       (unsigned long long)machine.gicr, (unsigned long long)machine.gicr_size);
	TEST_ASSERT_MSG(machine.uart && machine.gicd && machine.gicr, "a device is missing");
	check_psci();
	check_timer();
	printf("machine: ok\n");
	return 0;
}
