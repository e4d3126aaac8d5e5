/* The vCPU-independent part of the CPUID a guest gets (docs/cpu.md, "normalization"): features
 * the VMM does not give a guest cleared, bits the VMM emulates set, and the vendor's own
 * topology leaves made to match the VM's shape. The facts follow Firecracker's
 * docs/cpu_templates/cpuid-normalization.md, Intel SDM vol. 2A (CPUID) and AMD APM vol. 3
 * (appendix E). */
#include <string.h>

#include "host/kvm/x86/cpuid.h"

#define BIT(n) (1u << (n))

enum cpuid_vendor cpuid_vendor(const struct cpuid_table *t)
{
	for (uint32_t i = 0; i < t->header.nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->header.entries[i];
		if (e->function != 0)
			continue;
		char v[12];
		memcpy(v, &e->ebx, 4);
		memcpy(v + 4, &e->edx, 4);
		memcpy(v + 8, &e->ecx, 4);
		if (!memcmp(v, "GenuineIntel", 12))
			return CPUID_VENDOR_INTEL;
		if (!memcmp(v, "AuthenticAMD", 12) || !memcmp(v, "HygonGenuine", 12))
			return CPUID_VENDOR_AMD;
		return CPUID_VENDOR_OTHER;
	}
	return CPUID_VENDOR_OTHER;
}

static struct kvm_cpuid_entry2 *find(struct cpuid_table *t, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < t->header.nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->header.entries[i];
		if (e->function == fn && e->index == idx)
			return e;
	}
	return NULL;
}

/* Leaves 0xB and 0x1F need subleaf 1 (the core level) for a guest to see more than one core;
 * some KVMs (kvm_pvm) list subleaf 0 only. cpuid_patch_for_vcpu() fills it in. */
static void add_core_level(struct cpuid_table *t, uint32_t fn)
{
	if (!find(t, fn, 0) || find(t, fn, 1) || t->header.nent >= CPUID_MAX_ENTRIES)
		return;
	t->header.entries[t->header.nent++] = (struct kvm_cpuid_entry2){
	    .function = fn, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX};
}

/* Intel: no turbo or frequency-selection control (the guest cannot drive the host's), the two
 * FPU "deprecation" bits set (they only say what the FPU does not save), WAITPKG cleared (UMWAIT
 * could hold a host core with no exit), no architectural PMU (leaf 0xA: perf counters are not
 * migrated, so a guest must not start using them). */
static void normalize_intel(struct cpuid_table *t)
{
	struct kvm_cpuid_entry2 *e;
	if ((e = find(t, 0x6, 0))) {
		e->eax &= ~BIT(1);
		e->ecx &= ~BIT(3);
	}
	if ((e = find(t, 0x7, 0))) {
		e->ebx |= BIT(6) | BIT(13);
		e->ecx &= ~BIT(5);
	}
	if ((e = find(t, 0xa, 0)))
		e->eax = e->ebx = e->ecx = e->edx = 0;
}

/* AMD: no IA32_ARCH_CAPABILITIES (an Intel MSR that AMD hosts only emulate), TOPOEXT set (the
 * guest reads its topology from 0x8000001D/0x8000001E, which the VMM writes), and the core count
 * and APIC-ID width of 0x80000008 ECX from the VM's vCPUs. */
static void normalize_amd(struct cpuid_table *t, unsigned ncpus, unsigned threads)
{
	struct kvm_cpuid_entry2 *e;
	if ((e = find(t, 0x7, 0)))
		e->edx &= ~BIT(29);
	if ((e = find(t, 0x80000001, 0)))
		e->ecx |= BIT(22);
	if ((e = find(t, 0x80000008, 0))) {
		unsigned bits = 0;
		while ((1u << bits) < ncpus)
			bits++;
		e->ecx = (e->ecx & ~0xf0ffu) | ((uint32_t)bits << 12) | ((ncpus - 1) & 0xff);
	}
	/* 0x8000001D EAX[25:14]: logical processors sharing the cache - 1. L1 and L2 are a core's
	 * (its threads), L3 the whole package (every vCPU). */
	for (uint32_t i = 0; i < t->header.nent; i++) {
		e = &t->header.entries[i];
		if (e->function != 0x8000001d)
			continue;
		unsigned level = (e->eax >> 5) & 7, sharing = level >= 3 ? ncpus : threads;
		e->eax = (e->eax & ~(0xfffu << 14)) | ((uint32_t)(sharing - 1) << 14);
	}
}

/* No nested virtualization: VMX (leaf 1 ECX[5]) and SVM (0x80000001 ECX[2]) cleared and the SVM
 * feature leaf 0x8000000A emptied. A guest hypervisor's state (KVM_GET_NESTED_STATE) is in no
 * snapshot or migration stream, and a guest that sees SVM loads kvm_amd by itself (udev matches
 * the CPU's flags), as Debian's stock kernel did in the suite's L1. */
static void hide_nested_virtualization(struct cpuid_table *t)
{
	struct kvm_cpuid_entry2 *e;
	if ((e = find(t, 0x1, 0)))
		e->ecx &= ~BIT(5);
	if ((e = find(t, 0x80000001, 0)))
		e->ecx &= ~BIT(2);
	if ((e = find(t, 0x8000000a, 0)))
		e->eax = e->ebx = e->ecx = e->edx = 0;
}

void cpuid_normalize(struct cpuid_table *t, unsigned ncpus, unsigned threads)
{
	struct kvm_cpuid_entry2 *e = find(t, 0x1, 0);
	if (e) {
		/* CLFLUSH line size in 8-byte units: 64 bytes, whatever KVM reports */
		e->ebx = (e->ebx & ~0xff00u) | (8u << 8);
		/* PDCM off: IA32_PERF_CAPABILITIES is a PMU MSR the VMM does not migrate; the
		 * TSC deadline timer on: KVM's in-kernel LAPIC emulates it, and KVM does not
		 * report it in KVM_GET_SUPPORTED_CPUID (KVM_CAP_TSC_DEADLINE_TIMER) */
		e->ecx = (e->ecx & ~BIT(15)) | BIT(24);
	}
	hide_nested_virtualization(t);
	add_core_level(t, 0xb);
	add_core_level(t, 0x1f);
	switch (cpuid_vendor(t)) {
	case CPUID_VENDOR_INTEL:
		normalize_intel(t);
		break;
	case CPUID_VENDOR_AMD:
		normalize_amd(t, ncpus, threads);
		break;
	default:
		break;
	}
}

void cpuid_fill_brand(struct cpuid_table *t, const uint32_t brand[12])
{
	struct kvm_cpuid_entry2 *max = find(t, 0x80000000, 0), *e[3];
	uint32_t any = 0;
	for (int i = 0; i < 12; i++)
		any |= brand[i];
	if (!any || !max || max->eax < 0x80000004)
		return;
	for (uint32_t k = 0; k < 3; k++) {
		e[k] = find(t, 0x80000002 + k, 0);
		if (e[k] && (e[k]->eax | e[k]->ebx | e[k]->ecx | e[k]->edx))
			return; /* a brand of KVM's (or a template's) stays */
	}
	for (uint32_t k = 0; k < 3; k++) {
		if (!e[k] && t->header.nent >= CPUID_MAX_ENTRIES)
			return;
		if (!e[k])
			e[k] = &t->header.entries[t->header.nent++];
		*e[k] = (struct kvm_cpuid_entry2){.function = 0x80000002 + k,
						  .eax = brand[4 * k],
						  .ebx = brand[4 * k + 1],
						  .ecx = brand[4 * k + 2],
						  .edx = brand[4 * k + 3]};
	}
}
