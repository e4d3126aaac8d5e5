/* Firecracker's custom CPU template JSON for arm64 (its docs/cpu_templates/cpu-templates.md),
 * parsed strictly into arm64's struct cpu_template (host/kvm/aarch64/cpu_template.h) by
 * cpu_template_from_json() (vmm/vm/cpu_template_json.h):
 *   {"kvm_capabilities": ["171", "!56"],
 *    "reg_modifiers": [{"addr": "0x603000000013c030", "bitmap": "0bxxxx0000..."}],
 *    "vcpu_features": [], "cpuid_modifiers": [], "msr_modifiers": []}
 * Every member optional. A register is KVM's 64-bit arm64 register ID; its bitmap has up to 128
 * bits as Firecracker writes them (bits above 63 must be x or 0). Refused with the reason:
 * unknown members, bad numbers and bitmaps, other register IDs, x86's cpuid_modifiers and
 * msr_modifiers and arm64's vcpu_features (KVM_ARM_VCPU_INIT's optional features: not offered
 * yet) when not empty. Input is untrusted (API body, file): fuzz_cpu_template_arm64. */
#include "vmm/vm/cpu_template_json.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/aarch64/cpu_template.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

static int reg_modifier(const json_t *m, const char *at, void *ctx, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"addr", API_JSON_STRING, true}, {"bitmap", API_JSON_STRING, true}, {NULL, 0, false}};
	struct cpu_template *t = ctx;
	char what[160];
	uint64_t addr;
	struct cpu_bitmap b;
	if (tmpl_json_fields(m, f, at, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.addr", at);
	if (tmpl_json_number(json_object_get(m, "addr"), what, UINT64_MAX, &addr, err, errlen))
		return -EINVAL;
	if ((addr & KVM_REG_ARCH_MASK) != KVM_REG_ARM64 ||
	    (addr & KVM_REG_SIZE_MASK) != KVM_REG_SIZE_U64)
		FAIL("%s: 0x%016llx is no 64-bit arm64 register ID (KVM_REG_ARM64 | "
		     "KVM_REG_SIZE_U64 | ...: ID_AA64ISAR0_EL1 is 0x603000000013c030)",
		     what, (unsigned long long)addr);
	snprintf(what, sizeof(what), "%s.bitmap", at);
	if (tmpl_json_bitmap(json_object_get(m, "bitmap"), what, 128, &b, err, errlen))
		return -EINVAL;
	if (b.value[1])
		FAIL("%s: sets bits above bit 63 of a 64-bit register", what);
	if (t->nregs >= CPU_TEMPLATE_MAX_REGS)
		FAIL("%s: more than %d register modifiers", at, CPU_TEMPLATE_MAX_REGS);
	t->regs[t->nregs++] = (struct cpu_template_reg){addr, b.filter[0], b.value[0]};
	return 0;
}

int cpu_template_from_json(const json_t *j, struct cpu_template *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->name, "custom");
	t->custom = true;
	if (tmpl_json_members(j, err, errlen))
		return -EINVAL;
	if (json_array_size(json_object_get(j, "cpuid_modifiers")) ||
	    json_array_size(json_object_get(j, "msr_modifiers")))
		FAIL("cpuid_modifiers and msr_modifiers are x86 CPUID and MSRs; on aarch64 use "
		     "reg_modifiers");
	if (json_array_size(json_object_get(j, "vcpu_features")))
		FAIL("vcpu_features (KVM_ARM_VCPU_INIT's optional features: PMU, SVE, pointer "
		     "authentication) are not offered by this VMM yet");
	if (tmpl_json_capabilities(j, t->caps, &t->ncaps, CPU_TEMPLATE_MAX_CAPS, err, errlen) ||
	    tmpl_json_each(j, "reg_modifiers", t, err, errlen, reg_modifier))
		return -EINVAL;
	return 0;
}
