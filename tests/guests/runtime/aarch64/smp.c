/* smp.h: CPU_ON(target MPIDR, entry, context = CPU index); start.S's secondary_entry sets the
 * CPU's stack and vectors, turns its MMU on and calls secondary_main(). */
#include "smp.h"

#include "gic.h"
#include "platform.h"
#include "printf.h"
#include "psci.h"

extern char secondary_entry[];
void secondary_main(unsigned index);

static struct smp_cpu cpus[MACHINE_MAX_CPUS];
static void (*secondary_fn)(unsigned index);

void secondary_main(unsigned index)
{
	cpus[index].mpidr = cpu_mpidr();
	if (gic_present())
		gic_cpu_init();
	__atomic_store_n(&cpus[index].online, 1, __ATOMIC_RELEASE);
	if (secondary_fn)
		secondary_fn(index);
	for (;;)
		__asm__ volatile("wfe");
}

uint64_t smp_secondary_entry(void)
{
	return (uint64_t)(uintptr_t)secondary_entry;
}

const struct smp_cpu *smp_cpu(unsigned index)
{
	return index < MACHINE_MAX_CPUS ? &cpus[index] : NULL;
}

int smp_start_secondaries(void (*fn)(unsigned index), uint32_t timeout_ms)
{
	uint64_t self = cpu_mpidr(), deadline;
	int up = 0;

	secondary_fn = fn;
	/* The new CPU reads what it needs with its MMU off: make it reach memory. */
	__asm__ volatile("dsb sy" ::: "memory");
	for (unsigned i = 0; i < machine.ncpus; i++) {
		if (machine.mpidr[i] == self)
			continue;
		cpus[i].psci_ret =
		    psci_call(PSCI_CPU_ON, machine.mpidr[i], smp_secondary_entry(), i);
		if (cpus[i].psci_ret != PSCI_SUCCESS)
			printf("smp: CPU_ON of MPIDR 0x%llx: %lld\n",
			       (unsigned long long)machine.mpidr[i], (long long)cpus[i].psci_ret);
	}
	deadline = clock_ticks() + (uint64_t)timeout_ms * 1000 * clock_ticks_per_us();
	for (;;) {
		up = 0;
		for (unsigned i = 0; i < machine.ncpus; i++)
			up += machine.mpidr[i] != self &&
			      __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE);
		if (up == (int)machine.ncpus - 1 || clock_ticks() > deadline)
			return up;
		cpu_relax();
	}
}

static void (*ap_fn)(unsigned index);
static unsigned boot_index;

static void ap_main(unsigned cpu)
{
	ap_fn(cpu - (cpu > boot_index));
}

int smp_start_aps_nowait(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms)
{
	(void)expected;
	ap_fn = fn;
	boot_index = (unsigned)machine_cpu_index(cpu_mpidr());
	return smp_start_secondaries(ap_main, timeout_ms);
}
