/* Test-only calls of cpuid (host/kvm/x86/cpuid.h): what unit tests use to set up or look inside it
 * and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include
 * anywhere else. */
#ifndef VMM_KVM_CPUID_TEST_H
#define VMM_KVM_CPUID_TEST_H

#include "host/kvm/x86/cpuid.h"

/* The entry for (function, index), or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *table, uint32_t function, uint32_t index);

/* Fills `table` from KVM_GET_SUPPORTED_CPUID on /dev/kvm's fd, with the host's brand string where
 * KVM gives none (cpuid_fill_brand()). Returns 0 or -errno. */
int cpuid_get_supported(int kvm_dev_fd, struct cpuid_table *table);

#endif
