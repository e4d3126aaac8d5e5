/* The CPUID table each vCPU sees: what KVM supports, with per-vCPU APIC IDs and topology. */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#define CPUID_MAX_ENTRIES 256

/* struct kvm_cpuid2 ends in a flexible array: the union gives it room for CPUID_MAX_ENTRIES
 * entries (reached as header.entries[i]) without a struct-after-flexible-array extension. */
struct cpuid_table {
	union {
		struct kvm_cpuid2 header;
		uint8_t storage[sizeof(struct kvm_cpuid2) +
				CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2)];
	};
};

/* cpuid_get_supported() asked once per KVM device (the host's answer does not change while its
 * module is loaded; 0.4 ms on kvm_pvm): later calls on the same device copy the first answer.
 * A device fstat() cannot tell apart is asked every time. `table` NULL: only fill the cache.
 * Thread-safe. */
int cpuid_get_supported_cached(int kvm_dev_fd, struct cpuid_table *table);

/* Asks the device at `kvm_path` now, so that a VM built later (a migration's destination, once
 * the source's state is in) finds the answer cached. Best effort: a failure is left for the VM's
 * creation to report. */
void cpuid_warm_up(const char *kvm_path);

/* Opens the KVM device at `kvm_path` and fills `table` with its supported CPUID (cached as
 * above) and, when `msrs` is not NULL, msrs[0..max) with its KVM_GET_MSR_INDEX_LIST (*nmsrs of
 * them; -E2BIG when it has more). Returns 0 or -errno (of the open or the ioctl). */
int cpuid_host_at(const char *kvm_path, struct cpuid_table *table, uint32_t *msrs, uint32_t max,
		  uint32_t *nmsrs);

enum cpuid_vendor { CPUID_VENDOR_OTHER, CPUID_VENDOR_INTEL, CPUID_VENDOR_AMD };

/* The vendor of leaf 0's string (Hygon counts as AMD: same leaves); OTHER without leaf 0. */
enum cpuid_vendor cpuid_vendor(const struct cpuid_table *t);

/* The vCPU-independent normalization (docs/cpu.md lists each rule and why): leaf 1 CLFLUSH size,
 * PDCM cleared, TSC deadline set; a core level (subleaf 1) added to 0xB and 0x1F when KVM lists
 * subleaf 0 only; Intel: leaf 6 turbo and frequency selection, leaf 7 WAITPKG cleared, the FPU
 * deprecation bits set, leaf 0xA (PMU) zeroed; AMD: leaf 7 ARCH_CAPABILITIES cleared, TOPOEXT
 * set, 0x80000008 ECX core count and APIC-ID size, 0x8000001D threads sharing each cache.
 * cpuid_patch_for_vcpu() calls it. Pure. */
void cpuid_normalize(struct cpuid_table *table, unsigned ncpus, unsigned threads);

/* The brand string leaves 0x80000002-4 (what Linux prints as the CPU's model name) set to `brand`
 * (the 48 bytes of the host's own leaves, as EAX, EBX, ECX, EDX of each) when the table lists
 * them as zeros or not at all: KVM_GET_SUPPORTED_CPUID gives zeros, so a guest saw no model
 * name ("AMD 17/01" in its log). A non-zero brand in the table, an all-zero `brand` or a maximum
 * extended leaf below 0x80000004 leaves the table as it is. Pure. */
void cpuid_fill_brand(struct cpuid_table *table, const uint32_t brand[12]);

/* Rewrites `table` (a copy of the supported set) for vCPU `index` of `ncpus`, with `threads`
 * (1 or 2: SMT) threads per core: initial APIC ID in leaf 1 EBX[31:24] and the logical count in
 * EBX[23:16], x2APIC IDs and the SMT/core levels in leaves 0xB and 0x1F (threads per core,
 * ncpus logical processors, one package), cores per package and threads per cache in leaf 4,
 * AMD's threads per core and core ID in leaf 0x8000001E, and the hypervisor-present bit. APIC
 * IDs are the vCPU indexes, so vCPUs 2k and 2k+1 are the threads of core k with SMT; then
 * cpuid_normalize(). Pure: no
 * ioctls, unit-tested. */
void cpuid_patch_for_vcpu(struct cpuid_table *table, unsigned index, unsigned ncpus,
			  unsigned threads);

/* True when `a` and `b` list the same leaves with the same values but for the bits KVM keeps in
 * step with the vCPU's registers itself (kvm_update_cpuid_runtime(): leaf 1 ECX OSXSAVE and
 * MONITOR, leaf 1 EDX APIC, leaf 7 ECX OSPKE, leaf 0xD subleaves 0 and 1 EBX): a vCPU that has
 * `a` needs no KVM_SET_CPUID2 of `b` before its registers are set (0.1 ms on kvm_pvm, in a
 * migration's pause). Entries compared in order. Pure, unit-tested. */
bool cpuid_same_but_runtime(const struct kvm_cpuid2 *a, const struct kvm_cpuid2 *b);

/* False for an MSR that only a CPUID feature `t` (a vCPU's table) hides makes usable:
 * MSR_TSC_AUX (0xc0000103) without RDTSCP and RDPID. The guest cannot read or write such an MSR,
 * so a snapshot leaves it out: a CPU template that hides the feature then lets the guest move
 * to a host whose KVM lacks the MSR (docs/cpu.md). True for every other MSR. Pure. */
bool cpuid_msr_for_guest(const struct kvm_cpuid2 *t, uint32_t msr);

#endif
