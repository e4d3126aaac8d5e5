/* aarch64's KVM state ioctls (vmm/vm/vm_arch_sandbox.h). */
#include "vmm/vm/vm_arch_sandbox.h"

#include <linux/kvm.h>
#include <sys/syscall.h>

/* Registers one at a time (the halt watch, the dump, a snapshot's vCPUs) and their list, a
 * pending SError; the GIC's and ITS's attributes (a snapshot; saving the ITS's tables into guest
 * RAM is a KVM_SET_DEVICE_ATTR); the virtual counter put back at a resume (KVM_SET_ONE_REG,
 * vm_arch_clock_set()); the data abort a vCPU thread gives its guest for an access KVM cannot
 * decode (KVM_SET_VCPU_EVENTS, vm_arch.c). */
static const struct sandbox_rule state_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_ONE_REG),	  SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_REG_LIST),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_VCPU_EVENTS), SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_DEVICE_ATTR),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_DEVICE_ATTR), SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_ONE_REG),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_VCPU_EVENTS),
};
const struct sandbox_list vm_arch_state_sandbox = SANDBOX_LIST("kvm-state-arm64", state_rules);

/* kvm_aarch64.c's VM capability, vm_arch.c's vCPU set-up, gic.c's GIC and ITS, kvm_state.c's
 * and gic_state.c's restore */
static const struct sandbox_rule build_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_ARM_PREFERRED_TARGET), SB_ARG_EQ(SYS_ioctl, 1, KVM_ARM_VCPU_INIT),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_ONE_REG),	       SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_DEVICE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_DEVICE_ATTR),      SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_MP_STATE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_VCPU_EVENTS),      SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_DEVICE_ATTR),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_ENABLE_CAP),
};
const struct sandbox_list vm_arch_build_sandbox = SANDBOX_LIST("kvm-build-arm64", build_rules);
