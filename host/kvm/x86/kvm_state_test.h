/* Test-only calls of host/kvm/x86/kvm_state.c: what unit tests use to look inside it and the
 * VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere
 * else. */
#ifndef HOST_KVM_X86_KVM_STATE_TEST_H
#define HOST_KVM_X86_KVM_STATE_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "host/kvm/x86/kvm_state_x86.h"

/* The XSAVE area size KVM uses on this host: KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on `kvm_fd`
 * (/dev/kvm or a VM fd) when it says more than 4096, else 4096 (struct kvm_xsave). Returns 0
 * when the host has no KVM_CAP_XSAVE at all. */
size_t kvm_xsave_size(int kvm_fd);

/* Whether a saved SNAP_VCPU_XCRS must be set on a host whose KVM has XSAVE (`host_xsave`) or
 * not: always with it; without it only when it holds more than XCR0 at its reset value (x87
 * alone). A host without XSAVE refuses KVM_SET_XCRS whatever it holds, and a guest shown no
 * XSAVE (a CPU template that hides it) keeps that value, which a new vCPU already has. Pure. */
struct kvm_xcrs;
bool kvm_xcrs_to_set(const struct kvm_xcrs *x, bool host_xsave);

#endif
