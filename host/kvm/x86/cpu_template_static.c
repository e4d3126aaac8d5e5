/* Firecracker's static CPU templates (its docs/cpu_templates/cpu-templates.md says what each is
 * for), as masks: in each register, the bits of `filter` are forced to `value`. T2 and T2S make
 * an Intel Skylake/Cascade Lake/Ice Lake look like a Haswell-era "T2" instance (family 6 model
 * 0x3f): AVX-512, TSX, MPX, SHA, PKU, XSAVEC/XSAVES, PDPE1GB and others hidden; T2S also sets
 * IA32_ARCH_CAPABILITIES (MSR 0x10a) to the same value on Skylake and Cascade Lake; T2CL is T2
 * for Cascade Lake and Ice Lake, keeping more mitigations in ARCH_CAPABILITIES; T2A makes an
 * AMD Milan look like T2CL's feature set; C3 hides the features a C3 (Ivy Bridge, model 0x3e)
 * lacks. The bits are Firecracker's (the JSON files of its tests/data/custom_cpu_templates, the
 * same templates as JSON), turned into masks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/x86/cpu_template.h"

enum { EAX = CPU_REG_EAX, EBX = CPU_REG_EBX, ECX = CPU_REG_ECX, EDX = CPU_REG_EDX };
#define IDX			   KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define MSR_IA32_ARCH_CAPABILITIES 0x10a

/* Leaves 1, 7.0, 0xD.0 and 0xD.1: the same in T2, T2S, T2CL and T2A. */
static const struct cpu_template_cpuid t2_base[] = {
    {0x1, 0x0, 0, EAX, 0x0fff3fff, 0x000306f2},	  {0x1, 0x0, 0, ECX, 0x0004cdfc, 0x00000000},
    {0x1, 0x0, 0, EDX, 0xe8641080, 0x00001080},	  {0x7, 0x0, IDX, EBX, 0xffefda14, 0x00000200},
    {0x7, 0x0, IDX, ECX, 0x40415f5e, 0x00000000}, {0x7, 0x0, IDX, EDX, 0x0000011c, 0x00000000},
    {0xd, 0x0, IDX, EAX, 0x000002f8, 0x00000000}, {0xd, 0x1, IDX, EAX, 0x0000000e, 0x00000000},
};

/* T2: extended leaves. */
static const struct cpu_template_cpuid t2_ext[] = {
    {0x80000001, 0x0, 0, ECX, 0x20000100, 0x00000000},
    {0x80000001, 0x0, 0, EDX, 0x04000000, 0x00000000},
    {0x80000008, 0x0, 0, EBX, 0x00000200, 0x00000000},
};

/* T2CL: extended leaves. */
static const struct cpu_template_cpuid t2cl_ext[] = {
    {0x80000001, 0x0, 0, ECX, 0x200001c0, 0x00000000},
    {0x80000001, 0x0, 0, EDX, 0x07c00000, 0x00000000},
    {0x80000008, 0x0, 0, EBX, 0x00000200, 0x00000000},
};

/* T2A: extended leaves. */
static const struct cpu_template_cpuid t2a_ext[] = {
    {0x80000001, 0x0, 0, ECX, 0x200001c4, 0x00000000},
    {0x80000001, 0x0, 0, EDX, 0x06400000, 0x00000000},
    {0x80000008, 0x0, 0, EBX, 0x001c0205, 0x001c0004},
};

static const struct cpu_template_cpuid c3[] = {
    {0x1, 0x0, 0, EAX, 0x0fff3fff, 0x000306e4},
    {0x1, 0x0, 0, ECX, 0x0040dd3c, 0x00000000},
    {0x1, 0x0, 0, EDX, 0xa8641080, 0x00001080},
    {0x7, 0x0, IDX, EBX, 0xffafdd3c, 0x00000000},
    {0x7, 0x0, IDX, ECX, 0x4041481e, 0x00000000},
    {0x7, 0x0, IDX, EDX, 0x0000000c, 0x00000000},
    {0xd, 0x0, IDX, EAX, 0x000002f8, 0x00000000},
    {0xd, 0x1, IDX, EAX, 0x0000000e, 0x00000000},
    {0x80000001, 0x0, 0, ECX, 0x00000120, 0x00000000},
    {0x80000001, 0x0, 0, EDX, 0x04000000, 0x00000000},
};

static const struct cpu_template_msr t2s_msrs[] = {
    {MSR_IA32_ARCH_CAPABILITIES, 0xffffffffffffffffull, 0x000000000c0a0c4cull}};
static const struct cpu_template_msr t2cl_msrs[] = {
    {MSR_IA32_ARCH_CAPABILITIES, 0xffffffffe2f51e00ull, 0x0000000000000000ull}};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	enum cpuid_vendor vendor;
	const struct cpu_template_cpuid *base, *ext;
	size_t nbase, next;
	const struct cpu_template_msr *msrs;
	size_t nmsrs;
} statics[] = {
    {"T2", CPUID_VENDOR_INTEL, t2_base, t2_ext, N(t2_base), N(t2_ext), NULL, 0},
    {"T2S", CPUID_VENDOR_INTEL, t2_base, t2_ext, N(t2_base), N(t2_ext), t2s_msrs, N(t2s_msrs)},
    {"T2CL", CPUID_VENDOR_INTEL, t2_base, t2cl_ext, N(t2_base), N(t2cl_ext), t2cl_msrs,
     N(t2cl_msrs)},
    {"T2A", CPUID_VENDOR_AMD, t2_base, t2a_ext, N(t2_base), N(t2a_ext), NULL, 0},
    {"C3", CPUID_VENDOR_INTEL, c3, NULL, N(c3), 0, NULL, 0},
};

int cpu_template_static(const char *name, struct cpu_template *t)
{
	for (size_t i = 0; i < N(statics); i++) {
		if (strcmp(statics[i].name, name))
			continue;
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name);
		t->vendor = statics[i].vendor;
		memcpy(t->cpuid, statics[i].base, statics[i].nbase * sizeof(t->cpuid[0]));
		if (statics[i].ext)
			memcpy(t->cpuid + statics[i].nbase, statics[i].ext,
			       statics[i].next * sizeof(t->cpuid[0]));
		t->ncpuid = (unsigned)(statics[i].nbase + statics[i].next);
		if (statics[i].msrs)
			memcpy(t->msrs, statics[i].msrs, statics[i].nmsrs * sizeof(t->msrs[0]));
		t->nmsrs = (unsigned)statics[i].nmsrs;
		return 0;
	}
	return -ENOENT;
}
