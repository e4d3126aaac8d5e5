/* aarch64's part of opening KVM (host/kvm/kvm_arch.h): PSCI, ONE_REG and device-control
 * capabilities; interrupt lines are SPIs; the GIC comes after the vCPUs (gic.h). */
#include <linux/kvm.h>
#include <unistd.h>

#include "host/kvm/kvm.h"
#include "host/kvm/kvm_arch.h"

/* The GIC's first SPI: INTIDs below it are the SGIs and PPIs of each vCPU. */
#define GIC_FIRST_SPI 32

const struct kvm_cap_name kvm_arch_required_caps[] = {
    {KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2"},
    {KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG"},
    {KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL"},
};
const size_t kvm_arch_nrequired_caps =
    sizeof(kvm_arch_required_caps) / sizeof(kvm_arch_required_caps[0]);

/* An access to device memory that KVM cannot decode (no instruction syndrome: a load or store
 * pair, a writeback) comes to the VMM as KVM_EXIT_ARM_NISV instead of failing KVM_RUN, so that
 * the guest gets an external data abort for it (vm_arch.c) rather than the VMM an error. Hosts
 * without the capability keep KVM's behaviour (KVM_RUN fails: the VMM stops with an error). */
int kvm_arch_init_vm(struct kvm *kvm, bool quiet)
{
	(void)quiet;
	struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};
	if (kvm_ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0 &&
	    kvm_ioctl(kvm->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_INJECT_EXT_DABT) > 0)
		(void)kvm_ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &cap); /* best effort, as above */
	return 0;
}

/* The in-kernel GIC needs the number of vCPUs and must be initialised after they exist: it is
 * made by kvm_gic_create() once they do. */
int kvm_create_chips(struct kvm *kvm)
{
	(void)kvm;
	return 0;
}

unsigned kvm_arch_irq_line_number(unsigned gsi)
{
	/* KVM API "KVM_IRQ_LINE" on arm64: the type in bits 24-27, the INTID in bits 0-15 */
	return (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (GIC_FIRST_SPI + gsi);
}

void kvm_arch_close(struct kvm *kvm)
{
	if (kvm->its_fd >= 0)
		close(kvm->its_fd);
	if (kvm->gic_fd >= 0)
		close(kvm->gic_fd);
	kvm->its_fd = kvm->gic_fd = -1;
	kvm->gic_version = 0;
}
