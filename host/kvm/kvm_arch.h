/* Between host/kvm/kvm.c and the architecture's part of opening KVM (host/kvm/<arch>/kvm_<arch>.c,
 * which also implements kvm.h's kvm_create_chips()). Only host/kvm includes it. */
#ifndef VMM_KVM_ARCH_H
#define VMM_KVM_ARCH_H

#include <stdbool.h>
#include <stddef.h>

struct kvm;

struct kvm_cap_name {
	int cap;
	const char *name;
};

/* The capabilities the architecture's VMM needs beyond the generic ones kvm.c checks. */
extern const struct kvm_cap_name kvm_arch_required_caps[];
extern const size_t kvm_arch_nrequired_caps;

/* What a new VM needs before anything else (x86: the TSS and identity-map pages of VMX's real
 * mode). Logs unless `quiet` (a VM made ahead). Returns 0 or -errno. */
int kvm_arch_init_vm(struct kvm *kvm, bool quiet);

/* KVM_IRQ_LINE's `irq` field for interrupt line `gsi` (kvm.h's kvm_irq_line()). */
unsigned kvm_arch_irq_line_number(unsigned gsi);

/* Closes what the architecture's part opened (aarch64: the GIC and ITS devices). */
void kvm_arch_close(struct kvm *kvm);

#endif
