/* vmm --cpu-template-dump (cpu_template_dump.h). */
#include "vmm/vm/cpu_template_dump.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vm_control.h"
#include "host/kvm/x86/cpu_template.h"
#include "host/kvm/x86/cpuid.h"
#include "vmm/vm/cpu_template_json.h"
#include "vmm/vm/x86/cpu_probe.h"
#include "vmm/vm/x86/cpu_template_verify.h"

/* Whether (fn, idx) is in `t`. */
static bool listed(const struct cpuid_table *t, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < t->header.nent; i++)
		if (t->header.entries[i].function == fn && t->header.entries[i].index == idx)
			return true;
	return false;
}

/* The JSON of `t` (a vCPU's CPUID table) as a custom template, new reference or NULL: the
 * entries `supported` (KVM's table) lists, which a template may name. Pure. */
static json_t *cpu_template_dump_json(const struct cpuid_table *t,
				      const struct cpuid_table *supported)
{
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	json_t *leaves = json_array();
	for (uint32_t i = 0; leaves && i < t->header.nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->header.entries[i];
		uint32_t v[4] = {e->eax, e->ebx, e->ecx, e->edx};
		if (!listed(supported, e->function, e->index))
			continue; /* one the normalization adds: a template cannot name it */
		json_t *mods = json_array();
		for (int r = 0; mods && r < 4; r++)
			json_array_append_new(mods, json_pack("{s:s, s:o}", "register", regs[r],
							      "bitmap", tmpl_json_bits(v[r], 32)));
		json_array_append_new(leaves, json_pack("{s:o, s:o, s:i, s:o}", "leaf",
							tmpl_json_hex(e->function), "subleaf",
							tmpl_json_hex(e->index), "flags",
							(int)e->flags, "modifiers", mods));
	}
	return leaves ? json_pack("{s:[], s:o, s:[]}", "kvm_capabilities", "cpuid_modifiers",
				  leaves, "msr_modifiers")
		      : NULL;
}

/* The MSRs vCPU 0 gets with `t` set and the template's MSR modifiers applied, as
 * msr_modifiers (new reference), or NULL with the reason on stderr. */
static json_t *msrs_json(const struct vm_config *cfg, const struct cpuid_table *t)
{
	static struct kvm_msr_entry msrs[CPU_PROBE_MAX_MSRS];
	struct cpu_probe p;
	char err[256];
	unsigned n = 0;
	int r = cpu_probe_open(&p, cfg->kvm_path, t, err, sizeof(err));
	bool opened = !r; /* a failed open closed what it made */
	const struct cpu_template *tmpl = cfg->cpu_template;
	for (unsigned i = 0; !r && tmpl && i < tmpl->nmsrs; i++) {
		uint64_t v = 0;
		uint32_t addr = tmpl->msrs[i].addr;
		bool ok = cpu_probe_msr(&p, false, addr, &v);
		v = cpu_template_msr(tmpl, addr, v);
		if (!ok || !cpu_probe_msr(&p, true, addr, &v)) {
			snprintf(err, sizeof(err),
				 "CPU template %s: KVM does not let MSR 0x%x be %s", tmpl->name,
				 addr, ok ? "set to that value" : "read");
			r = -EINVAL;
		}
	}
	if (!r)
		r = cpu_probe_msrs(&p, msrs, CPU_PROBE_MAX_MSRS, &n, err, sizeof(err));
	if (opened)
		cpu_probe_close(&p);
	if (r) {
		fprintf(stderr, "vmm: --cpu-template-dump: the MSRs: %s\n", err);
		return NULL;
	}
	return cpu_msrs_json(msrs, n);
}

int cpu_template_dump(const struct vm_config *cfg)
{
	if (cfg->cpu_template_verify)
		return cpu_template_verify(cfg);
	static struct cpuid_table t, supported;
	uint32_t nmsrs;
	char why[512];
	int err = cpuid_host_at(cfg->kvm_path, &t, NULL, 0, &nmsrs);
	if (err) {
		fprintf(stderr, "vmm: %s: cannot read the CPUID KVM supports: %s\n", cfg->kvm_path,
			strerror(-err));
		return VMM_EXIT_USAGE;
	}
	/* the template's KVM capabilities are checked when a VM starts, not here */
	if (cfg->cpu_template && cpu_template_check(cfg->cpu_template, &t, why, sizeof(why))) {
		fprintf(stderr, "vmm: %s\n", why);
		return VMM_EXIT_USAGE;
	}
	if (cfg->cpu_template)
		cpu_template_apply(cfg->cpu_template, &t);
	supported = t;
	cpuid_patch_for_vcpu(&t, 0, cfg->ncpus, cfg->smt ? 2 : 1);
	json_t *msrs = msrs_json(cfg, &t);
	if (!msrs)
		return VMM_EXIT_USAGE;
	json_t *j = cpu_template_dump_json(&t, &supported);
	if (!j) {
		json_decref(msrs);
	} else if (json_object_set_new(j, "msr_modifiers", msrs)) { /* it took msrs even so */
		json_decref(j);
		j = NULL;
	}
	return tmpl_json_print(j);
}
