/* The host's CPU as KVM presents it on aarch64 (host/kvm/cpu_host.h): nothing to cache ahead
 * (no CPUID), and no CPU templates (vmm/vm/aarch64/cpu_template_config.c says why). */
#include "host/kvm/cpu_host.h"

#include <errno.h>
#include <stdio.h>

void cpu_host_warm_up(const char *kvm_path)
{
	(void)kvm_path;
}

int cpu_host_check_template(const char *kvm_path, const struct cpu_template *t, char *err,
			    size_t errlen)
{
	(void)kvm_path, (void)t;
	snprintf(err, errlen, "CPU templates are not supported on aarch64 yet");
	return -ENOTSUP;
}
