/* A VM's CPU template where it meets KVM (cpu_template_vm.h). */
#include "vmm/vm/cpu_template_vm.h"

#include <errno.h>
#include <linux/kvm.h>

#include "base/log.h"
#include "host/kvm/kvm.h"

int cpu_template_vm_check(const struct cpu_template *t, int kvm_dev_fd,
			  const struct cpuid_table *supported)
{
	char err[512];
	if (cpu_template_check(t, supported, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	/* "!N" removes one of the VMM's own checks: this VMM checks what it needs when it uses it,
	 * so there is no list to take N from and it is accepted as a no-op (docs/cpu.md) */
	for (unsigned i = 0; i < t->ncaps; i++) {
		if (t->caps[i] < 0 || kvm_ioctl(kvm_dev_fd, KVM_CHECK_EXTENSION, t->caps[i]) > 0)
			continue;
		log_error("CPU template %s: this host's KVM does not have capability %d", t->name,
			  t->caps[i]);
		return -EINVAL;
	}
	log_info("CPU template %s: %u CPUID and %u MSR modifiers", t->name, t->ncpuid, t->nmsrs);
	return 0;
}

/* One MSR through KVM_GET_MSRS or KVM_SET_MSRS; true when KVM took it. */
static bool msr_io(int fd, unsigned long req, uint32_t addr, uint64_t *v)
{
	union {
		struct kvm_msrs hdr;
		uint8_t storage[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m = {0};
	m.hdr.nmsrs = 1;
	m.hdr.entries[0] = (struct kvm_msr_entry){.index = addr, .data = *v};
	if (kvm_ioctl(fd, req, &m) != 1)
		return false;
	*v = m.hdr.entries[0].data;
	return true;
}

int cpu_template_vm_msrs(const struct cpu_template *t, int vcpu_fd, unsigned index)
{
	for (unsigned i = 0; i < t->nmsrs; i++) {
		uint32_t addr = t->msrs[i].addr;
		uint64_t v = 0;
		bool ok = msr_io(vcpu_fd, KVM_GET_MSRS, addr, &v);
		v = cpu_template_msr(t, addr, v);
		if (!ok || !msr_io(vcpu_fd, KVM_SET_MSRS, addr, &v)) {
			log_error("vCPU %u: CPU template %s: KVM does not let MSR 0x%x be %s",
				  index, t->name, addr, ok ? "set to that value" : "read");
			return -EINVAL;
		}
	}
	return 0;
}
