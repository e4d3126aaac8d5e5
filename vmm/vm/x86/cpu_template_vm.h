/* A VM's CPU template (docs/cpu.md) where it meets KVM: the check before any vCPU is made, and
 * the MSR modifiers set on each vCPU. The CPUID modifiers are applied in vcpu.c's setup, before
 * the normalization (cpuid_patch_for_vcpu()), as Firecracker orders them. */
#ifndef VMM_VM_CPU_TEMPLATE_VM_H
#define VMM_VM_CPU_TEMPLATE_VM_H

#include "host/kvm/x86/cpu_template.h"
#include "host/kvm/x86/cpuid.h"

struct vm;
struct vcpu;

/* Refuses a template that cannot apply here (cpu_template_check() on `supported`, and each KVM
 * capability it adds checked with KVM_CHECK_EXTENSION on `kvm_dev_fd`), with the reason logged.
 * Returns 0 or -EINVAL. */
int cpu_template_vm_check(const struct cpu_template *t, int kvm_dev_fd,
			  const struct cpuid_table *supported);

/* Sets the template's MSR modifiers on the vCPU (KVM_GET_MSRS, the bitmap, KVM_SET_MSRS); an
 * MSR KVM does not let the VMM read or write is an error naming it. Returns 0 or -EINVAL. */
int cpu_template_vm_msrs(const struct cpu_template *t, int vcpu_fd, unsigned index);

#endif
