/* --cpu-template-verify's comparison (vmm/vm/x86/cpu_template_verify.h) and the dump's MSRs
 * (vmm/vm/x86/cpu_probe.h), pure parts, on a recorded AMD EPYC Milan: a vCPU that kept the template
 * passes; a bit KVM dropped or the normalization overrides is named with its cause; the bits KVM
 * keeps in step with the vCPU's registers are not compared; the MSR list leaves out what
 * Firecracker's dump does and writes Firecracker's msr_modifiers, which parse back. */
#include <criterion/criterion.h>
#include <string.h>

#include "host/kvm/cpu_bitmap.h"
#include "host/kvm/x86/cpu_template.h"
#include "tests/unit/host/kvm/x86/cpuid_fixture.h"
#include "vmm/vm/x86/cpu_probe.h"
#include "vmm/vm/x86/cpu_template_verify.h"

static struct cpuid_table want, got;
static struct cpu_template t;
static char buf[2048];

/* `want` as the VMM makes vCPU 0's table of 2 with template `t`, and `got` the same. */
static void made_with(const char *name)
{
	cpuid_fixture("amd_epyc_milan", &want);
	cr_assert_eq(cpu_template_static(name, &t), 0);
	cpu_template_apply(&t, &want);
	cpuid_patch_for_vcpu(&want, 0, 2, 1);
	got = want;
	buf[0] = 0;
}

Test(cpu_template_verify, a_vcpu_that_kept_the_template_passes)
{
	made_with("T2A");
	cr_assert_eq(cpu_template_verify_cpuid(&t, &want, &got, buf, sizeof(buf)), 0, "%s", buf);
	/* KVM's runtime bits: OSXSAVE, APIC, OSPKE and the XSAVE sizes follow the vCPU's registers
	 */
	cpuid_fixture_entry(&got, 1, 0)->ecx ^= 1u << 27;
	cpuid_fixture_entry(&got, 1, 0)->edx ^= 1u << 9;
	cpuid_fixture_entry(&got, 7, 0)->ecx ^= 1u << 4;
	cpuid_fixture_entry(&got, 0xd, 0)->ebx = 0x340;
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){0xd, 0, 1, CPU_REG_EBX, ~0u, 0x988};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){1, 0, 0, CPU_REG_ECX, 1u << 27, 0};
	cr_assert_eq(cpu_template_verify_cpuid(&t, &want, &got, buf, sizeof(buf)), 0, "%s", buf);
}

Test(cpu_template_verify, a_bit_kvm_dropped_is_named)
{
	made_with("T2A");
	cpuid_fixture_entry(&got, 7, 0)->ebx &= ~(1u << 9); /* ERMS, which T2A sets */
	cr_assert_eq(cpu_template_verify_cpuid(&t, &want, &got, buf, sizeof(buf)), 1, "%s", buf);
	cr_assert_str_eq(buf,
			 "- CPUID 0x7.0x0 ebx: bits 0x00000200 are 0x00000000 in the vCPU, the "
			 "template asks 0x00000200 (KVM did not keep them)\n");
}

Test(cpu_template_verify, what_the_normalization_overrides_is_named)
{
	made_with("T2A");
	/* a template that hides the hypervisor bit and says 4 logical processors: the VMM sets both
	 */
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){1, 0, 0, CPU_REG_ECX, 1u << 31, 0};
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){1, 0, 0, CPU_REG_EBX, 0xff0000, 0x40000};
	cr_assert_eq(cpu_template_verify_cpuid(&t, &want, &got, buf, sizeof(buf)), 2, "%s", buf);
	cr_assert(strstr(buf,
			 "- CPUID 0x1.0x0 ecx: bits 0x80000000 are 0x80000000 in the vCPU, the "
			 "template asks 0x00000000 (the VMM's normalization sets them"),
		  "%s", buf);
	cr_assert(strstr(buf, "- CPUID 0x1.0x0 ebx: bits 0x00060000 are 0x00020000 in the vCPU"),
		  "%s", buf);
}

Test(cpu_template_verify, a_leaf_the_vcpu_lacks_is_named)
{
	made_with("T2A");
	t.cpuid[t.ncpuid++] = (struct cpu_template_cpuid){0x7, 0x3, 1, CPU_REG_EAX, 1, 1};
	cr_assert_eq(cpu_template_verify_cpuid(&t, &want, &got, buf, sizeof(buf)), 1, "%s", buf);
	cr_assert_str_eq(buf, "- CPUID 0x7.0x3: not in the vCPU's table\n");
}

Test(cpu_template_verify, the_dump_leaves_out_what_firecrackers_does)
{
	static const uint32_t out[] = {0x10,	   0xc1,       0xd2,	   0x17a,     0x186,
				       0x30a,	   0x38f,      0x480,	   0x491,     0x4d0,
				       0x40000000, 0x40000105, 0xc0010004, 0xc0010200};
	static const uint32_t in[] = {0x11,	  0x174,      0x1a0,	  0x10a,      0x6e0,
				      0x4b564d00, 0xc0000080, 0xc0000102, 0xc0010015, 0x40000200};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		cr_assert_not(cpu_msr_dumped(out[i]), "MSR 0x%x", out[i]);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert(cpu_msr_dumped(in[i]), "MSR 0x%x", in[i]);
}

Test(cpu_template_verify, msr_modifiers_in_firecrackers_form_parse_back)
{
	const struct kvm_msr_entry m[2] = {{.index = 0x10a, .data = 0x1},
					   {.index = 0xc0000080, .data = 0xd01}};
	json_t *j = cpu_msrs_json(m, 2);
	cr_assert_not_null(j);
	cr_assert_eq(json_array_size(j), 2);
	const char *addr = json_string_value(json_object_get(json_array_get(j, 1), "addr"));
	const char *bits = json_string_value(json_object_get(json_array_get(j, 1), "bitmap"));
	cr_assert_str_eq(addr, "0xc0000080");
	cr_assert_eq(strlen(bits), 66);
	cr_assert_str_eq(bits + 50, "0000110100000001");
	struct cpu_bitmap b;
	cr_assert_eq(cpu_bitmap_parse(bits, 64, &b, buf, sizeof(buf)), 0, "%s", buf);
	cr_assert_eq(b.filter[0], UINT64_MAX, "every bit fixed");
	cr_assert_eq(b.value[0], 0xd01);
	json_decref(j);
}
