/* A vCPU's registers through KVM_GET_ONE_REG / KVM_SET_ONE_REG (arm64_regs.h). */
#include "host/kvm/aarch64/arm64_regs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/aarch64/cpu_ids.h"
#include "host/kvm/kvm.h"

int arm64_get_reg(int vcpu_fd, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)value};
	return kvm_ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arm64_set_reg(int vcpu_fd, uint64_t id, uint64_t value)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&value};
	return kvm_ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static unsigned field(uint64_t id, uint64_t mask, unsigned shift)
{
	return (unsigned)((id & mask) >> shift);
}

void arm64_reg_name(uint64_t id, char *out, size_t len)
{
	if ((id & KVM_REG_ARM_COPROC_MASK) != KVM_REG_ARM64_SYSREG) {
		snprintf(out, len, "register 0x%016llx", (unsigned long long)id);
		return;
	}
	const char *known = NULL;
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++)
		if (arm64_cpu_id_regs[i] == id)
			known = arm64_cpu_id_names[i];
	snprintf(out, len, "system register S%u_%u_C%u_C%u_%u%s%s%s",
		 field(id, KVM_REG_ARM64_SYSREG_OP0_MASK, KVM_REG_ARM64_SYSREG_OP0_SHIFT),
		 field(id, KVM_REG_ARM64_SYSREG_OP1_MASK, KVM_REG_ARM64_SYSREG_OP1_SHIFT),
		 field(id, KVM_REG_ARM64_SYSREG_CRN_MASK, KVM_REG_ARM64_SYSREG_CRN_SHIFT),
		 field(id, KVM_REG_ARM64_SYSREG_CRM_MASK, KVM_REG_ARM64_SYSREG_CRM_SHIFT),
		 field(id, KVM_REG_ARM64_SYSREG_OP2_MASK, KVM_REG_ARM64_SYSREG_OP2_SHIFT),
		 known ? " (" : "", known ? known : "", known ? ")" : "");
}

/* Linux 6.7's ABI (arch/arm64/include/uapi/asm/kvm.h, include/uapi/linux/kvm.h), newer than
 * Debian 12's headers: the values are the kernel's. */
#ifndef KVM_ARM_GET_REG_WRITABLE_MASKS
struct reg_mask_range {
	__u64 addr;  /* the masks' array */
	__u32 range; /* KVM_ARM_FEATURE_ID_RANGE */
	__u32 reserved[13];
};
#define KVM_ARM_FEATURE_ID_RANGE       0
#define KVM_ARM_GET_REG_WRITABLE_MASKS _IOR(KVMIO, 0xb6, struct reg_mask_range)
#endif

int arm64_id_writable_masks(int vm_fd, uint64_t masks[ARM64_ID_RANGE_SIZE])
{
	struct reg_mask_range r;
	memset(&r, 0, sizeof(r));
	memset(masks, 0, ARM64_ID_RANGE_SIZE * sizeof(*masks));
	r.addr = (uint64_t)(uintptr_t)masks;
	r.range = KVM_ARM_FEATURE_ID_RANGE;
	return kvm_ioctl(vm_fd, KVM_ARM_GET_REG_WRITABLE_MASKS, &r) < 0 ? -ENOTSUP : 0;
}

int arm64_id_range_index(uint64_t id)
{
	if ((id & KVM_REG_ARCH_MASK) != KVM_REG_ARM64 ||
	    (id & KVM_REG_ARM_COPROC_MASK) != KVM_REG_ARM64_SYSREG)
		return -1;
	unsigned op0 = field(id, KVM_REG_ARM64_SYSREG_OP0_MASK, KVM_REG_ARM64_SYSREG_OP0_SHIFT);
	unsigned op1 = field(id, KVM_REG_ARM64_SYSREG_OP1_MASK, KVM_REG_ARM64_SYSREG_OP1_SHIFT);
	unsigned crn = field(id, KVM_REG_ARM64_SYSREG_CRN_MASK, KVM_REG_ARM64_SYSREG_CRN_SHIFT);
	unsigned crm = field(id, KVM_REG_ARM64_SYSREG_CRM_MASK, KVM_REG_ARM64_SYSREG_CRM_SHIFT);
	unsigned op2 = field(id, KVM_REG_ARM64_SYSREG_OP2_MASK, KVM_REG_ARM64_SYSREG_OP2_SHIFT);
	if (op0 != 3 || crn != 0 || crm > 7 || (op1 != 0 && op1 != 1 && op1 != 3))
		return -1;
	return (int)(((op1 == 3 ? 2 : op1) << 6) | (crm << 3) | op2);
}
