/* x86's part of opening KVM (host/kvm/kvm_arch.h): the PIT, TSS and CPUID capabilities, VMX's
 * real-mode pages, the in-kernel PIC/IOAPIC and PIT. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "base/log.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_arch.h"
#include "host/kvm/x86/kvm_x86.h"

/* The identity-map page and the 3-page TSS that VMX needs for real mode, placed in the hole just
 * below the BIOS area at 4 GiB, away from every device window in layout.h. */
#define KVM_IDENTITY_MAP_ADDR 0xFFFBC000ULL
#define KVM_TSS_ADDR	      0xFFFBD000ULL

const struct kvm_cap_name kvm_arch_required_caps[] = {
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
};
const size_t kvm_arch_nrequired_caps =
    sizeof(kvm_arch_required_caps) / sizeof(kvm_arch_required_caps[0]);

int kvm_arch_init_vm(struct kvm *kvm, bool quiet)
{
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	const char *what = "KVM_SET_IDENTITY_MAP_ADDR";
	int r = kvm_ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	if (r >= 0) {
		what = "KVM_SET_TSS_ADDR";
		r = kvm_ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
	}
	if (r >= 0)
		return 0;
	int err = errno;
	if (!quiet)
		log_error("%s failed: %s", what, strerror(err));
	return -err;
}

int kvm_create_chips(struct kvm *kvm)
{
	int err = kvm_vm_ioctl(kvm, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP");
	if (!err) {
		/* The dummy speaker makes KVM answer port 0x61, which Linux polls while
		 * calibrating the TSC against the PIT. */
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		err = kvm_vm_ioctl(kvm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
	}
	return err;
}

unsigned kvm_arch_irq_line_number(unsigned gsi)
{
	return gsi; /* the IOAPIC pin */
}

void kvm_arch_close(struct kvm *kvm)
{
	(void)kvm;
}

bool kvm_vcpu_msr(int vcpu_fd, bool set, uint32_t index, uint64_t *value)
{
	union {
		struct kvm_msrs hdr;
		uint8_t storage[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m = {0};
	m.hdr.nmsrs = 1;
	m.hdr.entries[0] = (struct kvm_msr_entry){.index = index, .data = *value};
	if (kvm_ioctl(vcpu_fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m) != 1)
		return false;
	*value = m.hdr.entries[0].data;
	return true;
}
