/* The machine as the device tree describes it (boot.c reads it once at entry, before the MMU is
 * on): RAM, CPUs, the PL011, the GIC (v3 or v2), the command line. The same for our VMM's tree
 * (firmware/aarch64/fdt_aarch64.c) and QEMU's virt board, whose addresses differ. */
#ifndef GUEST_AARCH64_MACHINE_H
#define GUEST_AARCH64_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#define MACHINE_MAX_CPUS 16
#define MACHINE_MAX_RAM	 4

struct machine {
	uint64_t dtb;
	const char *cmdline; /* /chosen bootargs, or "" */
	unsigned nram;
	struct {
		uint64_t base, size;
	} ram[MACHINE_MAX_RAM];
	unsigned ncpus;
	uint64_t mpidr[MACHINE_MAX_CPUS]; /* /cpus/cpu@N reg: MPIDR affinity */
	uint64_t uart;			  /* arm,pl011 (0: none) */
	uint64_t gicd, gicr, gicr_size;	  /* arm,gic-v3 reg[0], reg[1] (0: none) */
	uint64_t
	    gicc; /* a GICv2 (arm,cortex-a15-gic): reg[1], its CPU interface; gicd its reg[0] */
	uint64_t vtimer_ppi; /* arm,armv8-timer: the virtual timer's PPI (0: none) */
	bool psci_hvc;	     /* /psci method = "hvc" */
};

extern struct machine machine;

/* The RAM the device tree lists, in bytes. */
uint64_t machine_ram_total(void);
/* The index of the CPU with this MPIDR in machine.mpidr[], or -1. */
int machine_cpu_index(uint64_t mpidr);

/* Called once from start.S, MMU off: reads the tree at `dtb` into `machine` and builds the
 * identity map (RAM normal write-back memory, everything else device memory). */
void boot_early(uint64_t dtb);
/* Turns the MMU and caches on with that map (every CPU, from start.S). */
void mmu_enable(void);

#endif
