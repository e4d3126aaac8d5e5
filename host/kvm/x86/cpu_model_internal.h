/* Shared by the files of the CPU model (host/kvm/x86/cpu_*.c): the feature registers compared. */
#ifndef VMM_KVM_CPU_MODEL_INTERNAL_H
#define VMM_KVM_CPU_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* One CPUID register whose set bits are features; `ignore`: bits set per vCPU, not compared. */
struct cpu_feature_word {
	uint32_t function, index;
	uint8_t reg;
	uint32_t ignore;
};

extern const struct cpu_feature_word cpu_feature_words[];
extern const size_t cpu_feature_nwords;

#endif
