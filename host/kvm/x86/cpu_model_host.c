/* The CPU model a host can present (cpu_model.h): what its KVM supports, less what a test hides;
 * and the generic calls of host/kvm/cpu_host.h. */
#include "host/kvm/cpu_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/x86/cpu_model.h"
#include "host/kvm/x86/cpu_template.h"
#include "host/kvm/x86/cpuid.h"

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

void cpu_host_warm_up(const char *kvm_path)
{
	cpuid_warm_up(kvm_path);
}

int cpu_host_check_template(const char *kvm_path, const struct cpu_template *t, char *err,
			    size_t errlen)
{
	struct cpu_model *host = malloc(sizeof(*host));
	char why[256] = "";
	int r = host ? cpu_model_of_host(kvm_path, host, why, sizeof(why)) : -ENOMEM;
	if (!r)
		r = cpu_template_check(t, &host->cpuid, err, errlen);
	else /* the template is what the request asked for: the message names it */
		snprintf(err, errlen, "CPU template %s cannot be checked against this host: %s",
			 t->name, why[0] ? why : strerror(-r));
	free(host);
	return r;
}
