/* vmm --cpu-template-verify (docs/cpu.md): does the template given (--cpu-template NAME or
 * --cpu-template-file FILE) apply on this host as written? Firecracker's cpu-template-helper
 * "template verify": the template is checked against KVM's supported CPUID (vendor, leaves,
 * features), then set on a scratch vCPU (cpu_probe.h) with the VM's shape (--cpus, --smt) and
 * read back; every CPUID bit and MSR bit the template fixes that the vCPU does not have is named
 * with what changed it: the VMM's normalization (topology, the hypervisor bit: docs/cpu.md) or
 * KVM. */
#ifndef VMM_VM_CPU_TEMPLATE_VERIFY_H
#define VMM_VM_CPU_TEMPLATE_VERIFY_H

#include <stddef.h>

#include "host/kvm/x86/cpu_template.h"
#include "host/kvm/x86/cpuid.h"
#include "vmm/config/vm_config.h"

/* Prints "ok: ..." (exit 0) or "refused: ..." and one line per problem (exit 1) on stdout; 2
 * with the reason on stderr when KVM cannot be asked. */
int cpu_template_verify(const struct vm_config *cfg);

/* The CPUID modifiers of `t` against the vCPU's table `got` (KVM_GET_CPUID2 after setting
 * `want`, the table the VMM made: KVM's, the template, the normalization): one line ("- ...\n")
 * appended to buf[0..len) per modifier whose fixed bits `got` does not have, saying whether the
 * normalization (`want` differs already) or KVM changed them; the bits KVM keeps in step with
 * the vCPU's registers (OSXSAVE, APIC, OSPKE, MONITOR, XSAVE sizes) are not compared. Returns how
 * many. Pure. */
unsigned cpu_template_verify_cpuid(const struct cpu_template *t, const struct cpuid_table *want,
				   const struct cpuid_table *got, char *buf, size_t len);

#endif
