/* x86's CPU template objects (vmm/vm/cpu_template_config.h): host/kvm/x86/cpu_template.h's
 * struct, filled by its static table or by the JSON parser (cpu_template_json.c). */
#include "vmm/vm/cpu_template_config.h"

#include <stdlib.h>

#include "host/kvm/x86/cpu_template.h"

const char *cpu_template_static_names(void)
{
	return "T2, T2S, T2CL, C3 (Intel hosts) or T2A (AMD hosts)";
}

struct cpu_template *cpu_template_alloc(void)
{
	return malloc(sizeof(struct cpu_template));
}

int cpu_template_fill_static(const char *name, struct cpu_template *t)
{
	return cpu_template_static(name, t);
}

const char *cpu_template_static_name(const struct cpu_template *t)
{
	return t->vendor != CPUID_VENDOR_OTHER ? t->name : NULL;
}
