/* x86's sections of KVM's part of a snapshot (host/kvm/kvm_state.h, implemented in
 * host/kvm/x86/kvm_state.c).
 *
 * Sections (instance = vCPU index for SNAP_VCPU_*):
 *   SNAP_VCPU_REGS       struct kvm_regs
 *   SNAP_VCPU_SREGS      struct kvm_sregs
 *   SNAP_VCPU_XSAVE      the KVM_GET_XSAVE(2) area; its length is this host's XSAVE size
 *                        (KVM_CAP_XSAVE2, at least 4096 bytes)
 *   SNAP_VCPU_XCRS       struct kvm_xcrs
 *   SNAP_VCPU_MSRS       struct kvm_msrs (nmsrs, pad) then nmsrs struct kvm_msr_entry: every
 *                        MSR of KVM_GET_MSR_INDEX_LIST that KVM_GET_MSRS reads (TSC, kvmclock,
 *                        syscall MSRs, TSC deadline, ...)
 *   SNAP_VCPU_LAPIC      struct kvm_lapic_state
 *   SNAP_VCPU_EVENTS     struct kvm_vcpu_events
 *   SNAP_VCPU_DEBUGREGS  struct kvm_debugregs
 *   SNAP_VCPU_MP_STATE   struct kvm_mp_state
 *   SNAP_VCPU_CPUID      struct kvm_cpuid2 (nent, pad) then nent struct kvm_cpuid_entry2
 *   SNAP_VM_IRQCHIP      struct kvm_irqchip, instance = chip_id (PIC master, PIC slave, IOAPIC)
 *   SNAP_VM_PIT          struct kvm_pit_state2
 *   SNAP_VM_CLOCK        struct kvm_clock_data
 * XSAVE, XCRS, DEBUGREGS and CPUID are optional: saved when the host has the capability,
 * skipped on restore (with a debug line) when the snapshot lacks them. The rest must be there.
 *
 * The TSC: restoring MSR_IA32_TSC makes the guest's TSC go on from the saved value. kvm_pvm
 * (this project's emulated KVM) accepts TSC writes but ignores them, its guests reading the
 * host's TSC: there the guest's TSC jumps forward by the time between save and restore, while
 * kvmclock (SNAP_VM_CLOCK) does not jump.
 *
 * Not saved: nested virtualization state (KVM_GET_NESTED_STATE), the TSC frequency
 * (KVM_GET_TSC_KHZ: a restore on a host with another TSC rate changes the guest's), SMM, the
 * PDPTRs of PAE paging without EPT (KVM_GET_SREGS2).
 *
 * A snapshot is untrusted input: every section is checked for presence and exact length, the
 * MSR and CPUID counts are bounded, and what KVM itself would refuse is reported naming the
 * section. Messages go into `err` (errlen bytes); nothing here logs at error level. */
#ifndef VMM_KVM_X86_KVM_STATE_X86_H
#define VMM_KVM_X86_KVM_STATE_X86_H

/* At most this many MSRs in a SNAP_VCPU_MSRS section (KVM lists ~40-200). */
#define KVM_STATE_MAX_MSRS 1024

#endif
