/* Test-only calls of host/kvm/kvm_state.h: what unit tests use to look inside it and the VMM does
 * not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_KVM_KVM_STATE_TEST_H
#define HOST_KVM_KVM_STATE_TEST_H

#include "host/kvm/kvm_state.h"

/* The XSAVE area size KVM uses on this host: KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on `kvm_fd`
 * (/dev/kvm or a VM fd) when it says more than 4096, else 4096 (struct kvm_xsave). Returns 0
 * when the host has no KVM_CAP_XSAVE at all. */
size_t kvm_xsave_size(int kvm_fd);

/* Words of a bitmap for every page of `mem`. */
size_t kvm_dirty_bitmap_words(const struct guest_mem *mem);

#endif
