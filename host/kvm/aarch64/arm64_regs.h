/* A vCPU's registers on arm64 through KVM_GET_ONE_REG / KVM_SET_ONE_REG (KVM API 4.68-4.69). */
#ifndef VMM_KVM_AARCH64_ARM64_REGS_H
#define VMM_KVM_AARCH64_ARM64_REGS_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/* The ID of a 64-bit core register, by its member of struct kvm_regs (regs.pc, regs.regs[0]). */
#define ARM64_CORE_REG(member)                                                                     \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(member))

/* TTBR1_EL1: the kernel half's page-table root (op0 3, op1 0, CRn 2, CRm 0, op2 1). */
#define ARM64_REG_TTBR1_EL1 ARM64_SYS_REG(3, 0, 2, 0, 1)

/* Reads or writes one 64-bit register. Returns 0 or -errno. */
int arm64_get_reg(int vcpu_fd, uint64_t id, uint64_t *value);
int arm64_set_reg(int vcpu_fd, uint64_t id, uint64_t value);

#endif
