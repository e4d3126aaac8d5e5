/* The in-kernel GICv3 of an arm64 VM and its ITS (KVM API, "ARM Virtual Generic Interrupt
 * Controller v3 and later (VGICv3)" and "ARM Virtual Interrupt Translation Service (ITS)"). */
#ifndef VMM_KVM_AARCH64_GIC_H
#define VMM_KVM_AARCH64_GIC_H

#include <stdint.h>

struct kvm;

struct kvm_gic_config {
	uint64_t dist_base;   /* the distributor, 64 KiB */
	uint64_t redist_base; /* one 128 KiB redistributor per vCPU from here, in vCPU order */
	uint64_t its_base;    /* the ITS, 128 KiB; 0: none */
	uint32_t nr_irqs;     /* interrupts in all, the 32 private ones included: 64..1024,
				 a multiple of 32 */
};

/* Creates the GICv3 (kvm->gic_fd) of a VM whose vCPUs all exist, places it, sizes it and
 * initialises it, then the ITS (kvm->its_fd) when c->its_base is set: where the host has no ITS
 * the VM goes on without (log_warn(); PCI devices then have INTx only). Returns 0 or -errno
 * (logged: which step, and for a host without a GICv3 that it has none). */
int kvm_gic_create(struct kvm *kvm, const struct kvm_gic_config *c);

#endif
