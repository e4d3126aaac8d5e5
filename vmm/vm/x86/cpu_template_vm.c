/* A VM's CPU template where it meets KVM (cpu_template_vm.h). */
#include "vmm/vm/x86/cpu_template_vm.h"

#include <errno.h>
#include <linux/kvm.h>

#include "base/log.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_caps.h"
#include "host/kvm/x86/kvm_x86.h"

int cpu_template_vm_check(const struct cpu_template *t, int kvm_dev_fd,
			  const struct cpuid_table *supported)
{
	char err[512];
	if (cpu_template_check(t, supported, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (kvm_caps_required(kvm_dev_fd, t->caps, t->ncaps, t->name))
		return -EINVAL;
	log_info("CPU template %s: %u CPUID and %u MSR modifiers", t->name, t->ncpuid, t->nmsrs);
	return 0;
}

int cpu_template_vm_msrs(const struct cpu_template *t, int vcpu_fd, unsigned index)
{
	for (unsigned i = 0; i < t->nmsrs; i++) {
		uint32_t addr = t->msrs[i].addr;
		uint64_t v = 0;
		bool ok = kvm_vcpu_msr(vcpu_fd, false, addr, &v);
		v = cpu_template_msr(t, addr, v);
		if (!ok || !kvm_vcpu_msr(vcpu_fd, true, addr, &v)) {
			log_error("vCPU %u: CPU template %s: KVM does not let MSR 0x%x be %s",
				  index, t->name, addr, ok ? "set to that value" : "read");
			return -EINVAL;
		}
	}
	return 0;
}
