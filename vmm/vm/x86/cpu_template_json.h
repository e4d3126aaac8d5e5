/* Firecracker's custom CPU template JSON (its docs/cpu_templates/cpu-templates.md and
 * schema.json), parsed strictly into x86's struct cpu_template (host/kvm/x86/cpu_template.h);
 * generic code reaches it through vmm/vm/cpu_template_config.h:
 *   {"kvm_capabilities": ["171", "!56"], "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0",
 *    "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0bxxxx0011..."}]}],
 *    "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b...64 bits"}],
 *    "vcpu_features": [], "reg_modifiers": []}
 * Every member optional; unknown members, bad numbers and bitmaps, registers other than
 * eax..edx, flags other than 0 and 1, and aarch64's vcpu_features and reg_modifiers (when not
 * empty) are refused with the reason. Input is untrusted (API body, file): fuzz_cpu_template. */
#ifndef VMM_VM_X86_CPU_TEMPLATE_JSON_H
#define VMM_VM_X86_CPU_TEMPLATE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "host/kvm/x86/cpu_template.h"

/* The largest template file --cpu-template-file reads (Firecracker's API body limit is 50 KiB;
 * its own templates are under 4). */
#define CPU_TEMPLATE_MAX_FILE (1u << 20)

/* Parses the template object `j` into `t` (named "custom", any vendor). Returns 0 or -EINVAL
 * with the reason in err (naming the member: "cpuid_modifiers[2].modifiers[0].bitmap: ..."). */
int cpu_template_from_json(const json_t *j, struct cpu_template *t, char *err, size_t errlen);

/* The same from `len` bytes of JSON text. */
int cpu_template_parse(const char *text, size_t len, struct cpu_template *t, char *err,
		       size_t errlen);

/* The same from the file `path` (host_path_read()). */
int cpu_template_load(const char *path, struct cpu_template *t, char *err, size_t errlen);

#endif
