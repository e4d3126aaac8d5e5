/* The in-kernel GICv2's part of an arm64 snapshot, for a VM on a host whose KVM offers only a
 * GICv2 (host/kvm/aarch64/gic.h): host/kvm/kvm_state.h's kvm_vm_save() and kvm_vm_restore()
 * take these sections in place of gic_state.h's, through the device attributes of KVM's VGIC
 * (Documentation/virt/kvm/devices/arm-vgic.rst).
 *
 * Sections:
 *   SNAP_VM_GICV2_DIST  struct gicv2_dist_state: GICD_IIDR, GICD_CTLR, and for every SPI its
 *                       group, configuration, priority, targets, pending, enable and active bits
 *   SNAP_VM_GICV2_VCPU  struct gicv2_vcpu_state, instance = vCPU index: the distributor's banked
 *                       registers as that vCPU sees them (its SGIs and PPIs, the SGIs' pending
 *                       sources) and its CPU interface (GICC_CTLR, PMR, BPR, ABPR, APRn)
 * The restore writes GICD_IIDR first (KVM's rule), the SPIs, each vCPU's banked state and CPU
 * interface, GICD_CTLR last. Every section is checked for its exact length, its number of
 * interrupts and targets only the VM's vCPUs, before any register is written. A snapshot of a
 * GICv3 VM is refused with that reason, and the other way round (kvm_state.c). */
#ifndef VMM_KVM_AARCH64_GICV2_STATE_H
#define VMM_KVM_AARCH64_GICV2_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/snapshot_io.h"

struct kvm;

#define GICV2_STATE_MAX_IRQS 1024

struct gicv2_dist_state {
	uint32_t nr_irqs;	       /* KVM_DEV_ARM_VGIC_GRP_NR_IRQS: SGIs, PPIs and SPIs */
	uint32_t iidr, ctlr, reserved; /* reserved: zero */
	/* one bit per interrupt, word i for INTIDs 32i..32i+31 (word 0, the banked ones: 0) */
	uint32_t igroupr[GICV2_STATE_MAX_IRQS / 32], isenabler[GICV2_STATE_MAX_IRQS / 32];
	uint32_t ispendr[GICV2_STATE_MAX_IRQS / 32], isactiver[GICV2_STATE_MAX_IRQS / 32];
	uint32_t icfgr[GICV2_STATE_MAX_IRQS / 16];     /* two bits per interrupt */
	uint32_t ipriorityr[GICV2_STATE_MAX_IRQS / 4]; /* a byte per interrupt */
	uint32_t itargetsr[GICV2_STATE_MAX_IRQS / 4];  /* a CPU mask byte per interrupt */
};

struct gicv2_vcpu_state {
	uint32_t igroupr0, isenabler0, ispendr0, isactiver0, icfgr1, reserved;
	uint32_t ipriorityr[8];
	uint32_t spendsgir[4]; /* a byte per SGI: the CPUs whose SGI is pending here */
	uint32_t gicc_ctlr, gicc_pmr, gicc_bpr, gicc_abpr;
	uint32_t gicc_apr[4];
};

/* Puts the sections of the VM's GICv2 (kvm->gic_fd, kvm->gic_version 2). Every vCPU parked.
 * Returns 0 or -errno (`err` says which register or step). */
int gicv2_state_save(const struct kvm *kvm, unsigned ncpus, snap_put_fn put, void *w, char *err,
		     size_t errlen);

/* Restores them into the GICv2 of a new VM with the same number of vCPUs, before any vCPU runs.
 * Returns 0, -EINVAL for a missing or bad section (named), or -errno of the attribute KVM refused
 * (named). */
int gicv2_state_restore(const struct kvm *kvm, unsigned ncpus, snap_get_fn get, void *r, char *err,
			size_t errlen);

#endif
