/* pci_enum.h on arm64: the device tree's pci-host-ecam-generic node (Linux
 * Documentation/devicetree/bindings/pci/host-generic-pci.yaml, pci/pci-msi.txt, the IEEE 1275 PCI
 * bus binding) as runtime/aarch64/pci_dt.c reads it, checked against itself and the machine:
 *   - the node: device_type "pci", 3 address and 2 size cells, 1 interrupt cell;
 *   - reg (ECAM) 1 MiB-aligned, as large as bus-range (which starts at bus 0: the walk's);
 *   - ranges: I/O, 32-bit and 64-bit memory windows of non-zero size, memory windows mapped 1:1,
 *     the 32-bit one below 4 GiB, none overlapping another or the ECAM; every memory BAR inside
 *     a window of its kind (a 64-bit BAR may sit in the 32-bit window);
 *   - interrupt-map: every entry a level, active-high SPI of the GIC the root names, an SPI the
 *     distributor implements (GICD_TYPER); the entry of each function's INTx pin found under
 *     interrupt-map-mask; our VMM (`vmm`): the mask <0xf800 0 0 7>, the SPI is the interrupt
 *     line register, and every entry (a boot device's INTA; every pin of a slot a device may be
 *     hot-plugged into, vmm/vm/hotplug.c) is a slot 1-31 of bus 0, each (slot, pin) once, on
 *     SPI PCI_INTX_SPI_BASE + (slot + pin - 1) % 4 (the swizzle, devices/pci/pci.h);
 *   - msi-map (our VMM: not msi-parent) names the ITS node (arm,gic-v3-its, msi-controller,
 *     #msi-cells 1) for every requester ID of bus-range, and that ITS answers (GITS_PIDR2's
 *     architecture revision 3 or 4, GITS_TYPER.Physical). */
#include "../pci_enum.h"
#include "guest.h"
#include "pci_dt.h"

#define ECAM_BUS_SIZE	  (1ULL << 20)
#define FOUR_GIB	  0x100000000ULL
#define MAP_TOP		  (512ULL << 30) /* boot.c's identity map: 512 blocks of 1 GiB */
#define PCI_INTX_SPI_BASE 12		 /* our VMM: base/aarch64/arch/layout.h */
#define GIC_LEVEL_HIGH	  4		 /* the GIC binding's flags cell */
#define GICD_TYPER	  0x0004
#define GITS_TYPER	  0x0008
#define GITS_PIDR2	  0xffe8

static const struct pci_dt *p;
static uint32_t gic_phandle;
static unsigned gic_intids; /* INTIDs the distributor implements: 32 (ITLinesNumber + 1) */
static bool used[PCI_DT_MAX_INTX];

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The GIC the root's interrupt-parent names: its phandle and GICD_TYPER (the distributor is the
 * first reg of a GICv3 and of a GICv2). */
static void read_gic(const struct dt *t)
{
	uint32_t len;
	int gic;
	const uint8_t *reg;

	gic_phandle = dt_u32(t, 0, "interrupt-parent", 0);
	gic = dt_by_phandle(t, gic_phandle);
	TEST_ASSERT_MSG(gic >= 0 && (dt_compatible(t, gic, "arm,gic-v3") ||
				     dt_compatible(t, gic, "arm,cortex-a15-gic")),
			"the root's interrupt-parent %u is no GIC", gic_phandle);
	reg = dt_prop(t, gic, "reg", &len);
	TEST_ASSERT(reg && len >= 16);
	gic_intids = 32 * ((mmio_read32(dt_cells(reg, 2) + GICD_TYPER) & 0x1f) + 1);
}

static void check_node(const struct dt *t, int node)
{
	uint32_t len;
	const char *type = dt_prop(t, node, "device_type", &len);

	TEST_ASSERT_MSG(type && !strcmp(type, "pci"), "device_type is not \"pci\"");
	TEST_ASSERT_EQ(dt_u32(t, node, "#address-cells", 0), 3);
	TEST_ASSERT_EQ(dt_u32(t, node, "#size-cells", 0), 2);
	if (dt_prop(t, node, "interrupt-map", &len))
		TEST_ASSERT_EQ(dt_u32(t, node, "#interrupt-cells", 0), 1);
	if (pci_enum_strict) /* the VMM's DMA is coherent (fdt_aarch64.c) */
		TEST_ASSERT_MSG(dt_prop(t, node, "dma-coherent", &len), "no dma-coherent");
}

static void check_ecam(void)
{
	uint64_t buses = (uint64_t)p->bus_last - p->bus_first + 1;

	TEST_ASSERT_MSG(p->ecam % ECAM_BUS_SIZE == 0, "ECAM at 0x%llx",
			(unsigned long long)p->ecam);
	TEST_ASSERT_MSG(p->bus_first == 0 && p->bus_last >= p->bus_first && p->bus_last <= 255,
			"bus-range <%u %u>", p->bus_first, p->bus_last);
	TEST_ASSERT_MSG(p->ecam_size >= buses * ECAM_BUS_SIZE, "ECAM 0x%llx bytes for %llu buses",
			(unsigned long long)p->ecam_size, (unsigned long long)buses);
	if (pci_enum_strict)
		TEST_ASSERT_EQ(p->ecam_size, buses * ECAM_BUS_SIZE);
	TEST_ASSERT(pci_enum_arch_mapped(p->ecam, p->ecam_size));
}

static void check_ranges(void)
{
	bool mem32 = false;

	TEST_ASSERT_MSG(p->nranges > 0, "no ranges");
	for (unsigned i = 0; i < p->nranges; i++) {
		const struct pci_dt_range *r = &p->ranges[i];

		printf("ranges: space %u, PCI 0x%llx -> 0x%llx, 0x%llx bytes\n", r->space,
		       (unsigned long long)r->child, (unsigned long long)r->cpu,
		       (unsigned long long)r->size);
		TEST_ASSERT_MSG(r->space >= PCI_DT_SPACE_IO && r->space <= PCI_DT_SPACE_MEM64 &&
				    r->size,
				"ranges entry %u: space %u, size 0x%llx", i, r->space,
				(unsigned long long)r->size);
		TEST_ASSERT_MSG(!overlap(r->cpu, r->size, p->ecam, p->ecam_size),
				"ranges entry %u overlaps the ECAM", i);
		for (unsigned j = 0; j < i; j++)
			TEST_ASSERT_MSG(
			    !overlap(r->cpu, r->size, p->ranges[j].cpu, p->ranges[j].size),
			    "ranges entries %u and %u overlap", j, i);
		if (r->space == PCI_DT_SPACE_IO)
			continue;
		TEST_ASSERT_MSG(r->child == r->cpu, "memory window %u is not 1:1", i);
		if (r->space == PCI_DT_SPACE_MEM32) {
			TEST_ASSERT_MSG(r->child + r->size <= FOUR_GIB,
					"32-bit window above 4 GiB");
			mem32 = true;
		}
	}
	TEST_ASSERT_MSG(mem32, "no 32-bit memory window");
}

void pci_enum_arch_setup(void)
{
	struct dt t;
	int node;

	p = pci_dt();
	if (!p->present) {
		printf("no pci-host-ecam-generic node: bus 0 reads all-ones\n");
		return;
	}
	TEST_ASSERT(boot_dt(&t) == 0);
	node = dt_find_compatible(&t, -1, "pci-host-ecam-generic");
	read_gic(&t);
	check_node(&t, node);
	printf("ECAM at 0x%llx, 0x%llx bytes, buses %u-%u; %u interrupt-map entries, GIC %u "
	       "INTIDs\n",
	       (unsigned long long)p->ecam, (unsigned long long)p->ecam_size, p->bus_first,
	       p->bus_last, p->nintx, gic_intids);
	check_ecam();
	check_ranges();
}

bool pci_enum_arch_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t *v)
{
	(void)bus, (void)dev, (void)fn, (void)off, (void)v;
	return false; /* ECAM is the only way in */
}

void pci_enum_arch_check_bar(const struct pci_enum_func *f, unsigned i)
{
	const struct pci_enum_bar *b = &f->bars[i];

	for (unsigned k = 0; k < p->nranges; k++) {
		const struct pci_dt_range *r = &p->ranges[k];
		bool kind =
		    r->space == PCI_DT_SPACE_MEM32 || (b->is64 && r->space == PCI_DT_SPACE_MEM64);

		if (kind && b->addr >= r->child && b->addr + b->size <= r->child + r->size)
			return;
	}
	TEST_ASSERT_MSG(false, "00:%02x.%x BAR %u (0x%llx, 0x%llx bytes) in no window of ranges",
			f->dev, f->fn, i, (unsigned long long)b->addr, (unsigned long long)b->size);
}

bool pci_enum_arch_mapped(uint64_t addr, uint64_t len)
{
	return addr + len >= addr && addr + len <= MAP_TOP;
}

void pci_enum_arch_check_intx(const struct pci_enum_func *f, uint8_t pin, uint8_t line)
{
	const struct pci_dt_intx *x = pci_dt_intx_of(f->dev, f->fn, pin);

	printf("  INT%c, line %u; interrupt-map: ", 'A' + pin - 1, line);
	if (x)
		printf("SPI %u flags 0x%x\n", x->spi, x->flags);
	else
		printf("no entry\n");
	TEST_ASSERT_MSG(x, "no interrupt-map entry for 00:%02x.%x INT%c", f->dev, f->fn,
			'A' + pin - 1);
	used[x - p->intx] = true;
	if (pci_enum_strict) {
		TEST_ASSERT_EQ(p->mask_hi, 0xf800);
		TEST_ASSERT_EQ(p->mask_pin, 7);
		TEST_ASSERT_EQ(line, PCI_INTX_SPI_BASE + (f->dev + pin - 1) % 4);
		TEST_ASSERT_EQ(x->spi, line);
	}
}

/* Our VMM's entry `i`: bus 0, function 0 of slot 1-31, pin 1-4, the swizzled SPI, no other entry
 * for the same slot and pin. */
static void check_vmm_intx(unsigned i)
{
	const struct pci_dt_intx *x = &p->intx[i];
	unsigned slot = (x->hi >> 11) & 31;

	TEST_ASSERT_MSG((x->hi & ~0xf800u) == 0 && slot >= 1 && x->pin >= 1 && x->pin <= 4,
			"entry %u: phys.hi 0x%x pin %u", i, x->hi, x->pin);
	TEST_ASSERT_MSG(x->spi == PCI_INTX_SPI_BASE + (slot + x->pin - 1) % 4,
			"entry %u: slot %u INT%c on SPI %u, not the swizzled one", i, slot,
			'A' + x->pin - 1, x->spi);
	for (unsigned j = 0; j < i; j++)
		TEST_ASSERT_MSG(p->intx[j].hi != x->hi || p->intx[j].pin != x->pin,
				"entries %u and %u: both slot %u INT%c", j, i, slot,
				'A' + x->pin - 1);
}

/* Every interrupt-map entry a usable SPI (our VMM: laid out as check_vmm_intx() says). */
static void check_intx_map(void)
{
	unsigned found = 0;

	TEST_ASSERT_MSG(!p->intx_bad, "an interrupt-map entry is malformed or not a GIC SPI");
	for (unsigned i = 0; i < p->nintx; i++) {
		const struct pci_dt_intx *x = &p->intx[i];

		TEST_ASSERT_MSG(x->parent == gic_phandle, "entry %u: parent %u, not the GIC", i,
				x->parent);
		TEST_ASSERT_MSG(x->flags == GIC_LEVEL_HIGH, "entry %u: flags 0x%x, not level-high",
				i, x->flags);
		TEST_ASSERT_MSG(32 + x->spi < gic_intids, "entry %u: SPI %u, the GIC has %u INTIDs",
				i, x->spi, gic_intids);
		if (pci_enum_strict)
			check_vmm_intx(i);
		found += used[i];
	}
	printf("interrupt-map: %u entries, %u of them the functions' pins\n", p->nintx, found);
}

/* msi-map (or msi-parent) and the ITS node it must name. */
static void check_msi(void)
{
	struct dt t;
	uint32_t len;
	int its;
	const uint8_t *reg;
	uint32_t pidr2;

	TEST_ASSERT(boot_dt(&t) == 0);
	its = dt_find_compatible(&t, -1, "arm,gic-v3-its");
	if (its < 0) {
		TEST_ASSERT_MSG(!p->msi_map, "an msi-map without an ITS");
		printf("no ITS: INTx only\n");
		return;
	}
	reg = dt_prop(&t, its, "reg", &len);
	TEST_ASSERT(reg && len >= 16 && dt_prop(&t, its, "msi-controller", &len));
	TEST_ASSERT_EQ(dt_u32(&t, its, "#msi-cells", 0), 1);
	TEST_ASSERT_MSG(p->its && p->its == dt_cells(reg, 2),
			"msi-map names 0x%llx, the ITS is "
			"at 0x%llx",
			(unsigned long long)p->its, (unsigned long long)dt_cells(reg, 2));
	if (pci_enum_strict)
		TEST_ASSERT_MSG(p->msi_map, "msi-parent, not msi-map");
	if (p->msi_map)
		TEST_ASSERT_MSG(p->rid_base <= p->bus_first << 8 &&
				    (uint64_t)p->rid_base + p->msi_len >= (p->bus_last + 1) << 8,
				"msi-map covers RIDs 0x%x+0x%x, not buses %u-%u", p->rid_base,
				p->msi_len, p->bus_first, p->bus_last);
	pidr2 = mmio_read32(p->its + GITS_PIDR2);
	TEST_ASSERT_MSG(((pidr2 >> 4) & 0xf) == 3 || ((pidr2 >> 4) & 0xf) == 4,
			"GITS_PIDR2 0x%x: not a GICv3/v4 ITS", pidr2);
	TEST_ASSERT_MSG(mmio_read64(p->its + GITS_TYPER) & 1, "GITS_TYPER: no physical LPIs");
	printf("msi-map: RIDs 0x%x+0x%x -> ITS 0x%llx (DeviceID base 0x%x), GITS_PIDR2 0x%x\n",
	       p->rid_base, p->msi_len, (unsigned long long)p->its, p->msi_base, pidr2);
}

void pci_enum_arch_finish(void)
{
	if (!p->present)
		return;
	check_intx_map();
	check_msi();
}
