/* Every CPU of the device tree comes up through PSCI CPU_ON: each checks in from C with its own
 * MPIDR (the one the tree lists for it), its MMU on and its GIC redistributor woken; AFFINITY_INFO
 * then says ON for each. Command line: [ncpus=N] (the tree must list N). */
#include "guest.h"

#define TIMEOUT_MS	5000
#define AFFINITY_ON	0
#define AFFINITY_LEVEL0 0

static volatile uint32_t hellos;

static void cpu_hello(unsigned index)
{
	printf("cpu %u up: MPIDR 0x%llx\n", index, (unsigned long long)cpu_mpidr());
	__atomic_fetch_add(&hellos, 1, __ATOMIC_ACQ_REL);
}

int guest_main(void)
{
	uint64_t want;
	uint64_t self = cpu_mpidr();
	int up;

	if (cmdline_get_u64("ncpus", &want))
		TEST_ASSERT_EQ(machine.ncpus, want);
	printf("boot CPU MPIDR 0x%llx, starting %u more\n", (unsigned long long)self,
	       machine.ncpus - 1);
	up = smp_start_secondaries(cpu_hello, TIMEOUT_MS);
	TEST_ASSERT_EQ(up, machine.ncpus - 1);
	for (unsigned i = 0; i < machine.ncpus; i++) {
		const struct smp_cpu *c = smp_cpu(i);
		if (machine.mpidr[i] == self)
			continue;
		TEST_ASSERT_EQ(c->psci_ret, PSCI_SUCCESS);
		TEST_ASSERT_MSG(c->online, "cpu %u did not check in", i);
		TEST_ASSERT_MSG(c->mpidr == machine.mpidr[i],
				"cpu %u reads MPIDR 0x%llx, the tree says 0x%llx", i,
				(unsigned long long)c->mpidr, (unsigned long long)machine.mpidr[i]);
		TEST_ASSERT_EQ(psci_call(PSCI_AFFINITY_INFO, machine.mpidr[i], AFFINITY_LEVEL0, 0),
			       AFFINITY_ON);
	}
	for (uint64_t end = clock_ticks() + TIMEOUT_MS * 1000 * clock_ticks_per_us();
	     hellos < machine.ncpus - 1 && clock_ticks() < end;)
		cpu_relax();
	TEST_ASSERT_EQ(hellos, machine.ncpus - 1);
	printf("all %u CPUs up\n", machine.ncpus);
	return 0;
}
