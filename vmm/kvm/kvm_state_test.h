/* Test-only calls of the KVM state calls (vmm/kvm/kvm_state.h): what unit tests use to set up or
 * look inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a
 * *_test.h include anywhere else. */
#ifndef VMM_KVM_KVM_STATE_TEST_H
#define VMM_KVM_KVM_STATE_TEST_H

#include "vmm/kvm/kvm_state.h"

/* Re-registers the slots without dirty logging. Returns 0 or -errno (logged). */
int kvm_dirty_log_stop(struct kvm *kvm, const struct guest_mem *mem);

#endif
