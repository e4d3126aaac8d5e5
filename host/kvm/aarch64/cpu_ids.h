/* The ID registers that say what an arm64 CPU is and offers (MIDR_EL1 and the ID_AA64*_EL1 of
 * processor features, instruction sets, memory model and debug), as KVM presents them to a vCPU:
 * the arm64 CPU model of snapshots and migrations (vmm/snapshot/aarch64/cpu_check.c). */
#ifndef VMM_KVM_AARCH64_CPU_IDS_H
#define VMM_KVM_AARCH64_CPU_IDS_H

#include <stddef.h>
#include <stdint.h>

#define ARM64_CPU_IDS 11

/* The registers, in model order, and their names. */
extern const uint64_t arm64_cpu_id_regs[ARM64_CPU_IDS];
extern const char *const arm64_cpu_id_names[ARM64_CPU_IDS];

/* Reads them from a vCPU (KVM_GET_ONE_REG); one KVM does not know reads as 0. Returns 0 or
 * -errno of the first other failure. */
int arm64_cpu_ids_of_vcpu(int vcpu_fd, uint64_t vals[ARM64_CPU_IDS]);

/* The same from a scratch VM on the KVM device at `kvm_path` (arm64_scratch_open()), or from the
 * last such read of that path (cpu_host_warm_up() makes it early); with, when `writable` is not
 * NULL, the bits of each that the host's KVM lets user space lower before a VM runs
 * (arm64_id_writable_masks(): zeros before Linux 6.7). Returns 0, or -errno with the step that
 * failed in err. */
int arm64_cpu_ids_of_host(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
			  uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen);

/* A scratch VM with one vCPU as this VMM makes them (the preferred target, PSCI 0.2), for the
 * questions asked before a VM exists (the host's ID registers, --cpu-template-dump). */
struct arm64_scratch {
	int dev, vm, vcpu;
};

/* Opens it on the KVM device at `kvm_path`. Returns 0, or -errno with the step that failed in
 * err (nothing left open). */
int arm64_scratch_open(struct arm64_scratch *s, const char *kvm_path, char *err, size_t errlen);
void arm64_scratch_close(struct arm64_scratch *s);

#endif
