/* CPU templates on aarch64 (vmm/vm/cpu_template_config.h, cpu_template_dump.h): none yet. The
 * x86 templates are CPUID and MSR masks; an arm64 template would mask ID registers
 * (Firecracker's V1N1), which this VMM does not offer yet, so every template is refused with
 * that reason. */
#include "vmm/vm/cpu_template_config.h"
#include "vmm/vm/cpu_template_dump.h"

#include <errno.h>
#include <stdio.h>

#include "base/errors.h"
#include "base/log.h"

#define NO_TEMPLATES "CPU templates are not supported on aarch64 yet"

const char *cpu_template_static_names(void)
{
	return "none (" NO_TEMPLATES ")";
}

bool cpu_template_static_known(const char *name)
{
	(void)name;
	return false;
}

int cpu_template_new_static(const char *name, struct cpu_template **out)
{
	(void)name;
	*out = NULL;
	return -EINVAL;
}

int cpu_template_new_json(const json_t *j, struct cpu_template **out, char *err, size_t errlen)
{
	(void)j;
	*out = NULL;
	snprintf(err, errlen, NO_TEMPLATES);
	return -ENOTSUP;
}

int cpu_template_new_file(const char *path, struct cpu_template **out, char *err, size_t errlen)
{
	(void)path;
	*out = NULL;
	snprintf(err, errlen, NO_TEMPLATES);
	return -ENOTSUP;
}

const char *cpu_template_static_name(const struct cpu_template *t)
{
	(void)t;
	return NULL;
}

int cpu_template_dump(const struct vm_config *cfg)
{
	(void)cfg;
	log_error("--cpu-template-dump: " NO_TEMPLATES);
	return VMM_EXIT_USAGE;
}
