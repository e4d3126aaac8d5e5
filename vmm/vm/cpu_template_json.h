/* Firecracker's custom CPU template JSON (its docs/cpu_templates/cpu-templates.md): each
 * architecture parses the template object into its struct cpu_template
 * (vmm/vm/<arch>/cpu_template_json.c: cpu_template_from_json(), the format there); this part is
 * shared: the text and file readers, and the pieces every parser uses: numbers written as strings
 * ("0x1a", "26"), bitmaps (host/kvm/cpu_bitmap.h), KVM capabilities ("171", "!56"), members
 * checked against a list, arrays walked with each element's path ("reg_modifiers[2]") for the
 * messages. Every refusal returns -EINVAL with the reason, naming the member, in err. Input is
 * untrusted (API body, file): the fuzz targets cpu_template (x86) and cpu_template_arm64. */
#ifndef VMM_VM_CPU_TEMPLATE_JSON_H
#define VMM_VM_CPU_TEMPLATE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "host/kvm/cpu_bitmap.h"
#include "vmm/config/json_body.h"

/* The largest template file --cpu-template-file reads (Firecracker's API body limit is 50 KiB;
 * its own templates are under 4). */
#define CPU_TEMPLATE_MAX_FILE (1u << 20)

/* `v` a string holding an integer from 0 to `max`: "0x1a" or "26". */
int tmpl_json_number(const json_t *v, const char *what, uint64_t max, uint64_t *out, char *err,
		     size_t errlen);

/* `v` a bitmap string of at most `width` bits. */
int tmpl_json_bitmap(const json_t *v, const char *what, unsigned width, struct cpu_bitmap *b,
		     char *err, size_t errlen);

/* `j` is a template object: Firecracker's members only (kvm_capabilities, cpuid_modifiers,
 * msr_modifiers, vcpu_features, reg_modifiers), each an array; every one optional. */
int tmpl_json_members(const json_t *j, char *err, size_t errlen);

/* `j` has the members `f` allows, of their types, and those it requires. */
int tmpl_json_fields(const json_t *j, const struct api_json_field *f, const char *what, char *err,
		     size_t errlen);

/* Calls one(element, "name[i]", ctx, ...) for each element of the array member `name` of `j`
 * (none when it is absent); the first refusal ends the walk. */
typedef int (*tmpl_json_one_fn)(const json_t *v, const char *at, void *ctx, char *err,
				size_t errlen);
int tmpl_json_each(const json_t *j, const char *name, void *ctx, char *err, size_t errlen,
		   tmpl_json_one_fn one);

/* The member "kvm_capabilities" of `j` into caps[*n..max): "171" (the check of a KVM capability
 * added: 171) or "!56" (one of the VMM's removed: -57). */
int tmpl_json_capabilities(const json_t *j, int32_t *caps, unsigned *n, unsigned max, char *err,
			   size_t errlen);

/* The writers of a dump (--cpu-template-dump): `v` as a bitmap whose `width` (at most 64) bits are
 * all fixed ("0b0101..."), and as a hex string ("0x1a"); new references, or NULL. */
json_t *tmpl_json_bits(uint64_t v, unsigned width);
json_t *tmpl_json_hex(uint64_t v);

/* Prints the dump `j` (its reference taken; NULL: out of memory) on stdout, indented. Returns
 * the exit status: 0, or 1 with the reason on stderr. */
int tmpl_json_print(json_t *j);

struct cpu_template;

/* The architecture's parser: the template object `j` into `t` (named "custom"). Returns 0 or
 * -EINVAL with the reason in err (naming the member: "msr_modifiers[2].bitmap: ..."). */
int cpu_template_from_json(const json_t *j, struct cpu_template *t, char *err, size_t errlen);

/* The same from `len` bytes of JSON text ("CPU template: ..." when it is no JSON object). */
int cpu_template_parse(const char *text, size_t len, struct cpu_template *t, char *err,
		       size_t errlen);

/* The same from the file `path` (host_path_read(), at most CPU_TEMPLATE_MAX_FILE bytes): the
 * reason begins with the path. */
int cpu_template_load(const char *path, struct cpu_template *t, char *err, size_t errlen);

#endif
