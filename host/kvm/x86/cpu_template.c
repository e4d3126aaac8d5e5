/* Applying and checking CPU templates (cpu_template.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/x86/cpu_model.h"
#include "host/kvm/x86/cpu_model_internal.h"
#include "host/kvm/x86/cpu_template.h"

/* The position of (fn, i) in `t`, or -1. */
static int entry(const struct cpuid_table *t, uint32_t fn, uint32_t i)
{
	for (uint32_t k = 0; k < t->header.nent; k++) {
		const struct kvm_cpuid_entry2 *e = &t->header.entries[k];
		if (e->function == fn && e->index == i)
			return (int)k;
	}
	return -1;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, uint8_t reg)
{
	uint32_t *r[] = {&e->eax, &e->ebx, &e->ecx, &e->edx};
	return r[reg & 3];
}

static const char *vendor_name(enum cpuid_vendor v)
{
	return v == CPUID_VENDOR_INTEL ? "Intel" : v == CPUID_VENDOR_AMD ? "AMD" : "other";
}

/* A bit the CPU model compares (a feature), not one the VMM or KVM sets per vCPU. */
static bool compared(uint32_t fn, uint32_t idx, uint8_t reg, unsigned bit)
{
	for (size_t i = 0; i < cpu_feature_nwords; i++) {
		const struct cpu_feature_word *w = &cpu_feature_words[i];
		if (w->function == fn && w->index == idx && w->reg == reg)
			return !(w->ignore & (1u << bit));
	}
	return false;
}

/* Appends to buf the named features modifier `m` sets that `host` lacks; counts them. */
static unsigned missing_features(const struct cpu_template_cpuid *m,
				 const struct kvm_cpuid_entry2 *h, char *buf, size_t len)
{
	struct kvm_cpuid_entry2 copy = *h;
	uint32_t have = *reg_of(&copy, m->reg), n = 0;
	for (unsigned bit = 0; bit < 32; bit++) {
		const char *name = cpu_feature_name(m->leaf, m->subleaf, m->reg, (uint8_t)bit);
		if (!(m->value & (1u << bit)) || (have & (1u << bit)) || !name ||
		    !compared(m->leaf, m->subleaf, m->reg, bit))
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
		n++;
	}
	return n;
}

int cpu_template_check(const struct cpu_template *t, const struct cpuid_table *host, char *err,
		       size_t errlen)
{
	enum cpuid_vendor hv = cpuid_vendor(host);
	if (t->vendor != CPUID_VENDOR_OTHER && t->vendor != hv) {
		snprintf(err, errlen, "CPU template %s is for %s CPUs, this host's is %s", t->name,
			 vendor_name(t->vendor), vendor_name(hv));
		return -EINVAL;
	}
	char names[256] = "";
	unsigned nmissing = 0;
	for (unsigned i = 0; i < t->ncpuid; i++) {
		const struct cpu_template_cpuid *m = &t->cpuid[i];
		int k = entry(host, m->leaf, m->subleaf);
		if (k < 0) {
			snprintf(err, errlen,
				 "CPU template %s: CPUID leaf 0x%x subleaf 0x%x is not one this "
				 "host's KVM supports",
				 t->name, m->leaf, m->subleaf);
			return -EINVAL;
		}
		nmissing += missing_features(m, &host->header.entries[k], names, sizeof(names));
	}
	if (nmissing) {
		snprintf(err, errlen,
			 "CPU template %s asks for CPU features this host cannot give: %s", t->name,
			 names);
		return -EINVAL;
	}
	return 0;
}

/* Appends one line "- WHAT\n" to buf[0..len). */
static void add_line(char *buf, size_t len, const char *what)
{
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, "- %s\n", what);
}

unsigned cpu_template_problems(const struct cpu_template *t, const struct cpuid_table *host,
			       char *buf, size_t len)
{
	char line[384];
	enum cpuid_vendor hv = cpuid_vendor(host);
	if (t->vendor != CPUID_VENDOR_OTHER && t->vendor != hv) {
		snprintf(line, sizeof(line), "CPU template %s is for %s CPUs, this host's is %s",
			 t->name, vendor_name(t->vendor), vendor_name(hv));
		add_line(buf, len, line);
		return 1; /* the rest would only repeat the vendor's differences */
	}
	unsigned n = 0;
	for (unsigned i = 0; i < t->ncpuid; i++) {
		const struct cpu_template_cpuid *m = &t->cpuid[i];
		int k = entry(host, m->leaf, m->subleaf);
		char names[256] = "";
		static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
		if (k < 0)
			snprintf(line, sizeof(line),
				 "CPUID leaf 0x%x subleaf 0x%x (%s) is not one this host's KVM "
				 "supports",
				 m->leaf, m->subleaf, regs[m->reg & 3]);
		else if (missing_features(m, &host->header.entries[k], names, sizeof(names)))
			snprintf(line, sizeof(line),
				 "CPUID leaf 0x%x subleaf 0x%x %s sets features this host cannot "
				 "give: %s",
				 m->leaf, m->subleaf, regs[m->reg & 3], names);
		else
			continue;
		add_line(buf, len, line);
		n++;
	}
	return n;
}

void cpu_template_apply(const struct cpu_template *t, struct cpuid_table *table)
{
	for (unsigned i = 0; i < t->ncpuid; i++) {
		const struct cpu_template_cpuid *m = &t->cpuid[i];
		int k = entry(table, m->leaf, m->subleaf);
		if (k < 0)
			continue;
		uint32_t *r = reg_of(&table->header.entries[k], m->reg);
		*r = (*r & ~m->filter) | (m->value & m->filter);
	}
}

uint64_t cpu_template_msr(const struct cpu_template *t, uint32_t addr, uint64_t v)
{
	for (unsigned i = 0; i < t->nmsrs; i++)
		if (t->msrs[i].addr == addr)
			v = (v & ~t->msrs[i].filter) | (t->msrs[i].value & t->msrs[i].filter);
	return v;
}
