/* The machine's basics as the device tree describes them and the CPU sees them (machine_checks.h),
 * shared by the machine and dtb_devices guests. */
#include "machine_checks.h"
#include "guest.h"

#define MEM_SLACK (2u << 20)

void machine_check_memory(void)
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

void machine_check_cpus(const char *count_key)
{
	uint64_t want;

	printf("cpus: %u, boot CPU MPIDR 0x%llx\n", machine.ncpus, (unsigned long long)cpu_mpidr());
	TEST_ASSERT_MSG(machine_cpu_index(cpu_mpidr()) >= 0, "the boot CPU is not in /cpus");
	if (cmdline_get_u64(count_key, &want))
		TEST_ASSERT_EQ(machine.ncpus, want);
	for (unsigned i = 0; i < machine.ncpus; i++)
		for (unsigned j = 0; j < i; j++)
			TEST_ASSERT_MSG(machine.mpidr[i] != machine.mpidr[j],
					"cpus %u and %u share MPIDR 0x%llx", i, j,
					(unsigned long long)machine.mpidr[i]);
}

void machine_check_psci(void)
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

void machine_check_timer(void)
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
