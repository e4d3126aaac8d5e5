/* arm64 CPU templates (host/kvm/aarch64/cpu_template.h): Firecracker's V1N1, the modifiers
 * applied to a register, and the check against a host's ID registers and the bits its KVM lets
 * change, with the refusals naming the register. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/aarch64/cpu_template.h"

#define PFR0  ARM64_SYS_REG(3, 0, 0, 4, 0)
#define ISAR0 ARM64_SYS_REG(3, 0, 0, 6, 0)
#define ISAR1 ARM64_SYS_REG(3, 0, 0, 6, 1)
#define MMFR2 ARM64_SYS_REG(3, 0, 0, 7, 2)

static struct cpu_template t;
static char err[512];

/* A QEMU "max" CPU's registers as a nested KVM gives them (arm64 L1, Linux 6.12). */
static const uint64_t host[ARM64_CPU_IDS] = {[0] = 0x000000000f0510,
					     [1] = 0x1101000010111111,
					     [4] = 0x1221111110212120,
					     [5] = 0x0011111101211052,
					     [9] = 0x1221011110101011};

Test(cpu_template_arm64, v1n1_as_firecracker_defines_it)
{
	cr_assert_eq(cpu_template_static("V1N1", &t), 0);
	cr_assert_str_eq(t.name, "V1N1");
	cr_assert_not(t.custom);
	cr_assert_eq(t.nregs, 4);
	/* ISAR0: SHA2 down to 1 (SHA-256 only), SHA3, SM3, SM4, FHM, TS and RNDR to 0 */
	cr_assert_eq(cpu_template_reg(&t, ISAR0, 0x1221111110212120), 0x0200100010211120);
	/* ISAR1: DPB and LRCPC to 1, JSCVT, FCMA, BF16, DGH and I8MM to 0 */
	cr_assert_eq(cpu_template_reg(&t, ISAR1, 0x0011111101211052), 0x0000011101100051);
	cr_assert_eq(cpu_template_reg(&t, PFR0, 0x1101000110111111), 0x1100000010111111);
	cr_assert_eq(cpu_template_reg(&t, MMFR2, 0x1221011110101011), 0x1221011010101011);
	cr_assert_eq(cpu_template_reg(&t, ARM64_SYS_REG(3, 0, 0, 0, 0), 42), 42, "not named");
	cr_assert_eq(cpu_template_static("None", &t), -ENOENT);
	cr_assert_eq(cpu_template_static("T2", &t), -ENOENT);
}

Test(cpu_template_arm64, modifiers_of_one_register_apply_in_order)
{
	memset(&t, 0, sizeof(t));
	t.nregs = 2;
	t.regs[0] = (struct cpu_template_reg){ISAR0, 0xff, 0x12};
	t.regs[1] = (struct cpu_template_reg){ISAR0, 0xf0, 0x30};
	cr_assert_eq(cpu_template_reg(&t, ISAR0, 0xabcd), 0xab32);
}

Test(cpu_template_arm64, a_host_whose_kvm_lets_the_fields_change_takes_it)
{
	uint64_t writable[ARM64_CPU_IDS] = {0};
	for (unsigned i = 1; i < ARM64_CPU_IDS; i++)
		writable[i] = ~0ull;
	cpu_template_static("V1N1", &t);
	cr_assert_eq(cpu_template_check(&t, host, writable, err, sizeof(err)), 0, "%s", err);
}

Test(cpu_template_arm64, a_field_kvm_keeps_is_named)
{
	uint64_t writable[ARM64_CPU_IDS] = {0};
	for (unsigned i = 1; i < ARM64_CPU_IDS; i++)
		writable[i] = ~0ull;
	writable[4] = ~0xf000ull; /* ISAR0.SHA2 fixed */
	cpu_template_static("V1N1", &t);
	cr_assert_eq(cpu_template_check(&t, host, writable, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "ID_AA64ISAR0_EL1") && strstr(err, "0x0000000000003000"), "%s", err);
}

Test(cpu_template_arm64, a_kvm_before_linux_6_7_is_said_to_be_one)
{
	static const uint64_t none[ARM64_CPU_IDS];
	cpu_template_static("V1N1", &t);
	cr_assert_eq(cpu_template_check(&t, host, none, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "cannot lower ID registers") && strstr(err, "6.7"), "%s", err);
	/* a template that changes nothing on this host applies anywhere */
	memset(&t, 0, sizeof(t));
	t.nregs = 1;
	t.regs[0] = (struct cpu_template_reg){ISAR0, 0xf0, 0x20};
	cr_assert_eq(cpu_template_check(&t, host, none, err, sizeof(err)), 0, "%s", err);
}

Test(cpu_template_arm64, register_names_in_messages)
{
	char name[96];
	arm64_reg_name(ISAR0, name, sizeof(name));
	cr_assert_str_eq(name, "system register S3_0_C0_C6_0 (ID_AA64ISAR0_EL1)");
	arm64_reg_name(ARM64_SYS_REG(3, 0, 1, 0, 0), name, sizeof(name));
	cr_assert_str_eq(name, "system register S3_0_C1_C0_0");
	cr_assert_eq(arm64_id_range_index(ISAR0), (6 << 3) | 0);
	cr_assert_eq(arm64_id_range_index(ARM64_SYS_REG(3, 3, 0, 0, 1)), (2 << 6) | 1);
	cr_assert_eq(arm64_id_range_index(ARM64_SYS_REG(3, 0, 1, 0, 0)), -1);
	cr_assert_eq(arm64_id_range_index(ARM64_SYS_REG(3, 2, 0, 0, 0)), -1);
}
