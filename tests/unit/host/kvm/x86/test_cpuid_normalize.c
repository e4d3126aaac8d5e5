/* The normalized CPUID (cpuid_normalize(), docs/cpu.md) on recorded tables of real CPUs: each
 * rule checked on the vendor it applies to, and not applied to the other. */
#include <criterion/criterion.h>

#include "cpuid_fixture.h"
#include "host/kvm/x86/cpuid.h"
#include "host/kvm/x86/cpuid_test.h"

static struct cpuid_table t;

Test(cpuid_normalize, vendor_from_leaf0)
{
	cpuid_fixture("intel_icelake_sp", &t);
	cr_assert_eq(cpuid_vendor(&t), CPUID_VENDOR_INTEL);
	cpuid_fixture("amd_epyc_milan", &t);
	cr_assert_eq(cpuid_vendor(&t), CPUID_VENDOR_AMD);
	memset(&t, 0, sizeof(t));
	cr_assert_eq(cpuid_vendor(&t), CPUID_VENDOR_OTHER);
}

Test(cpuid_normalize, leaf1_clflush_pdcm_tsc_deadline)
{
	cpuid_fixture("intel_icelake_sp", &t);
	struct kvm_cpuid_entry2 *e = cpuid_find(&t, 1, 0);
	e->ebx = (e->ebx & ~0xff00u) | (16u << 8); /* a host that says 128-byte lines */
	e->ecx |= 1u << 15;
	e->ecx &= ~(1u << 24);
	cpuid_patch_for_vcpu(&t, 1, 2, 1);
	e = cpuid_find(&t, 1, 0);
	cr_assert_eq((e->ebx >> 8) & 0xff, 8, "64-byte CLFLUSH lines");
	cr_assert_eq(e->ecx & (1u << 15), 0, "PDCM cleared");
	cr_assert(e->ecx & (1u << 24), "TSC deadline set");
	cr_assert(e->ecx & (1u << 31), "hypervisor");
}

Test(cpuid_normalize, intel_turbo_waitpkg_pmu_fpu_bits)
{
	cpuid_fixture("intel_icelake_sp", &t);
	cpuid_fixture_entry(&t, 0x6, 0)->eax |= 1u << 1;
	cpuid_fixture_entry(&t, 0x6, 0)->ecx |= 1u << 3;
	cpuid_fixture_entry(&t, 0x7, 0)->ecx |= 1u << 5;
	struct kvm_cpuid_entry2 *pmu = cpuid_fixture_entry(&t, 0xa, 0);
	pmu->eax = 0x07300805;
	pmu->edx = 0x603;
	cpuid_patch_for_vcpu(&t, 0, 4, 1);
	cr_assert_eq(cpuid_find(&t, 6, 0)->eax & 2, 0, "turbo hidden");
	cr_assert_eq(cpuid_find(&t, 6, 0)->ecx & 8, 0, "frequency selection hidden");
	cr_assert_eq(cpuid_find(&t, 7, 0)->ecx & (1u << 5), 0, "waitpkg cleared");
	cr_assert_eq(cpuid_find(&t, 7, 0)->ebx & 0x2040, 0x2040, "FDP_EXCPTN_ONLY, FPU CS/DS");
	pmu = cpuid_find(&t, 0xa, 0);
	cr_assert_eq(pmu->eax | pmu->ebx | pmu->ecx | pmu->edx, 0, "no PMU");
	cr_assert(cpuid_find(&t, 7, 0)->edx & (1u << 29), "Intel keeps ARCH_CAPABILITIES");
}

Test(cpuid_normalize, amd_arch_capabilities_topoext_core_count)
{
	cpuid_fixture("amd_epyc_kvm_pvm", &t);
	cr_assert(cpuid_find(&t, 7, 0)->edx & (1u << 29), "the recorded host has it");
	cpuid_fixture_entry(&t, 0x80000001, 0)->ecx &= ~(1u << 22);
	cpuid_patch_for_vcpu(&t, 0, 6, 2);
	cr_assert_eq(cpuid_find(&t, 7, 0)->edx & (1u << 29), 0, "no ARCH_CAPABILITIES on AMD");
	cr_assert(cpuid_find(&t, 0x80000001, 0)->ecx & (1u << 22), "TOPOEXT");
	uint32_t ecx = cpuid_find(&t, 0x80000008, 0)->ecx;
	cr_assert_eq(ecx & 0xff, 5, "6 vCPUs");
	cr_assert_eq((ecx >> 12) & 0xf, 3, "3 bits of APIC ID");
	cr_assert_eq(cpuid_find(&t, 0xa, 0)->eax, 0);
}

Test(cpuid_normalize, no_nested_virtualization)
{
	cpuid_fixture("intel_icelake_sp", &t);
	cpuid_fixture_entry(&t, 1, 0)->ecx |= 1u << 5;
	cpuid_patch_for_vcpu(&t, 0, 2, 1);
	cr_assert_eq(cpuid_find(&t, 1, 0)->ecx & (1u << 5), 0, "VMX hidden");
	cpuid_fixture("amd_epyc_kvm_pvm", &t);
	cpuid_fixture_entry(&t, 0x80000001, 0)->ecx |= 1u << 2;
	struct kvm_cpuid_entry2 *svm = cpuid_fixture_entry(&t, 0x8000000a, 0);
	svm->eax = 1;
	svm->ebx = 0x8000;
	svm->edx = 0x1ebfbcff;
	cpuid_patch_for_vcpu(&t, 0, 2, 1);
	cr_assert_eq(cpuid_find(&t, 0x80000001, 0)->ecx & (1u << 2), 0, "SVM hidden");
	svm = cpuid_find(&t, 0x8000000a, 0);
	cr_assert_eq(svm->eax | svm->ebx | svm->ecx | svm->edx, 0, "no SVM features");
}

Test(cpuid_normalize, amd_cache_sharing_from_the_vm_shape)
{
	cpuid_fixture("amd_epyc_kvm_pvm", &t);
	uint32_t low[4];
	for (uint32_t i = 0; i < 4; i++)
		low[i] = cpuid_find(&t, 0x8000001d, i)->eax & 0x3fff;
	cpuid_patch_for_vcpu(&t, 3, 4, 2);
	for (uint32_t i = 0; i < 4; i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(&t, 0x8000001d, i);
		cr_assert_not_null(e);
		unsigned level = (e->eax >> 5) & 7, sharing = ((e->eax >> 14) & 0xfff) + 1;
		cr_assert_eq(sharing, level == 3 ? 4u : 2u, "L%u shared by %u", level, sharing);
		cr_assert_eq(e->eax & 0x3fff, low[i], "type and level kept");
	}
	struct kvm_cpuid_entry2 *e = cpuid_find(&t, 0x8000001e, 0);
	cr_assert_eq(e->eax, 3);
	cr_assert_eq(e->ecx & 0x7ff, 0, "node 0");
}

/* kvm_pvm lists leaf 0xB subleaf 0 only: the core level is added, then filled in. */
Test(cpuid_normalize, core_level_added_to_leaf_0xb)
{
	cpuid_fixture("amd_epyc_kvm_pvm", &t);
	cr_assert_null(cpuid_find(&t, 0xb, 1));
	uint32_t n = t.header.nent;
	cpuid_patch_for_vcpu(&t, 2, 4, 1);
	cr_assert_eq(t.header.nent, n + 1);
	struct kvm_cpuid_entry2 *core = cpuid_find(&t, 0xb, 1);
	cr_assert_not_null(core);
	cr_assert_eq(core->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	cr_assert_eq((core->ecx >> 8) & 0xff, 2, "core level");
	cr_assert_eq(core->ebx, 4);
	cr_assert_eq(core->edx, 2);
	cpuid_patch_for_vcpu(&t, 2, 4, 1);
	cr_assert_eq(t.header.nent, n + 1, "added once");
}

/* No vendor rule on a table without leaf 0 (and Intel's on Intel only). */
Test(cpuid_normalize, vendor_rules_stay_with_their_vendor)
{
	cpuid_fixture("amd_epyc_milan", &t);
	cpuid_fixture_entry(&t, 0x7, 0)->ecx |= 1u << 5;
	cpuid_patch_for_vcpu(&t, 0, 1, 1);
	cr_assert(cpuid_find(&t, 7, 0)->ecx & (1u << 5), "Intel's WAITPKG rule not on AMD");
	cr_assert_eq(cpuid_find(&t, 7, 0)->ebx & 0x2040, 0, "nor the FPU bits");
	cpuid_fixture("intel_icelake_sp", &t);
	uint32_t ext = cpuid_find(&t, 0x80000001, 0)->ecx;
	cpuid_patch_for_vcpu(&t, 0, 1, 1);
	cr_assert_eq(cpuid_find(&t, 0x80000001, 0)->ecx, ext, "AMD's TOPOEXT rule not on Intel");
}

/* The brand string as cpuid_fill_brand() takes it: 48 bytes, NUL-padded. */
static void brand_of(const char *text, uint32_t brand[12])
{
	memset(brand, 0, 12 * sizeof(brand[0]));
	memcpy(brand, text, strlen(text));
}

/* The brand the table's 0x80000002-4 hold, as text. */
static void brand_in(struct cpuid_table *tab, char out[49])
{
	memset(out, 0, 49);
	for (uint32_t k = 0; k < 3; k++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(tab, 0x80000002 + k, 0);
		cr_assert_not_null(e, "leaf 0x%x", 0x80000002 + k);
		uint32_t r[4] = {e->eax, e->ebx, e->ecx, e->edx};
		memcpy(out + 16 * k, r, 16);
	}
}

Test(cpuid_normalize, brand_string_filled_where_kvm_gives_zeros)
{
	uint32_t brand[12];
	char got[49];
	brand_of("AMD EPYC 9B14 96-Core Processor", brand);
	cpuid_fixture("amd_epyc_kvm_pvm", &t); /* KVM lists the three leaves as zeros */
	uint32_t n = t.header.nent;
	cpuid_fill_brand(&t, brand);
	cr_assert_eq(t.header.nent, n, "the leaves KVM listed are filled, none added");
	brand_in(&t, got);
	cr_assert_str_eq(got, "AMD EPYC 9B14 96-Core Processor");

	cpuid_fixture("amd_epyc_milan", &t); /* a table without the leaves */
	cpuid_fill_brand(&t, brand);
	brand_in(&t, got);
	cr_assert_str_eq(got, "AMD EPYC 9B14 96-Core Processor", "added where missing");
}

Test(cpuid_normalize, brand_string_of_the_table_or_none_stays)
{
	uint32_t brand[12], none[12] = {0};
	char got[49];
	brand_of("Intel(R) Xeon(R) Platinum", brand);
	cpuid_fixture("amd_epyc_kvm_pvm", &t);
	cpuid_fixture_entry(&t, 0x80000002, 0)->eax = 0x20444d41; /* "AMD " */
	cpuid_fill_brand(&t, brand);
	brand_in(&t, got);
	cr_assert_str_eq(got, "AMD ", "a brand already there (KVM's, a template's) stays");

	cpuid_fixture("amd_epyc_kvm_pvm", &t);
	cpuid_fill_brand(&t, none);
	brand_in(&t, got);
	cr_assert_str_eq(got, "", "a host with no brand: nothing to give");

	cpuid_fixture("amd_epyc_milan", &t);
	uint32_t n = t.header.nent;
	cpuid_fixture_entry(&t, 0x80000000, 0)->eax = 0x80000001;
	cpuid_fill_brand(&t, brand);
	cr_assert_eq(t.header.nent, n, "no leaf past the table's maximum extended leaf");
}
