/* What generic code (the API's control plane, a migration's destination) asks of the host's CPU
 * as KVM presents it: the same calls on every architecture, implemented in its folder (x86:
 * host/kvm/x86/cpu_model_host.c, where the CPU model is CPUID: host/kvm/x86/cpu_model.h). */
#ifndef VMM_KVM_CPU_HOST_H
#define VMM_KVM_CPU_HOST_H

#include <stddef.h>

struct cpu_template;

/* Asks the device at `kvm_path` now what it supports (x86: cpuid_warm_up()), so that a VM built
 * later (a migration's destination, once the source's state is in) finds the answer cached.
 * Best effort: a failure is left for the VM's creation to report. */
void cpu_host_warm_up(const char *kvm_path);

/* Whether the CPU template `t` applies to what the KVM at `kvm_path` supports
 * (cpu_model_of_host(): the test-only VMM_TEST_HOST_CPU_HIDE counts, so a test can fake a host
 * without a feature). Returns 0, or -errno with the reason in err. */
int cpu_host_check_template(const char *kvm_path, const struct cpu_template *t, char *err,
			    size_t errlen);

#endif
