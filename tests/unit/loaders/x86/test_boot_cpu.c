#include <criterion/criterion.h>
#include <errno.h>

#include "loaders/x86/boot_cpu.h"
#include "tests/unit/fixtures/boot_fixtures.h"

static struct guest_mem mem;
static uint8_t *ram;
static struct kvm_sregs sregs;
static struct kvm_regs regs;

/* What KVM_GET_SREGS returns after reset, roughly: real mode, CR0 = CD|NW|ET. */
static void setup(void)
{
	ram = fake_mem_init(&mem, MIB(2));
	memset(&sregs, 0, sizeof(sregs));
	sregs.cr0 = 0x60000010;
	sregs.apic_base = 0xFEE00900;
	sregs.cs.selector = 0xF000;
	sregs.cs.base = 0xFFFF0000;
	sregs.tr = (struct kvm_segment){.limit = 0xFFFF, .type = 11, .present = 1};
	memset(&regs, 0x55, sizeof(regs));
}

static void teardown(void)
{
	free(ram);
}

TestSuite(boot_cpu, .init = setup, .fini = teardown);

static uint64_t u64_at(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

static void assert_flat(const struct kvm_segment *s, uint16_t sel, uint8_t type, int l, int db)
{
	cr_assert_eq(s->base, 0);
	cr_assert_eq(s->limit, 0xFFFFFFFF);
	cr_assert_eq(s->selector, sel);
	cr_assert_eq(s->type, type);
	cr_assert_eq(s->present, 1);
	cr_assert_eq(s->dpl, 0);
	cr_assert_eq(s->s, 1);
	cr_assert_eq(s->l, l);
	cr_assert_eq(s->db, db);
	cr_assert_eq(s->g, 1);
}

Test(boot_cpu, linux64)
{
	struct boot_entry e = {BOOT_MODE_LINUX64, 0x100200, BOOT_PARAMS_ADDR};

	cr_assert_eq(boot_cpu_setup(&mem, &e, &sregs, &regs), 0);
	assert_flat(&sregs.cs, 0x10, 0xB, 1, 0);
	assert_flat(&sregs.ds, 0x18, 0x3, 0, 1);
	assert_flat(&sregs.es, 0x18, 0x3, 0, 1);
	assert_flat(&sregs.ss, 0x18, 0x3, 0, 1);
	assert_flat(&sregs.fs, 0x18, 0x3, 0, 1);
	assert_flat(&sregs.gs, 0x18, 0x3, 0, 1);
	cr_assert_eq(sregs.cr0, 0x80000031, "PG|NE|ET|PE, CD/NW cleared");
	cr_assert_eq(sregs.cr3, 0x9000);
	cr_assert_eq(sregs.cr4, 0x20);
	cr_assert_eq(sregs.efer, 0x500);
	cr_assert_eq(sregs.gdt.base, 0x500);
	cr_assert_eq(sregs.gdt.limit, 31);
	cr_assert_eq(sregs.idt.base, 0x520);
	cr_assert_eq(sregs.idt.limit, 7);
	cr_assert_eq(sregs.apic_base, 0xFEE00900, "untouched");
	cr_assert_eq(sregs.tr.limit, 0xFFFF, "TR kept as KVM set it");

	cr_assert_eq(regs.rip, 0x100200);
	cr_assert_eq(regs.rsi, BOOT_PARAMS_ADDR);
	cr_assert_eq(regs.rflags, 2);
	cr_assert_eq(regs.rax, 0);
	cr_assert_eq(regs.rbx, 0);
	cr_assert_eq(regs.rsp, 0);

	cr_assert_eq(u64_at(0x500), 0);
	cr_assert_eq(u64_at(0x508), 0);
	cr_assert_eq(u64_at(0x510), 0x00AF9B000000FFFFULL, "64-bit code");
	cr_assert_eq(u64_at(0x518), 0x00CF93000000FFFFULL, "flat data");
	cr_assert_eq(u64_at(0x520), 0, "empty IDT");
}

Test(boot_cpu, linux64_page_tables)
{
	struct boot_entry e = {BOOT_MODE_LINUX64, 0x100200, BOOT_PARAMS_ADDR};

	cr_assert_eq(boot_cpu_setup(&mem, &e, &sregs, &regs), 0);
	cr_assert_eq(u64_at(0x9000), 0xA003);
	cr_assert_eq(u64_at(0x9008), 0, "rest of PML4 empty");
	cr_assert_eq(u64_at(0x9FF8), 0);
	cr_assert_eq(u64_at(0xA000), 0xB003);
	cr_assert_eq(u64_at(0xA008), 0xC003);
	cr_assert_eq(u64_at(0xA010), 0xD003);
	cr_assert_eq(u64_at(0xA018), 0xE003);
	cr_assert_eq(u64_at(0xA020), 0, "only 4 GiB mapped");
	cr_assert_eq(u64_at(0xB000), 0x83, "2 MiB page at 0");
	cr_assert_eq(u64_at(0xB008), 0x200083);
	cr_assert_eq(u64_at(0xC000), 0x40000083, "1 GiB");
	cr_assert_eq(u64_at(0xEFF8), 0xFFE00083, "last 2 MiB below 4 GiB");
	cr_assert_eq(ram[0xF000], FILL_BYTE, "nothing past the last PD");
}

Test(boot_cpu, pvh32)
{
	struct boot_entry e = {BOOT_MODE_PVH32, 0x100010, PVH_START_INFO_ADDR};

	sregs.efer = 0x500;
	sregs.cr4 = 0x20;
	cr_assert_eq(boot_cpu_setup(&mem, &e, &sregs, &regs), 0);
	assert_flat(&sregs.cs, 0x10, 0xB, 0, 1);
	assert_flat(&sregs.ds, 0x18, 0x3, 0, 1);
	assert_flat(&sregs.ss, 0x18, 0x3, 0, 1);
	assert_flat(&sregs.es, 0x18, 0x3, 0, 1);
	cr_assert_eq(sregs.cr0, 0x11, "PE|ET, paging off");
	cr_assert_eq(sregs.cr3, 0);
	cr_assert_eq(sregs.cr4, 0);
	cr_assert_eq(sregs.efer, 0);
	cr_assert_eq(sregs.tr.base, 0);
	cr_assert_eq(sregs.tr.limit, 0x67);
	cr_assert_eq(sregs.tr.type, 11);
	cr_assert_eq(sregs.tr.present, 1);
	cr_assert_eq(sregs.gdt.base, 0x500);
	cr_assert_eq(regs.rip, 0x100010);
	cr_assert_eq(regs.rbx, PVH_START_INFO_ADDR);
	cr_assert_eq(regs.rsi, 0);
	cr_assert_eq(regs.rflags, 2);
	cr_assert_eq(u64_at(0x510), 0x00CF9B000000FFFFULL, "32-bit code");
	cr_assert_eq(u64_at(0x518), 0x00CF93000000FFFFULL);
	cr_assert_eq(ram[0x9000], FILL_BYTE, "no page tables");
}

Test(boot_cpu, errors)
{
	struct boot_entry e = {(enum boot_mode)7, 0x100000, 0};
	struct guest_mem high = {0};

	cr_assert_eq(boot_cpu_setup(&mem, &e, &sregs, &regs), -EINVAL);
	e.mode = BOOT_MODE_LINUX64;
	cr_assert_eq(guest_mem_add_region(&high, 0x100000, ram, MIB(1)), 0);
	cr_assert_eq(boot_cpu_setup(&high, &e, &sregs, &regs), -EFAULT);
	e.mode = BOOT_MODE_PVH32;
	cr_assert_eq(boot_cpu_setup(&high, &e, &sregs, &regs), -EFAULT);
}
