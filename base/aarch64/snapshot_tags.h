/* aarch64's snapshot tags (base/snapshot_io.h has the generic ones and the numbers an
 * architecture may use): the CPU model, KVM's arm64 vCPU state, the in-kernel GIC (v3 and ITS, or
 * v2), the PL031. Stable numbers (the file format depends on them): append, never renumber. Some
 * numbers are x86's for other state: a snapshot restores only on the architecture that wrote it
 * (SNAP_CPU_MODEL says which). Included only from aarch64 folders. */
#ifndef VMM_BASE_AARCH64_SNAPSHOT_TAGS_H
#define VMM_BASE_AARCH64_SNAPSHOT_TAGS_H

#include "base/snapshot_io.h"

enum snap_tag_aarch64 {
	SNAP_CPU_MODEL = 4, /* "AA64" and the ID registers the guest saw (cpu_check.c) */
	/* KVM, per vCPU (instance = vCPU index) */
	SNAP_VCPU_REGS = 16,	 /* every register of KVM_GET_REG_LIST (host/kvm/aarch64) */
	SNAP_VCPU_MP_STATE = 17, /* struct kvm_mp_state: running, or off by PSCI */
	SNAP_VCPU_EVENTS = 18,	 /* struct kvm_vcpu_events: a pending SError */
	/* KVM, per VM: the GICv3 (host/kvm/aarch64/gic_state.h) */
	SNAP_VM_GIC_DIST = 32,
	SNAP_VM_GIC_VCPU = 33, /* instance = vCPU index: its redistributor and CPU interface */
	SNAP_VM_GIC_ITS = 34,
	/* KVM, per VM: vCPU 0's virtual counter and the host's wall time read together at the save,
	 * with the counter's frequency (kvm_state.c: clock_realtime) */
	SNAP_VM_TIMER_STAMP = 35,
	/* KVM, per VM: the GICv2 of a host without a GICv3 (host/kvm/aarch64/gicv2_state.h), in
	 * place of the GICv3's sections */
	SNAP_VM_GICV2_DIST = 36,
	SNAP_VM_GICV2_VCPU = 37, /* instance = vCPU index: its banked interrupts, CPU interface */
	/* platform devices (the PL011 console is generic: SNAP_DEV_PL011) */
	SNAP_DEV_PL031 = 50
};

_Static_assert(SNAP_TAG_IS_ARCH(SNAP_CPU_MODEL) && SNAP_TAG_IS_ARCH(SNAP_VCPU_EVENTS),
	       "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_VM_GIC_DIST) && SNAP_TAG_IS_ARCH(SNAP_VM_GIC_ITS),
	       "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_VM_GICV2_VCPU), "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_DEV_PL031), "an arch tag outside the arch numbers");

#endif
