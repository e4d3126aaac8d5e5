/* Checks of the machine's basics (machine_checks.c), shared by the machine and dtb_devices
 * guests: each fails the run (test.h) on a finding and prints what it saw. */
#ifndef GUEST_AARCH64_MACHINE_CHECKS_H
#define GUEST_AARCH64_MACHINE_CHECKS_H

/* The tree's RAM (expect_mem=SIZE: within 2 MiB under it) holds the image and the tree. */
void machine_check_memory(void);
/* The boot CPU among the tree's CPUs, distinct MPIDRs; `count_key`=N on the command line: N of
 * them. */
void machine_check_cpus(const char *count_key);
/* /psci's method is hvc, PSCI 0.2 or later, and (1.0) the calls the runtime uses implemented. */
void machine_check_psci(void);
/* CNTFRQ_EL0 sane, the virtual timer's PPI 27, the virtual counter moving. */
void machine_check_timer(void);

#endif
