/* The KVM ioctls of the architecture's VM state, for the sandbox lists of the threads that make
 * them (vmm/vm/<arch>/vm_arch_sandbox.c; the request numbers and the calls differ by
 * architecture): reading it (the halt watch and a failed guest's register dump on a vCPU
 * thread, a vCPU parking for a snapshot, a snapshot of the VM) and building it (the VM's chips,
 * its vCPUs' set-up, a restore). */
#ifndef VMM_VM_ARCH_SANDBOX_H
#define VMM_VM_ARCH_SANDBOX_H

#include "host/sandbox/sandbox.h"

extern const struct sandbox_list vm_arch_state_sandbox;
extern const struct sandbox_list vm_arch_build_sandbox;

#endif
