/* Prints the ID registers the vCPU sees, for tests that compare them with what the VMM was
 * asked to present (CPU templates: docs/cpu.md; the arm64 twin of cpuid_dump). One line each:
 *
 *   IDREG ID_AA64ISAR0_EL1 0x1221111110212120
 *
 * for MIDR_EL1 and the ID_AA64 registers of processor features, debug, instruction sets, memory
 * model and SVE, then "TEST PASS". With restore=1 it prints "IDREGS-WAIT" and waits until the
 * VM generation ID changes (a test snapshots it and restores it meanwhile: boot_vmgenid()), then
 * prints "IDREGS-RESTORED" and the registers again. The guest checks nothing itself: what is
 * right depends on the VMM's options. Command line: [restore=1] */
#include "guest.h"

#define SHOW(name, enc) printf("IDREG %s 0x%016llx\n", name, (unsigned long long)read_sysreg(enc))

static void show_all(void)
{
	SHOW("MIDR_EL1", midr_el1);
	SHOW("ID_AA64PFR0_EL1", s3_0_c0_c4_0);
	SHOW("ID_AA64PFR1_EL1", s3_0_c0_c4_1);
	SHOW("ID_AA64ZFR0_EL1", s3_0_c0_c4_4);
	SHOW("ID_AA64DFR0_EL1", s3_0_c0_c5_0);
	SHOW("ID_AA64ISAR0_EL1", s3_0_c0_c6_0);
	SHOW("ID_AA64ISAR1_EL1", s3_0_c0_c6_1);
	SHOW("ID_AA64ISAR2_EL1", s3_0_c0_c6_2);
	SHOW("ID_AA64MMFR0_EL1", s3_0_c0_c7_0);
	SHOW("ID_AA64MMFR1_EL1", s3_0_c0_c7_1);
	SHOW("ID_AA64MMFR2_EL1", s3_0_c0_c7_2);
}

int guest_main(void)
{
	uint64_t restore = 0, id = boot_vmgenid();
	show_all();
	cmdline_get_u64("restore", &restore);
	if (!restore)
		return 0;
	TEST_ASSERT_MSG(id, "no VM generation ID");
	uint64_t first = mmio_read64(id), second = mmio_read64(id + 8);
	printf("IDREGS-WAIT\n");
	while (mmio_read64(id) == first && mmio_read64(id + 8) == second)
		cpu_relax();
	printf("IDREGS-RESTORED\n");
	show_all();
	return 0;
}
