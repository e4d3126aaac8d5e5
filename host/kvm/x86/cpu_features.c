/* Names of the common CPUID feature bits, as Linux spells them in /proc/cpuinfo (Intel SDM vol.
 * 2A, CPUID; AMD APM vol. 3, appendix E), so that a refusal names what the guest would miss. */
#include <string.h>

#include "host/kvm/x86/cpu_model.h"
#include "host/kvm/x86/cpu_model_internal.h"

enum { EAX, EBX, ECX, EDX };

struct feature {
	uint32_t function, index;
	uint8_t reg, bit;
	const char *name;
};

static const struct feature features[] = {
    /* leaf 1 */
    {1, 0, ECX, 0, "pni"},
    {1, 0, ECX, 1, "pclmulqdq"},
    {1, 0, ECX, 9, "ssse3"},
    {1, 0, ECX, 12, "fma"},
    {1, 0, ECX, 13, "cx16"},
    {1, 0, ECX, 17, "pcid"},
    {1, 0, ECX, 19, "sse4_1"},
    {1, 0, ECX, 20, "sse4_2"},
    {1, 0, ECX, 21, "x2apic"},
    {1, 0, ECX, 22, "movbe"},
    {1, 0, ECX, 23, "popcnt"},
    {1, 0, ECX, 24, "tsc_deadline_timer"},
    {1, 0, ECX, 25, "aes"},
    {1, 0, ECX, 26, "xsave"},
    {1, 0, ECX, 28, "avx"},
    {1, 0, ECX, 29, "f16c"},
    {1, 0, ECX, 30, "rdrand"},
    {1, 0, EDX, 0, "fpu"},
    {1, 0, EDX, 4, "tsc"},
    {1, 0, EDX, 5, "msr"},
    {1, 0, EDX, 6, "pae"},
    {1, 0, EDX, 8, "cx8"},
    {1, 0, EDX, 11, "sep"},
    {1, 0, EDX, 13, "pge"},
    {1, 0, EDX, 15, "cmov"},
    {1, 0, EDX, 16, "pat"},
    {1, 0, EDX, 19, "clflush"},
    {1, 0, EDX, 23, "mmx"},
    {1, 0, EDX, 24, "fxsr"},
    {1, 0, EDX, 25, "sse"},
    {1, 0, EDX, 26, "sse2"},
    /* leaf 6 */
    {6, 0, EAX, 2, "arat"},
    /* leaf 7 subleaf 0 */
    {7, 0, EBX, 0, "fsgsbase"},
    {7, 0, EBX, 3, "bmi1"},
    {7, 0, EBX, 4, "hle"},
    {7, 0, EBX, 5, "avx2"},
    {7, 0, EBX, 7, "smep"},
    {7, 0, EBX, 8, "bmi2"},
    {7, 0, EBX, 9, "erms"},
    {7, 0, EBX, 10, "invpcid"},
    {7, 0, EBX, 11, "rtm"},
    {7, 0, EBX, 14, "mpx"},
    {7, 0, EBX, 16, "avx512f"},
    {7, 0, EBX, 17, "avx512dq"},
    {7, 0, EBX, 18, "rdseed"},
    {7, 0, EBX, 19, "adx"},
    {7, 0, EBX, 20, "smap"},
    {7, 0, EBX, 21, "avx512ifma"},
    {7, 0, EBX, 23, "clflushopt"},
    {7, 0, EBX, 24, "clwb"},
    {7, 0, EBX, 26, "avx512pf"},
    {7, 0, EBX, 27, "avx512er"},
    {7, 0, EBX, 28, "avx512cd"},
    {7, 0, EBX, 29, "sha_ni"},
    {7, 0, EBX, 30, "avx512bw"},
    {7, 0, EBX, 31, "avx512vl"},
    {7, 0, ECX, 1, "avx512vbmi"},
    {7, 0, ECX, 2, "umip"},
    {7, 0, ECX, 3, "pku"},
    {7, 0, ECX, 5, "waitpkg"},
    {7, 0, ECX, 6, "avx512_vbmi2"},
    {7, 0, ECX, 8, "gfni"},
    {7, 0, ECX, 9, "vaes"},
    {7, 0, ECX, 10, "vpclmulqdq"},
    {7, 0, ECX, 11, "avx512_vnni"},
    {7, 0, ECX, 12, "avx512_bitalg"},
    {7, 0, ECX, 14, "avx512_vpopcntdq"},
    {7, 0, ECX, 16, "la57"},
    {7, 0, ECX, 22, "rdpid"},
    {7, 0, ECX, 25, "cldemote"},
    {7, 0, ECX, 27, "movdiri"},
    {7, 0, ECX, 28, "movdir64b"},
    {7, 0, EDX, 2, "avx512_4vnniw"},
    {7, 0, EDX, 3, "avx512_4fmaps"},
    {7, 0, EDX, 4, "fsrm"},
    {7, 0, EDX, 8, "avx512_vp2intersect"},
    {7, 0, EDX, 10, "md_clear"},
    {7, 0, EDX, 14, "serialize"},
    {7, 0, EDX, 16, "tsxldtrk"},
    {7, 0, EDX, 22, "amx_bf16"},
    {7, 0, EDX, 23, "avx512_fp16"},
    {7, 0, EDX, 24, "amx_tile"},
    {7, 0, EDX, 25, "amx_int8"},
    {7, 0, EDX, 26, "spec_ctrl"},
    {7, 0, EDX, 27, "intel_stibp"},
    {7, 0, EDX, 29, "arch_capabilities"},
    {7, 0, EDX, 31, "spec_ctrl_ssbd"},
    /* leaf 7 subleaf 1 */
    {7, 1, EAX, 4, "avx_vnni"},
    {7, 1, EAX, 5, "avx512_bf16"},
    {7, 1, EAX, 10, "fzrm"},
    {7, 1, EAX, 11, "fsrs"},
    {7, 1, EAX, 12, "fsrc"},
    /* leaf 0xD: the XSAVE state components (XCR0 bits) and instructions */
    {0xd, 0, EAX, 0, "xsave:x87"},
    {0xd, 0, EAX, 1, "xsave:sse"},
    {0xd, 0, EAX, 2, "xsave:avx"},
    {0xd, 0, EAX, 3, "xsave:bndregs"},
    {0xd, 0, EAX, 4, "xsave:bndcsr"},
    {0xd, 0, EAX, 5, "xsave:opmask"},
    {0xd, 0, EAX, 6, "xsave:zmm_hi256"},
    {0xd, 0, EAX, 7, "xsave:hi16_zmm"},
    {0xd, 0, EAX, 9, "xsave:pkru"},
    {0xd, 0, EAX, 17, "xsave:xtilecfg"},
    {0xd, 0, EAX, 18, "xsave:xtiledata"},
    {0xd, 1, EAX, 0, "xsaveopt"},
    {0xd, 1, EAX, 1, "xsavec"},
    {0xd, 1, EAX, 2, "xgetbv1"},
    {0xd, 1, EAX, 3, "xsaves"},
    /* extended leaves */
    {0x80000001, 0, ECX, 0, "lahf_lm"},
    {0x80000001, 0, ECX, 2, "svm"},
    {0x80000001, 0, ECX, 5, "abm"},
    {0x80000001, 0, ECX, 6, "sse4a"},
    {0x80000001, 0, ECX, 7, "misalignsse"},
    {0x80000001, 0, ECX, 8, "3dnowprefetch"},
    {0x80000001, 0, ECX, 11, "xop"},
    {0x80000001, 0, ECX, 16, "fma4"},
    {0x80000001, 0, ECX, 21, "tbm"},
    {0x80000001, 0, ECX, 22, "topoext"},
    {0x80000001, 0, ECX, 29, "mwaitx"},
    {0x80000001, 0, EDX, 11, "syscall"},
    {0x80000001, 0, EDX, 20, "nx"},
    {0x80000001, 0, EDX, 22, "mmxext"},
    {0x80000001, 0, EDX, 25, "fxsr_opt"},
    {0x80000001, 0, EDX, 26, "pdpe1gb"},
    {0x80000001, 0, EDX, 27, "rdtscp"},
    {0x80000001, 0, EDX, 29, "lm"},
    {0x80000001, 0, EDX, 30, "3dnowext"},
    {0x80000001, 0, EDX, 31, "3dnow"},
    {0x80000007, 0, EDX, 8, "constant_tsc"},
    {0x80000008, 0, EBX, 0, "clzero"},
    {0x80000008, 0, EBX, 4, "rdpru"},
    {0x80000008, 0, EBX, 9, "wbnoinvd"},
    {0x80000008, 0, EBX, 12, "ibpb"},
    {0x80000008, 0, EBX, 14, "ibrs"},
    {0x80000008, 0, EBX, 15, "stibp"},
    {0x80000008, 0, EBX, 24, "amd_ssbd"},
    {0x80000008, 0, EBX, 25, "virt_ssbd"},
};

/* The registers compared, and the bits in them KVM or the VMM sets per vCPU (kvm_update_cpuid_
 * runtime(): OSXSAVE, MONITOR, APIC, OSPKE; cpuid_patch_for_vcpu() and cpuid_normalize():
 * hypervisor, HTT, TSC deadline, the FPU deprecation bits, TOPOEXT), which differ from
 * KVM_GET_SUPPORTED_CPUID without being a feature the host lacks. */
const struct cpu_feature_word cpu_feature_words[] = {
    {1, 0, ECX, (1u << 27) | (1u << 3) | (1u << 31) | (1u << 24)},
    {1, 0, EDX, (1u << 9) | (1u << 28)},
    {6, 0, EAX, 0},
    {7, 0, EBX, (1u << 6) | (1u << 13)},
    {7, 0, ECX, 1u << 4},
    {7, 0, EDX, 0},
    {7, 1, EAX, 0},
    {0xd, 0, EAX, 0},
    {0xd, 0, EDX, 0},
    {0xd, 1, EAX, 0},
    {0x80000001, 0, ECX, 1u << 22},
    {0x80000001, 0, EDX, 0},
    {0x80000007, 0, EDX, 0},
    {0x80000008, 0, EBX, 0},
};
const size_t cpu_feature_nwords = sizeof(cpu_feature_words) / sizeof(cpu_feature_words[0]);

const char *cpu_feature_name(uint32_t function, uint32_t index, uint8_t reg, uint8_t bit)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		if (f->function == function && f->index == index && f->reg == reg && f->bit == bit)
			return f->name;
	}
	return NULL;
}

bool cpu_feature_lookup(const char *name, uint32_t *function, uint32_t *index, uint8_t *reg,
			uint8_t *bit)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		if (!strcmp(f->name, name)) {
			*function = f->function;
			*index = f->index;
			*reg = f->reg;
			*bit = f->bit;
			return true;
		}
	}
	return false;
}
