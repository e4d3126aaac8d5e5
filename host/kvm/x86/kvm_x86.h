/* x86-only KVM calls (host/kvm/x86/kvm_x86.c). */
#ifndef VMM_KVM_X86_KVM_X86_H
#define VMM_KVM_X86_KVM_X86_H

#include <stdbool.h>
#include <stdint.h>

/* One MSR of a vCPU: KVM_SET_MSRS of *value when set, else KVM_GET_MSRS into *value; true when
 * KVM took it (it answers how many of the one entry it handled). */
bool kvm_vcpu_msr(int vcpu_fd, bool set, uint32_t index, uint64_t *value);

#endif
