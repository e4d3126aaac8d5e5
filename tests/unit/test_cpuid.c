#include <criterion/criterion.h>

#include "vmm/kvm/cpuid.h"
#include "vmm/kvm/cpuid_test.h"

static void add(struct cpuid_table *t, uint32_t fn, uint32_t idx, bool indexed)
{
	struct kvm_cpuid_entry2 *e = &t->header.entries[t->header.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e->ebx = 0x00000800; /* CLFLUSH size in leaf 1 */
	e->eax = 0x3ff;
}

static struct cpuid_table table(void)
{
	static struct cpuid_table t;
	memset(&t, 0, sizeof(t));
	add(&t, 0x1, 0, false);
	add(&t, 0x4, 0, true);
	add(&t, 0xb, 0, true);
	add(&t, 0xb, 1, true);
	add(&t, 0xb, 2, true);
	return t;
}

Test(cpuid, leaf1_carries_apic_id_and_count)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 3, 4);
	struct kvm_cpuid_entry2 *e = cpuid_find(&t, 1, 0);
	cr_assert_not_null(e);
	cr_assert_eq(e->ebx >> 24, 3);
	cr_assert_eq((e->ebx >> 16) & 0xff, 4);
	cr_assert_eq(e->ebx & 0xffff, 0x0800, "low bits kept");
	cr_assert(e->ecx & (1u << 31), "hypervisor bit");
	cr_assert(e->edx & (1u << 28), "HTT with several CPUs");
}

Test(cpuid, extended_topology_levels)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 2, 3);
	struct kvm_cpuid_entry2 *smt = cpuid_find(&t, 0xb, 0);
	struct kvm_cpuid_entry2 *core = cpuid_find(&t, 0xb, 1);
	struct kvm_cpuid_entry2 *end = cpuid_find(&t, 0xb, 2);
	cr_assert_eq(smt->edx, 2);
	cr_assert_eq(smt->ebx, 1);
	cr_assert_eq((smt->ecx >> 8) & 0xff, 1);
	cr_assert_eq(core->eax, 2, "3 CPUs need 2 ID bits");
	cr_assert_eq(core->ebx, 3);
	cr_assert_eq((core->ecx >> 8) & 0xff, 2);
	cr_assert_eq(end->ebx, 0);
	cr_assert_eq((end->ecx >> 8) & 0xff, 0, "invalid level ends the list");
}

Test(cpuid, leaf4_cores_per_package)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 0, 8);
	cr_assert_eq(cpuid_find(&t, 4, 0)->eax >> 26, 7);
	cr_assert_eq(cpuid_find(&t, 4, 0)->eax & 0x3fff, 0x3ff);
}

Test(cpuid, single_cpu_has_no_htt)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 0, 1);
	cr_assert_eq(cpuid_find(&t, 1, 0)->edx & (1u << 28), 0);
	cr_assert_null(cpuid_find(&t, 0x7, 0));
}
