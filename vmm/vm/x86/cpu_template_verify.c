/* vmm --cpu-template-verify (cpu_template_verify.h). */
#include "vmm/vm/x86/cpu_template_verify.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vm_control.h"
#include "host/kvm/kvm.h"
#include "vmm/vm/x86/cpu_probe.h"

#define PROBLEMS_LEN 8192

static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};

static const struct kvm_cpuid_entry2 *find(const struct cpuid_table *t, uint32_t fn, uint32_t i)
{
	for (uint32_t k = 0; k < t->header.nent; k++)
		if (t->header.entries[k].function == fn && t->header.entries[k].index == i)
			return &t->header.entries[k];
	return NULL;
}

static uint32_t reg(const struct kvm_cpuid_entry2 *e, uint8_t r)
{
	const uint32_t v[] = {e->eax, e->ebx, e->ecx, e->edx};
	return v[r & 3];
}

static void add(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* The bits KVM keeps in step with the vCPU's own registers (kvm_update_cpuid_runtime(), as
 * cpuid_same_but_runtime() in cpuid.h): leaf 1 ECX MONITOR and OSXSAVE, EDX APIC, leaf 7 ECX
 * OSPKE, leaf 0xD subleaves 0 and 1 EBX (XSAVE sizes for XCR0 and XSS). No template sets them. */
static uint32_t runtime_bits(uint32_t fn, uint32_t idx, uint8_t r)
{
	if (fn == 1)
		return r == CPU_REG_ECX ? (1u << 3 | 1u << 27) : r == CPU_REG_EDX ? 1u << 9 : 0;
	if (fn == 7 && idx == 0 && r == CPU_REG_ECX)
		return 1u << 4;
	if (fn == 0xd && idx <= 1 && r == CPU_REG_EBX)
		return ~0u;
	return 0;
}

unsigned cpu_template_verify_cpuid(const struct cpu_template *t, const struct cpuid_table *want,
				   const struct cpuid_table *got, char *buf, size_t len)
{
	unsigned n = 0;
	for (unsigned i = 0; i < t->ncpuid; i++) {
		const struct cpu_template_cpuid *m = &t->cpuid[i];
		const struct kvm_cpuid_entry2 *g = find(got, m->leaf, m->subleaf);
		const struct kvm_cpuid_entry2 *w = find(want, m->leaf, m->subleaf);
		if (!g) {
			add(buf, len, "- CPUID 0x%x.0x%x: not in the vCPU's table\n", m->leaf,
			    m->subleaf);
			n++;
			continue;
		}
		uint32_t wrong = (reg(g, m->reg) ^ m->value) & m->filter &
				 ~runtime_bits(m->leaf, m->subleaf, m->reg);
		if (!wrong)
			continue;
		bool vmm = w && ((reg(w, m->reg) ^ m->value) & wrong);
		add(buf, len,
		    "- CPUID 0x%x.0x%x %s: bits 0x%08x are 0x%08x in the vCPU, the template asks "
		    "0x%08x (%s)\n",
		    m->leaf, m->subleaf, regs[m->reg & 3], wrong, reg(g, m->reg) & wrong,
		    m->value & wrong,
		    vmm ? "the VMM's normalization sets them: docs/cpu.md"
			: "KVM did not keep them");
		n++;
	}
	return n;
}

/* The template's MSR modifiers on the vCPU: each read, changed, written and read back. */
static unsigned verify_msrs(const struct cpu_template *t, struct cpu_probe *p, char *buf,
			    size_t len)
{
	unsigned n = 0;
	for (unsigned i = 0; i < t->nmsrs; i++) {
		const struct cpu_template_msr *m = &t->msrs[i];
		uint64_t v = 0, back = 0;
		if (!cpu_probe_msr(p, false, m->addr, &v)) {
			add(buf, len, "- MSR 0x%x: KVM does not let the VMM read it\n", m->addr);
			n++;
			continue;
		}
		v = cpu_template_msr(t, m->addr, v);
		uint64_t wrong = 0;
		if (!cpu_probe_msr(p, true, m->addr, &v))
			add(buf, len, "- MSR 0x%x: KVM refuses the value 0x%llx\n", m->addr,
			    (unsigned long long)v);
		else if (!cpu_probe_msr(p, false, m->addr, &back) ||
			 !(wrong = (back ^ m->value) & m->filter))
			continue;
		else
			add(buf, len,
			    "- MSR 0x%x: bits 0x%llx are 0x%llx in the vCPU, the template asks "
			    "0x%llx (KVM did not keep them)\n",
			    m->addr, (unsigned long long)wrong, (unsigned long long)(back & wrong),
			    (unsigned long long)(m->value & wrong));
		n++;
	}
	return n;
}

/* The KVM capabilities the template requires ("N"; "!N" is a no-op, docs/cpu.md). */
static unsigned verify_caps(const struct cpu_template *t, struct cpu_probe *p, char *buf,
			    size_t len)
{
	unsigned n = 0;
	for (unsigned i = 0; i < t->ncaps; i++) {
		if (t->caps[i] < 0 || kvm_ioctl(p->kvm.dev_fd, KVM_CHECK_EXTENSION, t->caps[i]) > 0)
			continue;
		add(buf, len, "- KVM capability %d: this host's KVM does not have it\n",
		    t->caps[i]);
		n++;
	}
	return n;
}

/* The scratch vCPU's part: capabilities, the CPUID read back, the MSRs. */
static unsigned verify_on_vcpu(const struct vm_config *cfg, const struct cpuid_table *want,
			       char *buf, size_t len, int *status)
{
	struct cpu_probe p;
	char err[256];
	struct cpuid_table *got = malloc(sizeof(*got));
	if (!got || cpu_probe_open(&p, cfg->kvm_path, want, err, sizeof(err))) {
		fprintf(stderr, "vmm: --cpu-template-verify: %s\n", got ? err : "out of memory");
		free(got);
		*status = VMM_EXIT_USAGE;
		return 0;
	}
	unsigned n = verify_caps(cfg->cpu_template, &p, buf, len);
	int r = cpu_probe_cpuid(&p, got);
	if (r)
		add(buf, len, "- KVM_GET_CPUID2 failed: %s\n", strerror(-r));
	else
		n += cpu_template_verify_cpuid(cfg->cpu_template, want, got, buf, len);
	n += r ? 1 : 0;
	n += verify_msrs(cfg->cpu_template, &p, buf, len);
	cpu_probe_close(&p);
	free(got);
	return n;
}

int cpu_template_verify(const struct vm_config *cfg)
{
	const struct cpu_template *t = cfg->cpu_template;
	struct cpuid_table *want = malloc(sizeof(*want));
	char *buf = calloc(1, PROBLEMS_LEN);
	uint32_t nmsrs;
	int status = VMM_EXIT_OK, r = !want || !buf ? -ENOMEM : 0;
	if (!r)
		r = cpuid_host_at(cfg->kvm_path, want, NULL, 0, &nmsrs);
	if (r) {
		fprintf(stderr, "vmm: %s: cannot read the CPUID KVM supports: %s\n", cfg->kvm_path,
			strerror(-r));
		free(want);
		free(buf);
		return VMM_EXIT_USAGE;
	}
	unsigned n = cpu_template_problems(t, want, buf, PROBLEMS_LEN);
	if (!n) { /* it fits KVM's table: now as a vCPU gets it */
		cpu_template_apply(t, want);
		cpuid_patch_for_vcpu(want, 0, cfg->ncpus, cfg->smt ? 2 : 1);
		n = verify_on_vcpu(cfg, want, buf, PROBLEMS_LEN, &status);
	}
	if (status == VMM_EXIT_OK && !n)
		printf("ok: CPU template %s applies on this host as written (%u CPUID and %u MSR "
		       "modifiers, vCPU 0 of %u)\n",
		       t->name, t->ncpuid, t->nmsrs, cfg->ncpus);
	else if (status == VMM_EXIT_OK) {
		printf("refused: CPU template %s does not apply on this host as written (%u "
		       "problem%s):\n%s",
		       t->name, n, n == 1 ? "" : "s", buf);
		status = VMM_EXIT_ERROR;
	}
	free(want);
	free(buf);
	return status;
}
