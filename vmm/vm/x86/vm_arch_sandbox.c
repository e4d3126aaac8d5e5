/* x86's KVM state ioctls (vmm/vm/vm_arch_sandbox.h). */
#include "vmm/vm/vm_arch_sandbox.h"

#include <linux/kvm.h>
#include <sys/syscall.h>

/* Registers, FPU/XSAVE, MSRs, LAPIC, events (kvm_state.c's save); the MSR list and the XSAVE
 * size asked of /dev/kvm; the VM's PIC/IOAPIC and PIT. */
static const struct sandbox_rule state_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MSR_INDEX_LIST), SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_REGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_SREGS),	     SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_FPU),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_XSAVE),	     SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_XSAVE2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_XCRS),	     SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MSRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_LAPIC),	     SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_DEBUGREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_VCPU_EVENTS),    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_CPUID2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_IRQCHIP),	     SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_PIT2),
};
const struct sandbox_list vm_arch_state_sandbox = SANDBOX_LIST("kvm-state-x86", state_rules);

/* kvm.c's VMX pages and chips, cpuid.c, vm_arch.c's vCPU set-up, kvm_state.c's restore */
static const struct sandbox_rule build_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_SUPPORTED_CPUID),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_IDENTITY_MAP_ADDR),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_TSS_ADDR),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_IRQCHIP),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_PIT2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_CPUID2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_REGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_SREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_FPU),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_XSAVE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_XCRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_MSRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_LAPIC),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_DEBUGREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_VCPU_EVENTS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_MP_STATE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_IRQCHIP),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_PIT2),
};
const struct sandbox_list vm_arch_build_sandbox = SANDBOX_LIST("kvm-build-x86", build_rules);
