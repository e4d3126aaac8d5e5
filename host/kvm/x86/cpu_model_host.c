/* The CPU model a host can present (cpu_model.h): what its KVM supports, less what a test hides. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/x86/cpu_model.h"

int cpu_model_of_host(const char *kvm_path, struct cpu_model *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	int r = cpuid_host_at(kvm_path, &m->cpuid, m->msrs, CPU_MODEL_MAX_MSRS, &m->nmsrs);
	if (r == -E2BIG || r == -EPERM || r == -EACCES) {
		/* the MSR list is only a second check (KVM_SET_MSRS refuses an unknown MSR too) */
		m->nmsrs = 0;
		r = cpuid_host_at(kvm_path, &m->cpuid, NULL, 0, &m->nmsrs);
	} else if (!r) {
		m->msrs_known = true;
	}
	if (r) {
		snprintf(err, errlen, "%s: cannot read the CPUID KVM supports: %s",
			 kvm_path ? kvm_path : "(no KVM device)", strerror(-r));
		return r;
	}
	/* Test-only (docs/cpu.md): a fake "lesser host" without the features named. */
	const char *hide = getenv("VMM_TEST_HOST_CPU_HIDE");
	char why[96];
	if (hide && cpu_model_hide(&m->cpuid, hide, why, sizeof(why))) {
		snprintf(err, errlen, "VMM_TEST_HOST_CPU_HIDE: %s", why);
		return -EINVAL;
	}
	return 0;
}
