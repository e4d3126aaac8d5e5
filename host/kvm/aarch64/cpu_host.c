/* The host's CPU as KVM presents it on aarch64 (host/kvm/cpu_host.h): its ID registers cached
 * ahead (cpu_ids.h), and no CPU templates (vmm/vm/aarch64/cpu_template_config.c says why). */
#include "host/kvm/cpu_host.h"

#include <errno.h>
#include <stdio.h>

#include "host/kvm/aarch64/cpu_ids.h"

void cpu_host_warm_up(const char *kvm_path)
{
	uint64_t vals[ARM64_CPU_IDS];
	char err[128];
	(void)arm64_cpu_ids_of_host(kvm_path, vals, err, sizeof(err)); /* cached */
}

int cpu_host_check_template(const char *kvm_path, const struct cpu_template *t, char *err,
			    size_t errlen)
{
	(void)kvm_path, (void)t;
	snprintf(err, errlen, "CPU templates are not supported on aarch64 yet");
	return -ENOTSUP;
}
