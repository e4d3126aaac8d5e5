/* Test-only calls of host/kvm/kvm_probe.h: what unit tests use to look inside it and the VMM does
 * not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_KVM_KVM_PROBE_TEST_H
#define HOST_KVM_KVM_PROBE_TEST_H

#include "host/kvm/kvm_probe.h"

/* Probes `path` (normally /dev/kvm) with the kernel's modules read under `sys_root` (normally
 * "/sys"; tests point it at a directory of their own). Creates and closes a VM. Returns 0 when
 * usable, else -errno of the failed step (-ENOTTY when the device is no KVM device, -ENOTSUP for
 * a wrong API version), with out->reason and out->fix filled. */
int kvm_probe_at(const char *path, const char *sys_root, struct kvm_probe *out);

/* The kind of a usable KVM from the modules loaded under `sys_root`: kvm_pvm, else kvm_intel,
 * else kvm_amd, else KVM_KIND_UNKNOWN. */
enum kvm_kind kvm_probe_kind(const char *sys_root);

#endif
