/* Checks the CPU state startup_64 found (entry_state) against boot.rst, "64-bit Boot Protocol":
 *  - 64-bit mode with paging on (EFER.LMA, CR0.PG/PE, CR4.PAE), interrupts disabled;
 *  - a GDT with __BOOT_CS (0x10, flat, execute/read, 64-bit) and __BOOT_DS (0x18, flat,
 *    read/write); CS = __BOOT_CS and DS, ES, SS = __BOOT_DS;
 *  - RSI = the zero page (and = zero_page=ADDR from the command line, when given);
 *  - the kernel's [load address, + init_size), the zero page and the command line identity
 *    mapped by the loader's page tables (writable: the kernel writes into all three). */
#include "bzimage.h"

#include "guest.h"

/* SDM vol. 3 section 2.2.1 / 2.5 (segments.h has int versions, unfit for 64-bit masks) */
#define LONG_MODE_EFER	((1ULL << 8) | (1ULL << 10)) /* EFER.LME | EFER.LMA */
#define PAGING_CR0	((1ULL << 31) | (1ULL << 0)) /* CR0.PG | CR0.PE */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000FFFFFFFFFF000ULL
#define REACHABLE_LIMIT 0x100000000ULL
#define NOT_MAPPED	(~0ULL)
#define ZERO_PAGE_SIZE	4096

struct mapping {
	uint64_t paddr;
	uint64_t page_size;
	bool writable;
};

/* Walks 4-level page tables (SDM vol. 3 section 4.5) for `va`; 1 GiB and 2 MiB pages allowed.
 * Returns false if some level is not present or lies where we cannot read it. */
static bool translate(uint64_t cr3, uint64_t va, struct mapping *m)
{
	uint64_t table = cr3 & PTE_ADDR;

	m->writable = true;
	for (int level = 3; level >= 0; level--) {
		unsigned shift = 12 + 9 * (unsigned)level;
		const uint64_t *t;
		uint64_t e;

		if (table >= REACHABLE_LIMIT)
			return false;
		t = phys_ptr(table);
		e = t[(va >> shift) & 511];
		if (!(e & PTE_P))
			return false;
		m->writable = m->writable && (e & PTE_RW);
		if (level == 0 || ((level == 1 || level == 2) && (e & PTE_PS))) {
			m->page_size = 1ULL << shift;
			m->paddr = (e & PTE_ADDR & ~(m->page_size - 1)) | (va & (m->page_size - 1));
			return true;
		}
		table = e & PTE_ADDR;
	}
	return false;
}

static void check_identity(uint64_t cr3, const char *what, uint64_t addr, uint64_t len)
{
	uint64_t a = addr & ~0xFFFULL, end = addr + len;
	struct mapping m;

	while (a < end) {
		TEST_ASSERT_MSG(translate(cr3, a, &m), "%s: 0x%llx not mapped by the loader", what,
				(unsigned long long)a);
		TEST_ASSERT_MSG(m.paddr == a, "%s: 0x%llx maps to 0x%llx, not identity", what,
				(unsigned long long)a, (unsigned long long)m.paddr);
		TEST_ASSERT_MSG(m.writable, "%s: 0x%llx is mapped read-only", what,
				(unsigned long long)a);
		a = (a & ~(m.page_size - 1)) + m.page_size;
	}
	printf("entry: %s [0x%llx, 0x%llx) identity mapped\n", what, (unsigned long long)addr,
	       (unsigned long long)end);
}

/* Segment descriptor fields, SDM vol. 3 figure 3-8. */
static void check_descriptor(uint64_t gdt_base, uint16_t gdt_limit, uint16_t sel, bool code)
{
	uint64_t d, base, limit;
	unsigned type;

	TEST_ASSERT_MSG(sel + 7u <= gdt_limit, "GDT limit 0x%x does not cover selector 0x%x",
			gdt_limit, sel);
	d = *(const uint64_t *)phys_ptr(gdt_base + sel);
	base = ((d >> 16) & 0xFFFFFF) | ((d >> 56) << 24);
	limit = (d & 0xFFFF) | (((d >> 48) & 0xF) << 16);
	type = (unsigned)(d >> 40) & 0xF;
	printf("entry: GDT[0x%x] = 0x%016llx\n", sel, (unsigned long long)d);
	TEST_ASSERT_MSG((d >> 47) & 1, "selector 0x%x: not present", sel);
	TEST_ASSERT_MSG((d >> 44) & 1, "selector 0x%x: not a code/data descriptor", sel);
	TEST_ASSERT_MSG(((d >> 45) & 3) == 0, "selector 0x%x: DPL not 0", sel);
	TEST_ASSERT_MSG(base == 0 && limit == 0xFFFFF && ((d >> 55) & 1),
			"selector 0x%x: not 4G flat (base 0x%llx limit 0x%llx G %u)", sel,
			(unsigned long long)base, (unsigned long long)limit,
			(unsigned)(d >> 55) & 1);
	if (code) {
		TEST_ASSERT_MSG((type & 0xA) == 0xA, "__BOOT_CS type 0x%x: not execute/read", type);
		TEST_ASSERT_MSG(((d >> 53) & 1) && !((d >> 54) & 1),
				"__BOOT_CS: not a 64-bit code segment (L=1, D=0)");
	} else {
		TEST_ASSERT_MSG((type & 0xA) == 0x2, "__BOOT_DS type 0x%x: not read/write data",
				type);
	}
}

static void check_modes(void)
{
	uint64_t efer = entry_state[ES_EFER], cr0 = entry_state[ES_CR0];

	printf("entry: CR0 0x%llx CR3 0x%llx CR4 0x%llx EFER 0x%llx RFLAGS 0x%llx\n",
	       (unsigned long long)cr0, (unsigned long long)entry_state[ES_CR3],
	       (unsigned long long)entry_state[ES_CR4], (unsigned long long)efer,
	       (unsigned long long)entry_state[ES_RFLAGS]);
	TEST_ASSERT_MSG((efer & LONG_MODE_EFER) == LONG_MODE_EFER, "not in long mode: EFER 0x%llx",
			(unsigned long long)efer);
	TEST_ASSERT_MSG((cr0 & PAGING_CR0) == PAGING_CR0, "paging/protection off: CR0 0x%llx",
			(unsigned long long)cr0);
	TEST_ASSERT(entry_state[ES_CR4] & CR4_PAE);
	TEST_ASSERT_MSG(!(entry_state[ES_RFLAGS] & RFLAGS_IF), "interrupts enabled at entry");
}

static void check_segments(void)
{
	const uint8_t *gdtr = (const uint8_t *)&entry_state[ES_GDTR];
	uint16_t limit = (uint16_t)(gdtr[0] | gdtr[1] << 8);
	uint64_t base;

	memcpy(&base, gdtr + 2, sizeof(base));
	printf("entry: CS 0x%llx DS 0x%llx ES 0x%llx SS 0x%llx GDT 0x%llx limit 0x%x\n",
	       (unsigned long long)entry_state[ES_CS], (unsigned long long)entry_state[ES_DS],
	       (unsigned long long)entry_state[ES_ES], (unsigned long long)entry_state[ES_SS],
	       (unsigned long long)base, limit);
	TEST_ASSERT_EQ(entry_state[ES_CS], BZ_BOOT_CS);
	TEST_ASSERT_EQ(entry_state[ES_DS], BZ_BOOT_DS);
	TEST_ASSERT_EQ(entry_state[ES_ES], BZ_BOOT_DS);
	TEST_ASSERT_EQ(entry_state[ES_SS], BZ_BOOT_DS);
	TEST_ASSERT_MSG(base < REACHABLE_LIMIT - 0x10000, "GDT at 0x%llx: out of reach",
			(unsigned long long)base);
	check_descriptor(base, limit, BZ_BOOT_CS, true);
	check_descriptor(base, limit, BZ_BOOT_DS, false);
}

static void check_rsi(const struct boot_params *bp)
{
	uint64_t rsi = entry_state[ES_RSI], want;

	printf("entry: RSI 0x%llx\n", (unsigned long long)rsi);
	TEST_ASSERT_MSG(bp, "RSI 0x%llx is not a usable zero page address",
			(unsigned long long)rsi);
	TEST_ASSERT_MSG(bp->hdr.header == 0x53726448, "no \"HdrS\" in the zero page at RSI");
	if (cmdline_get_u64("zero_page", &want))
		TEST_ASSERT_EQ(rsi, want);
}

void check_entry_state(const struct boot_params *bp)
{
	uint64_t cr3 = entry_state[ES_CR3];

	check_modes();
	check_segments();
	check_rsi(bp);
	check_identity(cr3, "kernel + init_size", BZ_LOAD_ADDR, (uintptr_t)__bz_init_size);
	check_identity(cr3, "zero page", entry_state[ES_RSI], ZERO_PAGE_SIZE);
	if (bp->hdr.cmd_line_ptr)
		check_identity(cr3, "command line", bp->hdr.cmd_line_ptr,
			       strlen(phys_ptr(bp->hdr.cmd_line_ptr)) + 1);
}
