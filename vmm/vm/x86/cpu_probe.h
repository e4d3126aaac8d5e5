/* A scratch vCPU that shows what a guest's vCPU 0 gets on this host, for --cpu-template-dump's
 * MSRs and --cpu-template-verify (docs/cpu.md): a VM with its irqchip (the TSC deadline MSR
 * needs the in-kernel LAPIC) and one vCPU, given the CPUID table and MISC_ENABLE's fast strings
 * as vcpu.c gives them; the template's MSR modifiers are the caller's. Nothing runs. */
#ifndef VMM_VM_CPU_PROBE_H
#define VMM_VM_CPU_PROBE_H

#include <jansson.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/kvm/kvm.h"
#include "host/kvm/x86/cpuid.h"

#define CPU_PROBE_MAX_MSRS 512

struct cpu_probe {
	struct kvm kvm;
	int vcpu_fd;
};

/* Makes the VM and its vCPU 0 on the KVM at `kvm_path` and sets `cpuid` on it. Returns 0, or
 * -errno with the step that failed in err. */
int cpu_probe_open(struct cpu_probe *p, const char *kvm_path, const struct cpuid_table *cpuid,
		   char *err, size_t errlen);
void cpu_probe_close(struct cpu_probe *p);

/* KVM_GET_MSRS (`set` false) or KVM_SET_MSRS of one MSR; true when KVM took it. */
bool cpu_probe_msr(struct cpu_probe *p, bool set, uint32_t addr, uint64_t *v);

/* The vCPU's CPUID as KVM keeps it (KVM_GET_CPUID2). Returns 0 or -errno. */
int cpu_probe_cpuid(struct cpu_probe *p, struct cpuid_table *out);

/* Every MSR of KVM_GET_MSR_INDEX_LIST (what a snapshot saves for each vCPU) that the vCPU lets
 * the VMM read and cpu_msr_dumped() keeps, with its value, in out[0..max), sorted by index.
 * Returns 0 or -errno with the reason in err. */
int cpu_probe_msrs(struct cpu_probe *p, struct kvm_msr_entry *out, unsigned max, unsigned *n,
		   char *err, size_t errlen);

/* Whether the dump shows MSR `index`: not the ones Firecracker's cpu-template-helper leaves out
 * as no template's business (the TSC, performance counters, VMX capabilities, machine check
 * control, Hyper-V's). Pure. */
bool cpu_msr_dumped(uint32_t index);

/* msr_modifiers in Firecracker's form: [{"addr": "0x...", "bitmap": "0b<64 bits>"}], every bit
 * fixed. New reference or NULL. Pure. */
json_t *cpu_msrs_json(const struct kvm_msr_entry *m, unsigned n);

#endif
