/* The in-kernel GICv3's and ITS's part of an arm64 snapshot (host/kvm/kvm_state.h's kvm_vm_save()
 * and kvm_vm_restore() on aarch64), through the device attributes of KVM's VGICv3 and ITS
 * (Documentation/virt/kvm/devices/arm-vgic-v3.rst, arm-vgic-its.rst).
 *
 * Sections:
 *   SNAP_VM_GIC_DIST   struct gic_dist_state: GICD_IIDR, GICD_CTLR, and for every SPI its group,
 *                      enable, pending latch, active, configuration, priority, route and line
 *                      level
 *   SNAP_VM_GIC_VCPU   struct gic_vcpu_state, instance = vCPU index: its redistributor (LPI
 *                      tables, GICR_CTLR, the SGIs' and PPIs' state and the PPIs' line levels)
 *                      and its CPU interface (ICC_* system registers)
 *   SNAP_VM_GIC_ITS    struct gic_its_state: the ITS's registers; its tables (devices,
 *                      collections, translations) and the LPIs' pending bits are in guest RAM,
 *                      where the save first has KVM write them
 * The restore follows KVM's order: distributor and redistributors, the CPU interfaces, then the
 * ITS (GITS_CBASER, the other registers, the tables from guest RAM, GITS_CTLR last). Every
 * section is checked for its exact length, its number of interrupts and each vCPU's affinity;
 * values KVM would refuse are reported naming the register. */
#ifndef VMM_KVM_AARCH64_GIC_STATE_H
#define VMM_KVM_AARCH64_GIC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/snapshot_io.h"

struct kvm;

#define GIC_STATE_MAX_IRQS 1024

struct gic_dist_state {
	uint32_t nr_irqs;	       /* KVM_DEV_ARM_VGIC_GRP_NR_IRQS: SGIs, PPIs and SPIs */
	uint32_t iidr, ctlr, reserved; /* reserved: zero */
	/* one bit per interrupt, word i for INTIDs 32i..32i+31 (word 0, the private ones: 0) */
	uint32_t igroupr[GIC_STATE_MAX_IRQS / 32], isenabler[GIC_STATE_MAX_IRQS / 32];
	uint32_t ispendr[GIC_STATE_MAX_IRQS / 32], isactiver[GIC_STATE_MAX_IRQS / 32];
	uint32_t level[GIC_STATE_MAX_IRQS / 32];
	uint32_t icfgr[GIC_STATE_MAX_IRQS / 16];     /* two bits per interrupt */
	uint32_t ipriorityr[GIC_STATE_MAX_IRQS / 4]; /* a byte per interrupt */
	uint64_t irouter[GIC_STATE_MAX_IRQS];	     /* by INTID, from 32 */
};

struct gic_vcpu_state {
	uint64_t mpidr; /* the vCPU's MPIDR_EL1: the redistributor's identity */
	uint64_t propbaser, pendbaser;
	uint32_t ctlr, igroupr0, isenabler0, ispendr0, isactiver0, icfgr0, icfgr1, level;
	uint32_t ipriorityr[8];
	/* the CPU interface; ap0r/ap1r: the first napr are the registers' (1, 2 or 4 by the
	 * priority bits of icc_ctlr), the rest zero */
	uint64_t icc_sre, icc_ctlr, icc_igrpen0, icc_igrpen1, icc_pmr, icc_bpr0, icc_bpr1;
	uint64_t icc_ap0r[4], icc_ap1r[4];
};

struct gic_its_state {
	uint64_t ctlr, iidr, cbaser, creadr, cwriter;
	uint64_t baser[8];
};

/* Has KVM write the LPIs' pending bits and the ITS's tables into guest RAM (where the guest's
 * GICR_PENDBASER and GITS_BASERs put them), when the VM has an ITS. Every vCPU parked. Returns 0
 * or -errno (`err` says). */
int gic_state_flush(const struct kvm *kvm, char *err, size_t errlen);

/* Puts the sections of the GIC (kvm->gic_fd) and, when the VM has one, its ITS (kvm->its_fd),
 * after having KVM write the LPIs' pending bits and the ITS's tables into guest RAM. Every vCPU
 * parked. Returns 0 or -errno (`err` says which register or step). */
int gic_state_save(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_put_fn put,
		   void *w, char *err, size_t errlen);

/* Restores them into the GIC and ITS of a new VM with the same vCPUs, whose guest RAM holds the
 * snapshot's, before any vCPU runs. Returns 0, -EINVAL for a missing or bad section (named), or
 * -errno of the attribute KVM refused (named). */
int gic_state_restore(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
		      void *r, char *err, size_t errlen);

#endif
