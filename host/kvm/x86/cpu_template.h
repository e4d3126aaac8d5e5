/* CPU templates (docs/cpu.md): changes to the CPUID and MSRs a guest sees, as Firecracker
 * defines them. A static template is one of Firecracker's by name (T2, T2S, T2CL, T2A, C3),
 * with the vendor it fits; a custom one comes from Firecracker's JSON
 * (vmm/vm/x86/cpu_template_json.c parses it into this form). Each CPUID or MSR change is a
 * bitmap: bits `filter` set are forced to the bits of `value`, the rest left as KVM gives them.
 *
 * Everything here is pure (no KVM): unit-tested on recorded CPUID tables of real CPUs. */
#ifndef VMM_KVM_CPU_TEMPLATE_H
#define VMM_KVM_CPU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/kvm/x86/cpuid.h"

#define CPU_TEMPLATE_MAX_CPUID (4 * CPUID_MAX_ENTRIES) /* register modifiers: a whole table */
#define CPU_TEMPLATE_MAX_MSRS  256 /* a whole dump's msr_modifiers (KVM lists ~100) */
#define CPU_TEMPLATE_MAX_CAPS  32

enum cpu_reg { CPU_REG_EAX, CPU_REG_EBX, CPU_REG_ECX, CPU_REG_EDX };

struct cpu_template_cpuid {
	uint32_t leaf, subleaf, flags; /* flags: KVM_CPUID_FLAG_SIGNIFCANT_INDEX or 0 */
	uint8_t reg;		       /* enum cpu_reg */
	uint32_t filter, value;	       /* value has no bit outside filter */
};

struct cpu_template_msr {
	uint32_t addr;
	uint64_t filter, value;
};

struct cpu_template {
	char name[8];		  /* "T2", ...; "custom" for a JSON one */
	enum cpuid_vendor vendor; /* the host vendor it fits; OTHER: any */
	unsigned ncpuid, nmsrs, ncaps;
	struct cpu_template_cpuid cpuid[CPU_TEMPLATE_MAX_CPUID];
	struct cpu_template_msr msrs[CPU_TEMPLATE_MAX_MSRS];
	int32_t caps[CPU_TEMPLATE_MAX_CAPS]; /* KVM capabilities: N required, -N-1 "!N" */
};

/* Fills `t` with the static template `name` (case as Firecracker spells it: "T2"). Returns 0,
 * or -ENOENT for another name ("None" included: no template). */
int cpu_template_static(const char *name, struct cpu_template *t);

/* Can `t` apply to a host whose KVM supports `host`? Refused: a vendor it does not fit ("T2 is
 * for Intel CPUs, this host is AuthenticAMD"), a leaf and subleaf the host does not list, a named
 * feature the template sets that the host lacks (named, as the CPU model names them). Returns
 * 0 or -EINVAL with the reason in err. Pure. */
int cpu_template_check(const struct cpu_template *t, const struct cpuid_table *host, char *err,
		       size_t errlen);

/* Every reason `t` cannot apply to a host whose KVM supports `host`, one line each ("- ...\n")
 * appended to buf[0..len): the vendor (then alone), each modifier whose leaf the host does not
 * list, each modifier that sets named features the host lacks (named). Returns how many (0: it
 * applies). cpu_template_check() is its first answer. Pure. */
unsigned cpu_template_problems(const struct cpu_template *t, const struct cpuid_table *host,
			       char *buf, size_t len);

/* Applies the CPUID modifiers of `t` to `table` (entries it does not list are skipped: check
 * first). Pure. */
void cpu_template_apply(const struct cpu_template *t, struct cpuid_table *table);

/* The MSR value `v` with the template's modifier for `addr` applied (`v` when it has none). */
uint64_t cpu_template_msr(const struct cpu_template *t, uint32_t addr, uint64_t v);

#endif
