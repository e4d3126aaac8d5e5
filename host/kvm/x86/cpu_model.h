/* The CPU model a guest saw: its CPUID table (every leaf and subleaf set with KVM_SET_CPUID2 on
 * vCPU 0) and the MSRs its state carries. Snapshots and migration streams carry it (encoded
 * below) so that a restore or a migration's destination can refuse a host that cannot present
 * the same features before the guest runs: a guest that saw AVX-512 and lands on a host without
 * it dies later of SIGILL in user space (docs/cpu.md).
 *
 * Encoding (little-endian; the SNAP_CPU_MODEL section, the migration HELLO's CPU model):
 *   u32 version (CPU_MODEL_VERSION), u32 entries, u32 MSRs, u32 flags (0)
 *   entries * { u32 function, index, flags (KVM_CPUID_FLAG_*), eax, ebx, ecx, edx, 0 }
 *   MSRs * u32 MSR index
 * Decoding treats the bytes as untrusted: every count is bounded and must match the length.
 *
 * Everything here but cpu_model_of_host() is pure (no KVM), so it is unit-tested on recorded
 * tables of real CPUs. */
#ifndef VMM_KVM_CPU_MODEL_H
#define VMM_KVM_CPU_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/kvm/x86/cpuid.h"

#define CPU_MODEL_VERSION  1u
#define CPU_MODEL_MAX_MSRS 1024u
#define CPU_MODEL_HDR	   16u
#define CPU_MODEL_ENTRY	   32u
#define CPU_MODEL_MAX_BYTES                                                                        \
	(CPU_MODEL_HDR + CPUID_MAX_ENTRIES * CPU_MODEL_ENTRY + 4 * CPU_MODEL_MAX_MSRS)
#define CPU_MODEL_MAX_REPORT 48u /* missing features a verdict lists by itself */

struct cpu_model {
	uint32_t nmsrs;
	bool msrs_known; /* false: the MSR list is not known (a host without the list) */
	uint32_t msrs[CPU_MODEL_MAX_MSRS];
	struct cpuid_table cpuid; /* last: it ends in kvm_cpuid2's flexible array */
};

/* One CPUID bit the guest saw that the host lacks. `name` is the feature's name (Linux's
 * /proc/cpuinfo spelling; "xsave:NAME" for an XSAVE state component), NULL for a bit the table
 * does not name. */
struct cpu_missing {
	uint32_t function, index;
	uint8_t reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint8_t bit;
	const char *name;
};

/* What cpu_model_compare() found. */
struct cpu_verdict {
	bool vendor_differs;
	char guest_vendor[13], host_vendor[13];
	unsigned nmissing; /* all of them; the first CPU_MODEL_MAX_REPORT are in missing[] */
	struct cpu_missing missing[CPU_MODEL_MAX_REPORT];
	unsigned nmsrs_missing; /* MSRs of the guest's state this host's KVM does not list */
	uint32_t first_msr_missing[8];
};

/* The bytes cpu_model_encode() writes for `m`. */
size_t cpu_model_encoded_size(const struct cpu_model *m);

/* Writes `m` into buf[0..cap). Returns the length, or 0 when it does not fit. */
size_t cpu_model_encode(const struct cpu_model *m, uint8_t *buf, size_t cap);

/* Decodes `len` untrusted bytes into `m`: a known version ("CPU model version N, this vmm reads
 * 1"), zero flags, at most CPUID_MAX_ENTRIES entries and CPU_MODEL_MAX_MSRS MSRs, a length that
 * is exactly what the counts say, entry flags within KVM's. Returns 0 or -EINVAL with the reason
 * in err. */
int cpu_model_decode(const uint8_t *p, size_t len, struct cpu_model *m, char *err, size_t errlen);

/* The model of a guest from its vCPU 0's CPUID table and the MSR indexes of its state (msrs may
 * be NULL when nmsrs is 0 and the list is unknown). Counts past the limits are cut. */
void cpu_model_from(struct cpu_model *m, const struct kvm_cpuid2 *cpuid, const uint32_t *msrs,
		    uint32_t nmsrs, bool msrs_known);

/* Compares the model a guest saw with what a host can present (its KVM_GET_SUPPORTED_CPUID and
 * MSR index list): the CPU vendors (leaf 0), every feature bit of the feature leaves (docs/cpu.md
 * lists them: 1, 6, 7.0, 7.1, 0xD.0, 0xD.1, 0x80000001, 0x80000007, 0x80000008) set for the
 * guest and clear on the host, but for the bits KVM or the VMM sets per vCPU (OSXSAVE, OSPKE,
 * APIC, HTT, hypervisor, MONITOR), and, when both MSR lists are known, MSRs of the guest the host
 * does not list. Extra host features are fine. Pure. Returns true when the guest can run on the
 * host (nothing missing, same vendor). */
bool cpu_model_compare(const struct cpu_model *guest, const struct cpu_model *host,
		       struct cpu_verdict *v);

/* The verdict in words, e.g. "the guest saw CPU features this host cannot give: avx512f,
 * avx512bw, xsave:zmm_hi256 (3 features)"; "" for a verdict with nothing wrong. Returns `buf`. */
char *cpu_verdict_text(const struct cpu_verdict *v, char *buf, size_t len);

/* The CPUID bit named `name` (as cpu_missing names them). Returns true and sets the fields, or
 * false for an unknown name. */
bool cpu_feature_lookup(const char *name, uint32_t *function, uint32_t *index, uint8_t *reg,
			uint8_t *bit);

/* The name of CPUID bit (function, index, reg, bit), or NULL. */
const char *cpu_feature_name(uint32_t function, uint32_t index, uint8_t reg, uint8_t bit);

/* Clears the features of the comma-separated list `names` in `t`: the test-only fake "lesser
 * host" (VMM_TEST_HOST_CPU_HIDE, docs/cpu.md). Returns 0 or -EINVAL naming an unknown feature. */
int cpu_model_hide(struct cpuid_table *t, const char *names, char *err, size_t errlen);

/* What the host at `kvm_path` can present: KVM_GET_SUPPORTED_CPUID (cached, cpuid.h) and the
 * MSR index list, less the features the environment variable VMM_TEST_HOST_CPU_HIDE names
 * (test-only). Returns 0 or -errno with the reason in err. */
int cpu_model_of_host(const char *kvm_path, struct cpu_model *m, char *err, size_t errlen);

#endif
