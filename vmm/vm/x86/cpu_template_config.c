/* x86's CPU template objects (vmm/vm/cpu_template_config.h): host/kvm/x86/cpu_template.h's
 * struct, filled by its static table or by the JSON parser (cpu_template_json.h). */
#include "vmm/vm/cpu_template_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/x86/cpu_template.h"
#include "vmm/vm/x86/cpu_template_json.h"

const char *cpu_template_static_names(void)
{
	return "T2, T2S, T2CL, C3 (Intel hosts) or T2A (AMD hosts)";
}

bool cpu_template_static_known(const char *name)
{
	struct cpu_template *t; /* ~27 KiB: on the heap, not an API thread's stack */
	bool known = !cpu_template_new_static(name, &t);
	free(t);
	return known;
}

int cpu_template_new_static(const char *name, struct cpu_template **out)
{
	struct cpu_template *t = malloc(sizeof(*t));
	int r = t ? cpu_template_static(name, t) : -ENOMEM;
	if (r)
		free(t);
	*out = r ? NULL : t;
	return r;
}

/* A template filled by `fill` (the JSON or the file parser) into *out. */
static int new_parsed(struct cpu_template **out, char *err, size_t errlen,
		      int (*fill)(const void *, struct cpu_template *, char *, size_t),
		      const void *from)
{
	struct cpu_template *t = malloc(sizeof(*t));
	int r = -ENOMEM;
	if (!t)
		snprintf(err, errlen, "CPU template: out of memory");
	else
		r = fill(from, t, err, errlen);
	if (r)
		free(t);
	*out = r ? NULL : t;
	return r;
}

static int fill_json(const void *j, struct cpu_template *t, char *err, size_t errlen)
{
	return cpu_template_from_json(j, t, err, errlen);
}

static int fill_file(const void *path, struct cpu_template *t, char *err, size_t errlen)
{
	return cpu_template_load(path, t, err, errlen);
}

int cpu_template_new_json(const json_t *j, struct cpu_template **out, char *err, size_t errlen)
{
	return new_parsed(out, err, errlen, fill_json, j);
}

int cpu_template_new_file(const char *path, struct cpu_template **out, char *err, size_t errlen)
{
	return new_parsed(out, err, errlen, fill_file, path);
}

const char *cpu_template_static_name(const struct cpu_template *t)
{
	return t->vendor != CPUID_VENDOR_OTHER ? t->name : NULL;
}
