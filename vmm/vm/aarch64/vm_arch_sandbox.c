/* aarch64's KVM state ioctls (vmm/vm/vm_arch_sandbox.h). */
#include "vmm/vm/vm_arch_sandbox.h"

#include <linux/kvm.h>
#include <sys/syscall.h>

/* registers one at a time (the halt watch, the dump) and their list */
static const struct sandbox_rule state_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_ONE_REG),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_REG_LIST),
};
const struct sandbox_list vm_arch_state_sandbox = SANDBOX_LIST("kvm-state-arm64", state_rules);

/* vm_arch.c's vCPU set-up, gic.c's GIC and ITS */
static const struct sandbox_rule build_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_ARM_PREFERRED_TARGET), SB_ARG_EQ(SYS_ioctl, 1, KVM_ARM_VCPU_INIT),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_ONE_REG),	       SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_DEVICE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_DEVICE_ATTR),      SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_MP_STATE),
};
const struct sandbox_list vm_arch_build_sandbox = SANDBOX_LIST("kvm-build-arm64", build_rules);
