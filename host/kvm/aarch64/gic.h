/* The in-kernel GIC of an arm64 VM: a GICv3 and its ITS where the host's KVM offers them (KVM API,
 * "ARM Virtual Generic Interrupt Controller v3 and later (VGICv3)", "ARM Virtual Interrupt
 * Translation Service (ITS)"), else a GICv2 ("ARM Virtual Generic Interrupt Controller v2
 * (VGIC)"), which has no ITS: PCI devices then have INTx only. */
#ifndef VMM_KVM_AARCH64_GIC_H
#define VMM_KVM_AARCH64_GIC_H

#include <stdint.h>

struct kvm;

enum kvm_gic_version { KVM_GIC_NONE = 0, KVM_GIC_V2 = 2, KVM_GIC_V3 = 3 };

struct kvm_gic_config {
	int version;	      /* enum kvm_gic_version: KVM_GIC_V3 or KVM_GIC_V2 */
	uint64_t dist_base;   /* the distributor: 64 KiB (GICv3), 4 KiB (GICv2) */
	uint64_t redist_base; /* GICv3: one 128 KiB redistributor per vCPU from here, in vCPU
				 order */
	uint64_t cpu_base;    /* GICv2: the CPU interface, 8 KiB */
	uint64_t its_base;    /* GICv3: the ITS, 128 KiB; 0: none */
	uint32_t nr_irqs;     /* interrupts in all, the 32 private ones included: 64..1024,
				 a multiple of 32 */
};

/* The GIC a VM of this host gets: KVM_GIC_V3 where the host's KVM can create one, else
 * KVM_GIC_V2 where it can create that, else KVM_GIC_NONE (KVM_CREATE_DEVICE's test mode: nothing
 * is created). */
int kvm_gic_host_version(const struct kvm *kvm);

/* Creates the GIC c->version names (kvm->gic_fd, kvm->gic_version) of a VM whose vCPUs all exist,
 * places it, sizes it and initialises it, then for a GICv3 the ITS (kvm->its_fd) when
 * c->its_base is set: where the host has no ITS the VM goes on without (log_warn(); PCI devices
 * then have INTx only, and kvm->its_fd stays -1). Returns 0 or -errno (logged: which step, and
 * for a host without that GIC that it has none). */
int kvm_gic_create(struct kvm *kvm, const struct kvm_gic_config *c);

#endif
