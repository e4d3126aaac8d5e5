/* arm64's side of boot.h and machine.h: the device tree x0 held at entry, and the identity
 * map. Runs before the MMU is on (device memory: no unaligned or exclusive accesses; the
 * runtime is built with -mstrict-align). */
#include "machine.h"

#include "../fdt.h"
#include "platform.h"
#include "string.h"

/* Translation: 4 KiB granule, a 39-bit input space starting at level 1 (T0SZ 25), one table
 * of 512 1 GiB blocks, VA = PA (Arm ARM D8). */
#define T0SZ	     25
#define BLOCK_SHIFT  30
#define NBLOCKS	     512
#define DESC_BLOCK   0x1ULL
#define DESC_ATTR(i) ((uint64_t)(i) << 2)
#define DESC_SH_IN   (3ULL << 8)
#define DESC_AF	     (1ULL << 10)
#define DESC_XN	     (3ULL << 53) /* PXN, UXN */
#define MAIR_DEVICE  0x00ULL	  /* attribute 0: Device-nGnRnE */
#define MAIR_NORMAL  0xffULL	  /* attribute 1: Normal, write-back, read/write-allocate */
#define TCR_FLAGS                                                                                  \
	(T0SZ | 1ULL << 8 /* IRGN0 WB */ | 1ULL << 10 /* ORGN0 WB */ | 3ULL << 12 /* inner         \
	 shareable */                                                                              \
	 | 1ULL << 23 /* EPD1: no TTBR1 walks */)
#define SCTLR_M (1ULL << 0)
#define SCTLR_A (1ULL << 1)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)

struct machine machine = {.cmdline = ""};
static struct dt tree;
static bool have_tree;
static uint64_t l1_table[NBLOCKS] __attribute__((aligned(4096)));
static uint64_t mmu_tcr, mmu_mair, mmu_ttbr;

static unsigned root_cells(const char *name, unsigned dflt)
{
	return dt_u32(&tree, dt_path(&tree, "/"), name, dflt);
}

static void read_memory(unsigned ac, unsigned sc)
{
	int depth = 0;

	for (int off = dt_next_node(&tree, -1, &depth); off >= 0;
	     off = dt_next_node(&tree, off, &depth)) {
		const char *name = dt_name(&tree, off);
		uint32_t len;
		const uint8_t *reg = dt_prop(&tree, off, "reg", &len);
		if (depth != 1 || strncmp(name, "memory", 6) || !reg)
			continue;
		for (uint32_t at = 0; at + 4 * (ac + sc) <= len && machine.nram < MACHINE_MAX_RAM;
		     at += 4 * (ac + sc)) {
			machine.ram[machine.nram].base = dt_cells(reg + at, ac);
			machine.ram[machine.nram].size = dt_cells(reg + at + 4 * ac, sc);
			machine.nram++;
		}
	}
}

static void read_cpus(void)
{
	int cpus = dt_path(&tree, "/cpus"), depth = 1;
	unsigned ac = dt_u32(&tree, cpus, "#address-cells", 1);

	if (cpus < 0)
		return;
	for (int off = dt_next_node(&tree, cpus, &depth); off >= 0 && depth > 1;
	     off = dt_next_node(&tree, off, &depth)) {
		uint32_t len;
		const uint8_t *reg = dt_prop(&tree, off, "reg", &len);
		if (depth == 2 && !strncmp(dt_name(&tree, off), "cpu@", 4) && reg &&
		    len == 4 * ac && machine.ncpus < MACHINE_MAX_CPUS)
			machine.mpidr[machine.ncpus++] = dt_cells(reg, ac);
	}
}

static uint64_t reg_of(const char *compat, unsigned index, uint64_t *size, unsigned ac, unsigned sc)
{
	uint32_t len;
	int off = dt_find_compatible(&tree, -1, compat);
	const uint8_t *reg = off >= 0 ? dt_prop(&tree, off, "reg", &len) : NULL;
	uint32_t at = index * 4 * (ac + sc);

	if (!reg || at + 4 * (ac + sc) > len)
		return 0;
	if (size)
		*size = dt_cells(reg + at + 4 * ac, sc);
	return dt_cells(reg + at, ac);
}

static void read_tree(void)
{
	unsigned ac = root_cells("#address-cells", 2), sc = root_cells("#size-cells", 1);
	uint32_t len;
	int off;

	const char *args = dt_prop(&tree, dt_path(&tree, "/chosen"), "bootargs", &len);
	if (args && len > 0 && args[len - 1] == '\0')
		machine.cmdline = args;
	read_memory(ac, sc);
	read_cpus();
	machine.uart = reg_of("arm,pl011", 0, NULL, ac, sc);
	machine.gicd = reg_of("arm,gic-v3", 0, NULL, ac, sc);
	machine.gicr = reg_of("arm,gic-v3", 1, &machine.gicr_size, ac, sc);
	if (!machine.gicd) { /* a GICv2: distributor, CPU interface */
		machine.gicd = reg_of("arm,cortex-a15-gic", 0, NULL, ac, sc);
		machine.gicc = reg_of("arm,cortex-a15-gic", 1, NULL, ac, sc);
	}
	off = dt_find_compatible(&tree, -1, "arm,armv8-timer");
	const uint8_t *irqs = off >= 0 ? dt_prop(&tree, off, "interrupts", &len) : NULL;
	if (irqs && len >= 36) /* secure, non-secure, virtual, hyp: <type number flags> each */
		machine.vtimer_ppi = 16 + dt_cells(irqs + 28, 1);
	off = dt_path(&tree, "/psci");
	const char *method = off >= 0 ? dt_prop(&tree, off, "method", &len) : NULL;
	machine.psci_hvc = method && len == 4 && !strcmp(method, "hvc");
}

static bool block_is_ram(uint64_t base)
{
	for (unsigned i = 0; i < machine.nram; i++) {
		uint64_t s = machine.ram[i].base, e = s + machine.ram[i].size;
		if (base < e && base + (1ULL << BLOCK_SHIFT) > s)
			return true;
	}
	return false;
}

static void build_map(uint64_t image)
{
	unsigned pa_bits[] = {32, 36, 40, 42, 44, 48, 52};
	unsigned parange = read_sysreg(id_aa64mmfr0_el1) & 0xf;
	unsigned ips = parange < 6 ? parange : 5;
	uint64_t blocks = pa_bits[ips] - BLOCK_SHIFT >= 9 ? NBLOCKS : 1ULL << (pa_bits[ips] - 30);

	for (uint64_t i = 0; i < blocks; i++) {
		uint64_t base = i << BLOCK_SHIFT;
		bool ram = block_is_ram(base) || (image >> BLOCK_SHIFT) == i;
		l1_table[i] = base | DESC_BLOCK | DESC_AF |
			      (ram ? DESC_ATTR(1) | DESC_SH_IN : DESC_ATTR(0) | DESC_XN);
	}
	mmu_mair = MAIR_DEVICE | MAIR_NORMAL << 8;
	mmu_tcr = TCR_FLAGS | (uint64_t)ips << 32;
	mmu_ttbr = (uint64_t)(uintptr_t)l1_table;
}

void boot_early(uint64_t dtb)
{
	machine.dtb = dtb;
	have_tree = dt_open(&tree, dtb, 1u << 21) == 0;
	if (have_tree)
		read_tree();
	build_map((uint64_t)(uintptr_t)&machine);
}

void mmu_enable(void)
{
	write_sysreg(mair_el1, mmu_mair);
	write_sysreg(tcr_el1, mmu_tcr);
	write_sysreg(ttbr0_el1, mmu_ttbr);
	__asm__ volatile("isb; tlbi vmalle1; dsb nsh; isb" ::: "memory");
	uint64_t sctlr = read_sysreg(sctlr_el1);
	write_sysreg(sctlr_el1, (sctlr | SCTLR_M | SCTLR_C | SCTLR_I) & ~SCTLR_A);
	__asm__ volatile("isb" ::: "memory");
}

uint64_t machine_ram_total(void)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < machine.nram; i++)
		total += machine.ram[i].size;
	return total;
}

int machine_cpu_index(uint64_t mpidr)
{
	for (unsigned i = 0; i < machine.ncpus; i++) {
		if (machine.mpidr[i] == mpidr)
			return (int)i;
	}
	return -1;
}

/* ---- platform.h's memory questions ---- */

/* Block i becomes Normal memory: break-before-make (Arm ARM D8.14.1), the old entry invalid and
 * its TLB entries gone before the new one is written. */
static void block_make_normal(uint64_t i)
{
	uint64_t base = i << BLOCK_SHIFT;

	l1_table[i] = 0;
	__asm__ volatile("dsb ishst; tlbi vmalle1is; dsb ish; isb" ::: "memory");
	l1_table[i] = base | DESC_BLOCK | DESC_AF | DESC_ATTR(1) | DESC_SH_IN;
	__asm__ volatile("dsb ishst; isb" ::: "memory");
}

bool platform_mem_map(uint64_t start, uint64_t len)
{
	uint64_t first = start >> BLOCK_SHIFT, last;

	if (!len || start + len < start)
		return false;
	last = (start + len - 1) >> BLOCK_SHIFT;
	if (last >= NBLOCKS || !(l1_table[last] & DESC_BLOCK))
		return false; /* past the map (the CPU's PA size) */
	for (uint64_t i = first; i <= last; i++) {
		if ((l1_table[i] & DESC_ATTR(7)) != DESC_ATTR(1))
			block_make_normal(i);
	}
	return true;
}

uint64_t platform_pmem_floor(void)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < machine.nram; i++) {
		if (machine.ram[i].base + machine.ram[i].size > end)
			end = machine.ram[i].base + machine.ram[i].size;
	}
	return end;
}

/* ---- boot.h ---- */

const char *boot_cmdline(void)
{
	return machine.cmdline;
}

bool boot_is_ram(uint64_t start, uint64_t len)
{
	for (unsigned i = 0; i < machine.nram; i++) {
		if (machine.ram[i].base <= start &&
		    start - machine.ram[i].base <= machine.ram[i].size &&
		    len <= machine.ram[i].size - (start - machine.ram[i].base))
			return true;
	}
	return false;
}

uint64_t boot_ram_base(void)
{
	uint64_t image = (uint64_t)(uintptr_t)&machine;

	for (unsigned i = 0; i < machine.nram; i++) {
		if (image - machine.ram[i].base < machine.ram[i].size)
			return machine.ram[i].base;
	}
	return 0;
}

uint64_t boot_vmgenid(void)
{
	struct dt t;
	uint32_t len;
	const uint8_t *reg;
	int off;

	if (boot_dt(&t) || (off = dt_find_compatible(&t, -1, "microsoft,vmgenid")) < 0)
		return 0;
	reg = dt_prop(&t, off, "reg", &len);
	return reg && len >= 16 ? dt_cells(reg, 2) : 0;
}

/* Below the device tree when it is at the top (our VMM puts it in RAM's last pages): the
 * command line stays in it. */
uint64_t boot_ram_top(void)
{
	uint64_t image = (uint64_t)(uintptr_t)&machine, top;

	for (unsigned i = 0; i < machine.nram; i++) {
		if (image - machine.ram[i].base >= machine.ram[i].size)
			continue;
		top = machine.ram[i].base + machine.ram[i].size;
		return machine.dtb > image && machine.dtb < top ? machine.dtb & ~0xfffULL : top;
	}
	return 0;
}

int boot_dt(struct dt *t)
{
	if (!have_tree)
		return -1;
	*t = tree;
	return 0;
}
