/* Firecracker's custom CPU template JSON (its docs/cpu_templates/cpu-templates.md and
 * schema.json), parsed strictly into x86's struct cpu_template (host/kvm/x86/cpu_template.h) by
 * cpu_template_from_json() (vmm/vm/cpu_template_json.h):
 *   {"kvm_capabilities": ["171", "!56"], "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0",
 *    "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0bxxxx0011..."}]}],
 *    "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b...64 bits"}],
 *    "vcpu_features": [], "reg_modifiers": []}
 * Every member optional; unknown members, bad numbers and bitmaps, registers other than
 * eax..edx, flags other than 0 and 1, and aarch64's vcpu_features and reg_modifiers (when not
 * empty) are refused with the reason. Input is untrusted (API body, file): fuzz_cpu_template. */
#include "vmm/vm/cpu_template_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/x86/cpu_template.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

static int reg_index(const char *name)
{
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, regs[i]))
			return i;
	return -1;
}

static int register_modifier(const json_t *m, const char *at, uint32_t leaf, uint32_t subleaf,
			     uint32_t flags, struct cpu_template *t, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"register", API_JSON_STRING, true},
						  {"bitmap", API_JSON_STRING, true},
						  {NULL, 0, false}};
	char what[160];
	if (tmpl_json_fields(m, f, at, err, errlen))
		return -EINVAL;
	const char *name = api_json_str(m, "register", NULL);
	int reg = reg_index(name);
	if (reg < 0)
		FAIL("%s.register: \"%.16s\" is not eax, ebx, ecx or edx", at, name);
	if (t->ncpuid >= CPU_TEMPLATE_MAX_CPUID)
		FAIL("%s: more than %d register modifiers", at, CPU_TEMPLATE_MAX_CPUID);
	struct cpu_bitmap b;
	snprintf(what, sizeof(what), "%s.bitmap", at);
	if (tmpl_json_bitmap(json_object_get(m, "bitmap"), what, 32, &b, err, errlen))
		return -EINVAL;
	t->cpuid[t->ncpuid++] = (struct cpu_template_cpuid){
	    leaf, subleaf, flags, (uint8_t)reg, (uint32_t)b.filter[0], (uint32_t)b.value[0]};
	return 0;
}

static int cpuid_modifier(const json_t *c, const char *at, void *ctx, char *err, size_t errlen)
{
	struct cpu_template *t = ctx;
	static const struct api_json_field f[] = {{"leaf", API_JSON_STRING, true},
						  {"subleaf", API_JSON_STRING, true},
						  {"flags", API_JSON_UINT, false},
						  {"modifiers", API_JSON_ARRAY, true},
						  {NULL, 0, false}};
	char what[96];
	uint64_t leaf, subleaf;
	if (tmpl_json_fields(c, f, at, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.leaf", at);
	if (tmpl_json_number(json_object_get(c, "leaf"), what, UINT32_MAX, &leaf, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.subleaf", at);
	if (tmpl_json_number(json_object_get(c, "subleaf"), what, UINT32_MAX, &subleaf, err,
			     errlen))
		return -EINVAL;
	/* KVM's entry flags: 1 is KVM_CPUID_FLAG_SIGNIFCANT_INDEX, the others are obsolete */
	uint64_t flags = api_json_uint(c, "flags", 0);
	if (flags > KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
		FAIL("%s.flags: %" PRIu64 " is not 0 or 1 (KVM_CPUID_FLAG_SIGNIFCANT_INDEX)", at,
		     flags);
	const json_t *mods = json_object_get(c, "modifiers");
	for (size_t i = 0; i < json_array_size(mods); i++) {
		snprintf(what, sizeof(what), "%s.modifiers[%zu]", at, i);
		if (register_modifier(json_array_get(mods, i), what, (uint32_t)leaf,
				      (uint32_t)subleaf, (uint32_t)flags, t, err, errlen))
			return -EINVAL;
	}
	return 0;
}

static int msr_modifier(const json_t *m, const char *at, void *ctx, char *err, size_t errlen)
{
	struct cpu_template *t = ctx;
	static const struct api_json_field f[] = {
	    {"addr", API_JSON_STRING, true}, {"bitmap", API_JSON_STRING, true}, {NULL, 0, false}};
	char what[160];
	uint64_t addr;
	struct cpu_bitmap b;
	if (tmpl_json_fields(m, f, at, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.addr", at);
	if (tmpl_json_number(json_object_get(m, "addr"), what, UINT32_MAX, &addr, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.bitmap", at);
	if (tmpl_json_bitmap(json_object_get(m, "bitmap"), what, 64, &b, err, errlen))
		return -EINVAL;
	if (t->nmsrs >= CPU_TEMPLATE_MAX_MSRS)
		FAIL("%s: more than %d MSR modifiers", at, CPU_TEMPLATE_MAX_MSRS);
	t->msrs[t->nmsrs++] = (struct cpu_template_msr){(uint32_t)addr, b.filter[0], b.value[0]};
	return 0;
}

int cpu_template_from_json(const json_t *j, struct cpu_template *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->name, "custom");
	t->vendor = CPUID_VENDOR_OTHER;
	if (tmpl_json_members(j, err, errlen))
		return -EINVAL;
	if (json_array_size(json_object_get(j, "vcpu_features")))
		FAIL("vcpu_features are for aarch64 vCPUs; this is an x86_64 VMM");
	if (json_array_size(json_object_get(j, "reg_modifiers")))
		FAIL("reg_modifiers are aarch64 registers; on x86_64 use cpuid_modifiers and "
		     "msr_modifiers");
	if (tmpl_json_capabilities(j, t->caps, &t->ncaps, CPU_TEMPLATE_MAX_CAPS, err, errlen) ||
	    tmpl_json_each(j, "cpuid_modifiers", t, err, errlen, cpuid_modifier) ||
	    tmpl_json_each(j, "msr_modifiers", t, err, errlen, msr_modifier))
		return -EINVAL;
	return 0;
}
