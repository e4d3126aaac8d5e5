/* CPU template objects, the architecture-neutral part (cpu_template_config.h): made by the
 * architecture's allocator, filled by its static table or its JSON parser (cpu_template_json.h).
 */
#include "vmm/vm/cpu_template_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/vm/cpu_template_json.h"

bool cpu_template_static_known(const char *name)
{
	struct cpu_template *t; /* on the heap (x86's is ~27 KiB), not an API thread's stack */
	bool known = !cpu_template_new_static(name, &t);
	free(t);
	return known;
}

int cpu_template_new_static(const char *name, struct cpu_template **out)
{
	struct cpu_template *t = cpu_template_alloc();
	int r = t ? cpu_template_fill_static(name, t) : -ENOMEM;
	if (r)
		free(t);
	*out = r ? NULL : t;
	return r;
}

/* A template made by cpu_template_load() (path) or cpu_template_from_json() (j) into *out. */
static int new_parsed(struct cpu_template **out, char *err, size_t errlen, const char *path,
		      const json_t *j)
{
	struct cpu_template *t = cpu_template_alloc();
	int r = -ENOMEM;
	if (!t)
		snprintf(err, errlen, "CPU template: out of memory");
	else
		r = path ? cpu_template_load(path, t, err, errlen)
			 : cpu_template_from_json(j, t, err, errlen);
	if (r)
		free(t);
	*out = r ? NULL : t;
	return r;
}

int cpu_template_new_json(const json_t *j, struct cpu_template **out, char *err, size_t errlen)
{
	return new_parsed(out, err, errlen, NULL, j);
}

int cpu_template_new_file(const char *path, struct cpu_template **out, char *err, size_t errlen)
{
	return new_parsed(out, err, errlen, path, NULL);
}
