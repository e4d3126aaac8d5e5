/* Brings up the application processors with INIT-SIPI-SIPI and checks each one checked in with
 * its own APIC ID. The expected CPU count comes from ncpus=N on the command line, else from the
 * MP table. Passes when exactly ncpus - 1 APs came up, with APIC IDs distinct from each other and
 * from the BSP's. */
#include "guest.h"

#define AP_TIMEOUT_MS 5000

static void ap_hello(unsigned index)
{
	printf("AP %u up: APIC ID %u\n", index, lapic_id());
}

static unsigned expected_cpus(void)
{
	uint64_t n;
	int mp;

	if (cmdline_get_u64("ncpus", &n)) {
		TEST_ASSERT_MSG(n >= 1 && n <= SMP_MAX_CPUS, "ncpus=%llu out of range 1..%d",
				(unsigned long long)n, SMP_MAX_CPUS);
		return (unsigned)n;
	}
	mp = mptable_count_cpus();
	TEST_ASSERT_MSG(mp > 0, "no ncpus= on the command line and no MP table");
	printf("MP table lists %d CPUs\n", mp);
	TEST_ASSERT_MSG(mp <= SMP_MAX_CPUS, "MP table lists %d CPUs, more than %d", mp,
			SMP_MAX_CPUS);
	return (unsigned)mp;
}

int guest_main(void)
{
	unsigned ncpus = expected_cpus(), bsp = lapic_id();
	int up;

	printf("BSP APIC ID %u, expecting %u CPUs\n", bsp, ncpus);
	up = smp_start_aps(ncpus - 1, ap_hello, AP_TIMEOUT_MS);
	TEST_ASSERT_MSG(up >= 0, "could not place the AP trampoline");
	printf("trampoline at 0x%llx, %d APs checked in\n",
	       (unsigned long long)smp_trampoline_addr(), up);
	TEST_ASSERT_EQ(up, ncpus - 1);
	for (unsigned i = 0; i < ncpus - 1; i++) {
		const struct smp_cpu *c = smp_ap(i);
		TEST_ASSERT_MSG(c->online, "AP %u did not check in", i);
		TEST_ASSERT_MSG(c->apic_id != bsp, "AP %u has the BSP's APIC ID %u", i, bsp);
		for (unsigned j = 0; j < i; j++)
			TEST_ASSERT_MSG(smp_ap(j)->apic_id != c->apic_id,
					"APs %u and %u share APIC ID %u", j, i, c->apic_id);
	}
	printf("all %u CPUs up\n", ncpus);
	return 0;
}
