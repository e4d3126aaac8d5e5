/* Secondary CPUs through PSCI CPU_ON (the device tree's /cpus, enable-method "psci"). */
#ifndef GUEST_AARCH64_SMP_H
#define GUEST_AARCH64_SMP_H

#include <stdint.h>

#include "machine.h"

struct smp_cpu {
	uint64_t mpidr;		  /* what the CPU read from its MPIDR_EL1 */
	volatile uint32_t online; /* set by the CPU once it runs C with its MMU on */
	int64_t psci_ret;	  /* what CPU_ON returned for it */
};

/* Starts every CPU of the tree but this one with CPU_ON at the runtime's secondary entry, each
 * then running fn(index) (index into machine.mpidr[]) and parking (wfe, interrupts off), and
 * waits up to timeout_ms for them to check in. Returns how many did. */
int smp_start_secondaries(void (*fn)(unsigned index), uint32_t timeout_ms);
const struct smp_cpu *smp_cpu(unsigned index);

/* x86's smp.h names, for the arch-neutral guests: at most SMP_MAX_CPUS CPUs; starts every other
 * CPU of the tree (however many `expected` says) and returns once they checked in, each running
 * fn(index) with index its place among them (0 .. up - 1, in the tree's order), interrupts off,
 * while the caller goes on. Returns how many checked in. */
#define SMP_MAX_CPUS MACHINE_MAX_CPUS
int smp_start_aps_nowait(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms);
/* The physical address CPU_ON takes (the hostile guest reuses it). */
uint64_t smp_secondary_entry(void);

#endif
