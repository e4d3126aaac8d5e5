/* vmm --cpu-template-dump: the CPUID vCPU 0 would get on this host (KVM_GET_SUPPORTED_CPUID,
 * the template if one is given, the normalization for --cpus and --smt), printed on stdout as a
 * Firecracker custom CPU template whose every bit is fixed: what Firecracker's
 * cpu-template-helper "template dump" gives, and a file --cpu-template-file takes back; with the
 * MSRs a vCPU gets in msr_modifiers (cpu_probe.h). --cpu-template-verify comes here too
 * (cpu_template_verify.h). */
#ifndef VMM_VM_CPU_TEMPLATE_DUMP_H
#define VMM_VM_CPU_TEMPLATE_DUMP_H

#include <jansson.h>

#include "host/kvm/x86/cpuid.h"
#include "vmm/config/vm_config.h"

/* Returns the exit status: 0, or 2 (the reason on stderr) when KVM cannot be asked or the
 * template does not apply here. */
int cpu_template_dump(const struct vm_config *cfg);

/* The JSON of `t` (a vCPU's CPUID table) as a custom template, new reference or NULL: the
 * entries `supported` (KVM's table) lists, which a template may name. Pure. */
json_t *cpu_template_dump_json(const struct cpuid_table *t, const struct cpuid_table *supported);

#endif
