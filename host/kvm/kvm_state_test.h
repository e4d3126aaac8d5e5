/* Test-only calls of host/kvm/kvm_state.h: what unit tests use to look inside it and the VMM does
 * not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_KVM_KVM_STATE_TEST_H
#define HOST_KVM_KVM_STATE_TEST_H

#include "host/kvm/kvm_state.h"

/* Words of a bitmap for every page of `mem`. */
size_t kvm_dirty_bitmap_words(const struct guest_mem *mem);

#endif
