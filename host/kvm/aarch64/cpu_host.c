/* The host's CPU as KVM presents it on aarch64 (host/kvm/cpu_host.h): its ID registers cached
 * ahead (cpu_ids.h), and a CPU template checked against them (cpu_template.h). */
#include "host/kvm/cpu_host.h"

#include <errno.h>
#include <stdio.h>

#include "host/kvm/aarch64/cpu_ids.h"
#include "host/kvm/aarch64/cpu_template.h"

void cpu_host_warm_up(const char *kvm_path)
{
	uint64_t vals[ARM64_CPU_IDS];
	char err[128];
	(void)arm64_cpu_ids_of_host(kvm_path, vals, NULL, err, sizeof(err)); /* cached */
}

int cpu_host_check_template(const char *kvm_path, const struct cpu_template *t, char *err,
			    size_t errlen)
{
	uint64_t vals[ARM64_CPU_IDS], writable[ARM64_CPU_IDS];
	char why[256];
	int e = arm64_cpu_ids_of_host(kvm_path, vals, writable, why, sizeof(why));
	if (e) {
		snprintf(err, errlen, "this host's CPU cannot be read: %s", why);
		return e;
	}
	return cpu_template_check(t, vals, writable, err, errlen);
}
