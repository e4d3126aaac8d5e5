/* A VM's CPU template as its configuration holds it (vm_config.cpu_template): an opaque,
 * malloc'd object of the target architecture, made here from a static template's name, a custom
 * template's JSON (Firecracker's format) or a file holding it; free() releases it. x86 builds it
 * in vmm/vm/<arch>/cpu_template_config.c from host/kvm/<arch>/cpu_template.h (x86: CPUID and MSR
 * masks; aarch64: register masks); the front ends (the command line, the API, the config file)
 * see only these calls. */
#ifndef VMM_VM_CPU_TEMPLATE_CONFIG_H
#define VMM_VM_CPU_TEMPLATE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct cpu_template;

/* The static templates this architecture knows, for an error message ("T2, T2S, T2CL, C3
 * (Intel hosts) or T2A (AMD hosts)"). */
const char *cpu_template_static_names(void);

/* Is `name` a static template here? ("None", no template, is not one.) */
bool cpu_template_static_known(const char *name);

/* The static template `name` into *out. Returns 0, -ENOENT for a name that is none, or
 * -ENOMEM. */
int cpu_template_new_static(const char *name, struct cpu_template **out);

/* A custom template from the JSON object `j` into *out. Returns 0, -EINVAL with the reason in
 * err (naming the member), or -ENOMEM. Input is untrusted (fuzz_cpu_template). */
int cpu_template_new_json(const json_t *j, struct cpu_template **out, char *err, size_t errlen);

/* The same from the file `path` (--cpu-template-file; host_path_read()): the reason begins with
 * the path. */
int cpu_template_new_file(const char *path, struct cpu_template **out, char *err, size_t errlen);

/* The name of the static template `t` is ("T2"); NULL for a custom one. */
const char *cpu_template_static_name(const struct cpu_template *t);

/* The architecture's part (vmm/vm/<arch>/cpu_template_config.c; the calls above that it does not
 * implement are vmm/vm/cpu_template_config.c's): a template object, uninitialised (NULL without
 * memory), and the static template `name` put into one (0, or -ENOENT for a name that is none). */
struct cpu_template *cpu_template_alloc(void);
int cpu_template_fill_static(const char *name, struct cpu_template *t);

#endif
