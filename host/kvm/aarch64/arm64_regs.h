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

/* The register's name for a message: a system register by its encoding ("system register
 * S3_0_C0_C6_0"), with its name when it is one of the CPU's ID registers (cpu_ids.h: "system
 * register S3_0_C0_C6_0 (ID_AA64ISAR0_EL1)"), else its ID ("register 0x6030..."). */
void arm64_reg_name(uint64_t id, char *out, size_t len);

/* The writable bits of the feature ID registers (op0 3, op1 0, 1 or 3, CRn 0, CRm 0-7: Linux's
 * "feature ID range", 192 registers) that user space may lower before a VM first runs (Linux 6.7
 * and later: KVM_ARM_GET_REG_WRITABLE_MASKS on the VM, KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES). */
#define ARM64_ID_RANGE_SIZE (3 * 8 * 8)

/* Fills masks[] from the VM `vm_fd`. Returns 0, or -ENOTSUP where KVM has no such call (every
 * ID register then is as KVM gives it). */
int arm64_id_writable_masks(int vm_fd, uint64_t masks[ARM64_ID_RANGE_SIZE]);

/* The index of register `id` in that range, or -1 when it is outside. */
int arm64_id_range_index(uint64_t id);

#endif
