/* vmm --cpu-template-dump: the CPUID vCPU 0 would get on this host (KVM_GET_SUPPORTED_CPUID,
 * the template if one is given, the normalization for --cpus and --smt), printed on stdout as a
 * Firecracker custom CPU template whose every bit is fixed: what Firecracker's
 * cpu-template-helper "template dump" gives, and a file --cpu-template-file takes back; with the
 * MSRs a vCPU gets in msr_modifiers (x86/cpu_probe.h). --cpu-template-verify comes here too
 * (x86/cpu_template_verify.h). The architecture's folder implements it (x86/cpu_template_dump.c).
 */
#ifndef VMM_VM_CPU_TEMPLATE_DUMP_H
#define VMM_VM_CPU_TEMPLATE_DUMP_H

#include "vmm/config/vm_config.h"

/* Returns the exit status: 0, or 2 (the reason on stderr) when KVM cannot be asked or the
 * template does not apply here. */
int cpu_template_dump(const struct vm_config *cfg);

#endif
