/* A CPU template's KVM capabilities ("kvm_capabilities": "171" required, "!56" one of the VMM's
 * own checks removed), checked against the KVM device. */
#ifndef VMM_KVM_KVM_CAPS_H
#define VMM_KVM_KVM_CAPS_H

#include <stdint.h>

/* Every capability caps[0..n) requires (N >= 0) answered by KVM_CHECK_EXTENSION on `dev_fd`;
 * a removal (-N-1) is accepted as a no-op (this VMM checks what it needs when it uses it:
 * docs/cpu.md). Returns 0, or -EINVAL with the first missing one logged for the template
 * `name`. */
int kvm_caps_required(int dev_fd, const int32_t *caps, unsigned n, const char *name);

#endif
