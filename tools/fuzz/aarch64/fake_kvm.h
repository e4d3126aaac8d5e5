/* A KVM for the arm64 snapshot fuzz target and its seed generator: the VMM's calls of
 * kvm_ioctl_retry() and arm64_cpu_ids_of_host() are redirected here at link time (--wrap, in
 * tools/fuzz/CMakeLists.txt), so that host/kvm/aarch64's save and restore run unchanged over
 * registers and device attributes kept in memory.
 *
 * File descriptors: FAKE_KVM_DEV (/dev/kvm), FAKE_KVM_GIC, FAKE_KVM_ITS, and FAKE_KVM_VCPU0 + i
 * for vCPU i < FAKE_KVM_MAX_VCPUS. What it answers:
 *   KVM_GET_REG_LIST         the registers set so far, in the order first set
 *   KVM_GET/SET_ONE_REG      the value last set (up to 16 bytes; wider ones refused, EINVAL); a
 *                            read of an unset register: its ID's bytes (MPIDR_EL1: the vCPU's
 *                            affinity, fake_kvm_mpidr()); the set of register number
 *                            fake_kvm.refuse_reg (counted from 1) fails with EINVAL
 *   KVM_GET/SET_DEVICE_ATTR  the GIC's and ITS's attributes by (fd, group, attr), 32 or 64 bits
 *                            by group; NR_IRQS is fake_kvm.nr_irqs; control attributes succeed
 *   KVM_GET/SET_MP_STATE, KVM_GET/SET_VCPU_EVENTS   kept per vCPU
 *   KVM_CHECK_EXTENSION      1
 * Anything else fails with ENOTTY. fake_kvm.writes counts every successful set. */
#ifndef VMM_FUZZ_FAKE_KVM_H
#define VMM_FUZZ_FAKE_KVM_H

#include <stdint.h>

#include "host/kvm/aarch64/cpu_ids.h"

#define FAKE_KVM_DEV	   1000
#define FAKE_KVM_GIC	   1001
#define FAKE_KVM_ITS	   1002
#define FAKE_KVM_VCPU0	   1010
#define FAKE_KVM_MAX_VCPUS 4

struct fake_kvm {
	uint32_t nr_irqs;		  /* KVM_DEV_ARM_VGIC_GRP_NR_IRQS */
	unsigned refuse_reg;		  /* 0: none */
	uint64_t host_ids[ARM64_CPU_IDS]; /* arm64_cpu_ids_of_host()'s answer */
	unsigned long writes;		  /* successful sets of any kind */
	unsigned long reg_writes[FAKE_KVM_MAX_VCPUS];
};

extern struct fake_kvm fake_kvm;

/* Forgets every register and attribute; the settings above to their defaults (128 interrupts,
 * nothing refused, zero host IDs, no writes). */
void fake_kvm_reset(void);

/* The MPIDR_EL1 vCPU `index` reads when it was never set (Aff0 = index, bit 31 RES1). */
uint64_t fake_kvm_mpidr(unsigned index);

/* The registers vCPU `index` has, and how many distinct ones. */
unsigned fake_kvm_reg_count(unsigned index);

#endif
