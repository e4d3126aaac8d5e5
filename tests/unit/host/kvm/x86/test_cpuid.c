#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm/x86/cpuid.h"
#include "host/kvm/x86/cpuid_test.h"

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
	add(&t, 0x8000001e, 0, false);
	return t;
}

Test(cpuid, leaf1_carries_apic_id_and_count)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 3, 4, 1);
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
	cpuid_patch_for_vcpu(&t, 2, 3, 1);
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
	cpuid_patch_for_vcpu(&t, 0, 8, 1);
	cr_assert_eq(cpuid_find(&t, 4, 0)->eax >> 26, 7);
	cr_assert_eq(cpuid_find(&t, 4, 0)->eax & 0x3fff, 0x3ff);
}

Test(cpuid, single_cpu_has_no_htt)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 0, 1, 1);
	cr_assert_eq(cpuid_find(&t, 1, 0)->edx & (1u << 28), 0);
	cr_assert_null(cpuid_find(&t, 0x7, 0));
}

/* smt: vCPUs 2k and 2k+1 are the two threads of core k (Firecracker's machine-config smt). */
Test(cpuid, smt_two_threads_per_core)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 5, 6, 2);
	struct kvm_cpuid_entry2 *smt = cpuid_find(&t, 0xb, 0);
	struct kvm_cpuid_entry2 *core = cpuid_find(&t, 0xb, 1);
	cr_assert_eq(smt->eax, 1, "one bit of thread ID");
	cr_assert_eq(smt->ebx, 2, "two threads per core");
	cr_assert_eq(smt->edx, 5);
	cr_assert_eq(core->eax, 3, "1 thread bit + 2 bits for 3 cores");
	cr_assert_eq(core->ebx, 6);
	struct kvm_cpuid_entry2 *l4 = cpuid_find(&t, 4, 0);
	cr_assert_eq(l4->eax >> 26, 2, "3 cores per package");
	cr_assert_eq((l4->eax >> 14) & 0xfff, 1, "a core's caches are shared by its 2 threads");
	cr_assert_eq(l4->eax & 0x3fff, 0x3ff, "cache fields kept");
	struct kvm_cpuid_entry2 *amd = cpuid_find(&t, 0x8000001e, 0);
	cr_assert_eq(amd->eax, 5);
	cr_assert_eq((amd->ebx >> 8) & 0xff, 1, "AMD: threads per core - 1");
	cr_assert_eq(amd->ebx & 0xff, 2, "AMD: vCPU 5 is on core 2");
	cr_assert_eq(cpuid_find(&t, 1, 0)->ebx >> 24, 5);
}

Test(cpuid, one_thread_per_core_without_smt)
{
	struct cpuid_table t = table();
	cpuid_patch_for_vcpu(&t, 5, 6, 1);
	cr_assert_eq(cpuid_find(&t, 0xb, 0)->eax, 0);
	cr_assert_eq(cpuid_find(&t, 0xb, 0)->ebx, 1);
	cr_assert_eq(cpuid_find(&t, 0xb, 1)->eax, 3);
	cr_assert_eq((cpuid_find(&t, 4, 0)->eax >> 14) & 0xfff, 0);
	cr_assert_eq(cpuid_find(&t, 4, 0)->eax >> 26, 5);
	cr_assert_eq((cpuid_find(&t, 0x8000001e, 0)->ebx >> 8) & 0xff, 0);
	cr_assert_eq(cpuid_find(&t, 0x8000001e, 0)->ebx & 0xff, 5);
}

/* The cached answer is the device's own, asked once; a file that is no KVM device keeps failing
 * (nothing cached from a failure). */
Test(cpuid, supported_set_is_cached_per_device)
{
	int bad = open("/dev/null", O_RDWR | O_CLOEXEC);
	static struct cpuid_table a, b;
	cr_assert_geq(bad, 0);
	cr_assert_eq(cpuid_get_supported_cached(bad, &a), -ENOTTY);
	cr_assert_eq(cpuid_get_supported_cached(bad, &a), -ENOTTY);
	close(bad);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		cr_skip("no usable /dev/kvm here: the cached answer is not checked");
	cr_assert_eq(cpuid_get_supported(kvm, &a), 0);
	cpuid_warm_up("/dev/kvm");
	cr_assert_eq(cpuid_get_supported_cached(kvm, &b), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(cpuid_get_supported_cached(kvm, &b), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	close(kvm);
}

/* A restored vCPU skips KVM_SET_CPUID2 only for a table that differs in the bits KVM updates from
 * the registers itself. */
Test(cpuid, same_but_runtime_ignores_only_the_register_driven_bits)
{
	static struct cpuid_table a, b;
	a = table();
	add(&a, 0x7, 0, true);
	add(&a, 0xd, 0, true);
	add(&a, 0xd, 1, true);
	add(&a, 0xd, 2, true);
	b = a;
	cr_assert(cpuid_same_but_runtime(&a.header, &b.header));
	cpuid_find(&b, 1, 0)->ecx |= 1u << 27; /* OSXSAVE */
	cpuid_find(&b, 1, 0)->edx |= 1u << 9;  /* APIC */
	cpuid_find(&b, 7, 0)->ecx |= 1u << 4;  /* OSPKE */
	cpuid_find(&b, 0xd, 0)->ebx = 0x340;   /* XSAVE size for XCR0 */
	cpuid_find(&b, 0xd, 1)->ebx = 0x340;
	cr_assert(cpuid_same_but_runtime(&a.header, &b.header));
	cpuid_find(&b, 0xd, 2)->ebx = 0x240; /* a feature's offset: not runtime */
	cr_assert_not(cpuid_same_but_runtime(&a.header, &b.header));
	b = a;
	cpuid_find(&b, 1, 0)->ecx |= 1u << 28; /* AVX */
	cr_assert_not(cpuid_same_but_runtime(&a.header, &b.header));
	b = a;
	b.header.nent--;
	cr_assert_not(cpuid_same_but_runtime(&a.header, &b.header));
}

/* MSR_TSC_AUX is saved only for a guest shown RDTSCP or RDPID: a template that hides both makes
 * a snapshot that restores on a host without the MSR (snapshot_cpu_hosts). */
Test(cpuid, tsc_aux_only_for_a_guest_with_rdtscp_or_rdpid)
{
	static struct cpuid_table t;
	memset(&t, 0, sizeof(t));
	add(&t, 0x7, 0, true);
	add(&t, 0x80000001, 0, false);
	struct kvm_cpuid_entry2 *l7 = &t.header.entries[0], *ext = &t.header.entries[1];
	l7->ecx = ext->edx = 0;
	cr_expect_not(cpuid_msr_for_guest(&t.header, 0xc0000103));
	cr_expect(cpuid_msr_for_guest(&t.header, 0x10), "other MSRs are always kept");
	ext->edx = 1u << 27; /* RDTSCP */
	cr_expect(cpuid_msr_for_guest(&t.header, 0xc0000103));
	ext->edx = 0;
	l7->ecx = 1u << 22; /* RDPID */
	cr_expect(cpuid_msr_for_guest(&t.header, 0xc0000103));
	t.header.nent = 0;
	cr_expect_not(cpuid_msr_for_guest(&t.header, 0xc0000103), "no leaves: hidden");
}
