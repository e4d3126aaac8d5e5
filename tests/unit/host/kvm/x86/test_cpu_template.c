/* CPU templates (host/kvm/x86/cpu_template.h) on recorded CPUID tables:
 * the static templates' masks and vendors, and the refusals naming what is wrong. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "cpuid_fixture.h"
#include "host/kvm/x86/cpu_model.h"
#include "host/kvm/x86/cpu_template.h"
#include "host/kvm/x86/cpuid_test.h"

static struct cpuid_table host;
static char err[512];

Test(cpu_template, static_names_and_vendors)
{
	static struct cpu_template t;
	const char *intel[] = {"T2", "T2S", "T2CL", "C3"};
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(cpu_template_static(intel[i], &t), 0, "%s", intel[i]);
		cr_assert_eq(t.vendor, CPUID_VENDOR_INTEL);
		cr_assert_str_eq(t.name, intel[i]);
	}
	cr_assert_eq(cpu_template_static("T2A", &t), 0);
	cr_assert_eq(t.vendor, CPUID_VENDOR_AMD);
	cr_assert_eq(cpu_template_static("None", &t), -ENOENT);
	cr_assert_eq(cpu_template_static("t2", &t), -ENOENT, "Firecracker's spelling only");
	cr_assert_eq(cpu_template_static("T2S", &t), 0);
	cr_assert_eq(t.nmsrs, 1);
	cr_assert_eq(cpu_template_msr(&t, 0x10a, 0xffffffff), 0x0c0a0c4c,
		     "T2S's ARCH_CAPABILITIES");
	cr_assert_eq(cpu_template_msr(&t, 0x10b, 7), 7, "other MSRs untouched");
}

/* T2 on Ice Lake: a Haswell-like family 6 model 0x3f, no AVX-512, no SHA, no PKU, ... */
Test(cpu_template, t2_on_icelake)
{
	static struct cpu_template t;
	cpuid_fixture("intel_icelake_sp", &host);
	cr_assert_eq(cpu_template_static("T2", &t), 0);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), 0, "%s", err);
	cpu_template_apply(&t, &host);
	struct kvm_cpuid_entry2 *l1 = cpuid_find(&host, 1, 0), *l7 = cpuid_find(&host, 7, 0);
	cr_assert_eq(l1->eax & 0x0fff3fff, 0x000306f2, "family 6 model 0x3f stepping 2");
	cr_assert_eq(l7->ebx & (1u << 16), 0, "avx512f hidden");
	cr_assert_eq(l7->ebx & (1u << 29), 0, "sha_ni hidden");
	cr_assert_eq(l7->ecx & (1u << 3), 0, "pku hidden");
	cr_assert(l7->ebx & (1u << 5), "avx2 kept");
	cr_assert(l7->ebx & (1u << 9), "erms set");
	cr_assert_eq(cpuid_find(&host, 0xd, 0)->eax & 0xe0, 0, "no AVX-512 XSAVE state");
	cr_assert_eq(cpuid_find(&host, 0x80000001, 0)->edx & (1u << 26), 0, "pdpe1gb hidden");
}

Test(cpu_template, c3_hides_avx2)
{
	static struct cpu_template t;
	cpuid_fixture("intel_skylake_sp", &host);
	cr_assert_eq(cpu_template_static("C3", &t), 0);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), 0, "%s", err);
	cpu_template_apply(&t, &host);
	cr_assert_eq(cpuid_find(&host, 7, 0)->ebx & (1u << 5), 0, "avx2 hidden");
	cr_assert_eq(cpuid_find(&host, 1, 0)->ecx & (1u << 12), 0, "fma hidden");
	cr_assert_eq(cpuid_find(&host, 1, 0)->eax & 0x0fff3fff, 0x000306e4);
}

Test(cpu_template, t2a_on_milan_and_the_vendor_refusals)
{
	static struct cpu_template t;
	cpuid_fixture("amd_epyc_milan", &host);
	cr_assert_eq(cpu_template_static("T2A", &t), 0);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), 0, "%s", err);
	cpu_template_apply(&t, &host);
	cr_assert_eq(cpuid_find(&host, 0x80000008, 0)->ebx & 0x001c0205, 0x001c0004);
	cr_assert_eq(cpu_template_static("T2", &t), 0);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "CPU template T2 is for Intel CPUs, this host's is AMD");
	cpuid_fixture("intel_icelake_sp", &host);
	cr_assert_eq(cpu_template_static("T2A", &t), 0);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "CPU template T2A is for AMD CPUs, this host's is Intel");
}

/* A template that sets a feature the host lacks is refused naming it: T2 sets erms, which the
 * recorded kvm_pvm host does not list (and T2A for the same reason there). */
Test(cpu_template, a_feature_the_host_lacks_is_named)
{
	static struct cpu_template t;
	cpuid_fixture("amd_epyc_kvm_pvm", &host);
	cr_assert_eq(cpu_template_static("T2A", &t), 0);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "T2A asks for CPU features this host cannot give: "), "%s", err);
	cr_assert(strstr(err, "erms"), "%s", err);
	/* a custom template setting avx2 on Haswell is fine; avx512f is not */
	memset(&t, 0, sizeof(t));
	strcpy(t.name, "custom");
	t.ncpuid = 1;
	t.cpuid[0] = (struct cpu_template_cpuid){7, 0, 1, CPU_REG_EBX, 1u << 5, 1u << 5};
	cpuid_fixture("intel_haswell_ep", &host);
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), 0, "%s", err);
	t.cpuid[0].filter = t.cpuid[0].value = 1u << 16;
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "CPU template custom asks for CPU features this host cannot give: "
			      "avx512f");
	/* the hypervisor bit is the VMM's, not a feature */
	t.cpuid[0] = (struct cpu_template_cpuid){1, 0, 0, CPU_REG_ECX, 1u << 31, 1u << 31};
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), 0, "%s", err);
}

Test(cpu_template, a_leaf_the_host_does_not_list_is_refused)
{
	static struct cpu_template t;
	cpuid_fixture("intel_haswell_ep", &host);
	strcpy(t.name, "custom");
	t.ncpuid = 1;
	t.cpuid[0] = (struct cpu_template_cpuid){0x12345, 2, 1, CPU_REG_EAX, 1, 0};
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "CPU template custom: CPUID leaf 0x12345 subleaf 0x2 is not one this "
			      "host's KVM supports");
	/* apply skips it (a check comes first) */
	uint32_t n = host.header.nent;
	cpu_template_apply(&t, &host);
	cr_assert_eq(host.header.nent, n);
}

/* The template applies first, then normalization (as Firecracker): a template cannot take the
 * hypervisor bit or the topology away. */
Test(cpu_template, normalization_comes_after)
{
	static struct cpu_template t;
	cpuid_fixture("intel_icelake_sp", &host);
	strcpy(t.name, "custom");
	t.ncpuid = 1;
	t.cpuid[0] = (struct cpu_template_cpuid){1, 0, 0, CPU_REG_ECX, (1u << 31) | (1u << 20), 0};
	cpu_template_apply(&t, &host);
	cpuid_patch_for_vcpu(&host, 0, 2, 1);
	cr_assert(cpuid_find(&host, 1, 0)->ecx & (1u << 31), "hypervisor back");
	cr_assert_eq(cpuid_find(&host, 1, 0)->ecx & (1u << 20), 0, "sse4_2 stays hidden");
}

/* The template is in the CPU model: a Genoa guest with what Milan lacks hidden (AVX-512 and its
 * XSAVE state, GFNI, LA57, PCID, ...) may be restored on Milan; without it, refused. */
Test(cpu_template, a_template_hides_what_the_other_host_lacks)
{
	static struct cpu_template t;
	static struct cpu_model guest, host;
	struct cpu_verdict v;
	char text[512];
	strcpy(t.name, "custom");
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){7, 0, 1, CPU_REG_EBX, 0xdc230000u, 0};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){7, 0, 1, CPU_REG_ECX, 0x00015942u, 0};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){7, 0, 1, CPU_REG_EDX, 1u << 28, 0};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){1, 0, 0, CPU_REG_ECX, 1u << 17, 0};
	t.cpuid[t.ncpuid++] =
	    (struct cpu_template_cpuid){0x80000008, 0, 0, CPU_REG_EBX, 0x68000000u, 0};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){7, 1, 1, CPU_REG_EAX, 1u << 5, 0};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){0xd, 0, 1, CPU_REG_EAX, 0xe0, 0};
	cpuid_fixture("amd_epyc_milan", &host.cpuid);
	cpuid_fixture("amd_epyc_genoa", &guest.cpuid);
	cr_assert_not(cpu_model_compare(&guest, &host, &v), "refused without the template");
	cr_assert_eq(cpu_template_check(&t, &guest.cpuid, err, sizeof(err)), 0, "%s", err);
	cpu_template_apply(&t, &guest.cpuid);
	cpuid_patch_for_vcpu(&guest.cpuid, 0, 2, 1);
	cr_assert(cpu_model_compare(&guest, &host, &v), "%s",
		  cpu_verdict_text(&v, text, sizeof(text)));
}

/* cpu_template_problems(): every reason at once, one line each (--cpu-template-verify). */
Test(cpu_template, problems_are_all_listed)
{
	static struct cpu_template t;
	char buf[1024] = "";
	cpuid_fixture("amd_epyc_milan", &host);
	cr_assert_eq(cpu_template_static("T2", &t), 0);
	cr_assert_eq(cpu_template_problems(&t, &host, buf, sizeof(buf)), 1);
	cr_assert_str_eq(buf, "- CPU template T2 is for Intel CPUs, this host's is AMD\n");

	cr_assert_eq(cpu_template_static("T2A", &t), 0);
	buf[0] = 0;
	cr_assert_eq(cpu_template_problems(&t, &host, buf, sizeof(buf)), 0, "%s", buf);
	/* a host without ERMS and a custom modifier of a leaf it does not list: both named */
	cpuid_fixture_entry(&host, 7, 0)->ebx &= ~(1u << 9);
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){0x7, 0x5, 1, CPU_REG_EAX, 1, 0};
	cr_assert_eq(cpu_template_problems(&t, &host, buf, sizeof(buf)), 2, "%s", buf);
	cr_assert(strstr(buf, "- CPUID leaf 0x7 subleaf 0x0 ebx sets features this host cannot "
			      "give: erms\n"),
		  "%s", buf);
	cr_assert(strstr(buf, "- CPUID leaf 0x7 subleaf 0x5 (eax) is not one this host's KVM "
			      "supports\n"),
		  "%s", buf);
	/* cpu_template_check() refuses it too, with the first */
	cr_assert_eq(cpu_template_check(&t, &host, err, sizeof(err)), -EINVAL);
}
