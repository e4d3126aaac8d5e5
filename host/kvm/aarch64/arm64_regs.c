/* A vCPU's registers through KVM_GET_ONE_REG / KVM_SET_ONE_REG (arm64_regs.h). */
#include "host/kvm/aarch64/arm64_regs.h"

#include <errno.h>

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
