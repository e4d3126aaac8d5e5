/* The device tree's PCI host bridge (pci_dt.h). */
#include "pci_dt.h"

#include "../boot.h"
#include "printf.h"
#include "string.h"

#define SPACE(hi)   (((hi) >> 24) & 3) /* phys.hi space code: 1 I/O, 2 mem32, 3 mem64 */
#define SPACE_MEM32 2
#define GIC_SPI	    0 /* GIC specifier type */
#define CHILD_ADDR  3 /* PCI #address-cells */
#define CHILD_SIZE  2

static struct pci_dt host;

struct cells {
	unsigned ac, sc; /* the root's #address-cells, #size-cells */
};

/* reg[index] of the first node compatible with `compat` in the root's cells, or 0. */
static uint64_t reg_of(const struct dt *t, const char *compat, const struct cells *c)
{
	uint32_t len;
	int off = dt_find_compatible(t, -1, compat);
	const uint8_t *reg = off >= 0 ? dt_prop(t, off, "reg", &len) : NULL;

	return reg && len >= 4 * (c->ac + c->sc) ? dt_cells(reg, c->ac) : 0;
}

/* ranges = <phys.hi phys.mid phys.lo, parent address, size>: every window kept, the first 32-bit
 * memory window for BAR placement. */
static void read_ranges(const struct dt *t, int node, const struct cells *c)
{
	uint32_t len, step = 4 * (CHILD_ADDR + c->ac + CHILD_SIZE);
	const uint8_t *r = dt_prop(t, node, "ranges", &len);

	for (uint32_t at = 0; r && at + step <= len && host.nranges < PCI_DT_MAX_RANGES;
	     at += step) {
		struct pci_dt_range w = {SPACE(dt_cells(r + at, 1)), dt_cells(r + at + 4, 2),
					 dt_cells(r + at + 4 * CHILD_ADDR, c->ac),
					 dt_cells(r + at + 4 * (CHILD_ADDR + c->ac), CHILD_SIZE)};
		host.ranges[host.nranges++] = w;
		if (w.space != PCI_DT_SPACE_MEM32 || host.mem32_size)
			continue;
		host.mem32 = w.cpu;
		host.mem32_size = w.size;
	}
}

/* The reg of the node `phandle` names, in its parent's cells, when it is `compat`; else 0. */
static uint64_t msi_reg(const struct dt *t, uint32_t phandle, const char *compat)
{
	uint32_t len;
	int node = dt_by_phandle(t, phandle), parent = dt_parent(t, node);
	unsigned ac = dt_u32(t, parent, "#address-cells", 2);
	const uint8_t *reg = node >= 0 ? dt_prop(t, node, "reg", &len) : NULL;

	if (!reg || !dt_compatible(t, node, compat) || len < 4 * ac)
		return 0;
	return dt_cells(reg, ac);
}

/* msi-map = <rid-base phandle msi-base length> (the first entry), or msi-parent = <phandle>
 * (DeviceID = RID): an ITS, or a GICv2m frame (QEMU's virt names it in msi-map, our VMM in
 * msi-parent; DeviceIDs mean nothing to it). */
static void read_msi(const struct dt *t, int node)
{
	uint32_t len;
	const uint8_t *map = dt_prop(t, node, "msi-map", &len);
	uint32_t phandle;

	if (map && len >= 16) {
		host.msi_map = true;
		host.rid_base = (uint32_t)dt_cells(map, 1);
		host.msi_base = (uint32_t)dt_cells(map + 8, 1);
		host.msi_len = (uint32_t)dt_cells(map + 12, 1);
		phandle = (uint32_t)dt_cells(map + 4, 1);
	} else {
		phandle = dt_u32(t, node, "msi-parent", 0);
	}
	host.its = msi_reg(t, phandle, "arm,gic-v3-its");
	if (!host.its)
		host.v2m = msi_reg(t, phandle, "arm,gic-v2m-frame");
}

/* One interrupt-map entry at `e`: <phys.hi mid lo, pin, parent phandle, parent address,
 * parent specifier>; returns its length in bytes (0: malformed). Kept when it is a GIC SPI. */
static uint32_t read_intx(const struct dt *t, const uint8_t *e, uint32_t left)
{
	uint32_t head = 4 * (CHILD_ADDR + 2);
	uint32_t phandle = left >= head ? (uint32_t)dt_cells(e + 16, 1) : 0;
	int parent = phandle ? dt_by_phandle(t, phandle) : -1;
	unsigned pac = dt_u32(t, parent, "#address-cells", 0);
	unsigned pic = dt_u32(t, parent, "#interrupt-cells", 3);
	uint32_t size = head + 4 * (pac + pic);
	const uint8_t *spec = e + head + 4 * pac;

	if (parent < 0 || size > left || pic != 3)
		return 0;
	if (dt_cells(spec, 1) != GIC_SPI || host.nintx == PCI_DT_MAX_INTX)
		host.intx_bad = true; /* a PCI line is an SPI: nothing else is kept */
	else
		host.intx[host.nintx++] = (struct pci_dt_intx){
		    (uint32_t)dt_cells(e, 1), (uint32_t)dt_cells(e + 12, 1),
		    (uint32_t)dt_cells(spec + 4, 1), (uint32_t)dt_cells(spec + 8, 1), phandle};
	return size;
}

static void read_intx_map(const struct dt *t, int node)
{
	uint32_t len, mlen, size;
	const uint8_t *map = dt_prop(t, node, "interrupt-map", &len);
	const uint8_t *mask = dt_prop(t, node, "interrupt-map-mask", &mlen);

	if (!map || !mask || mlen != 16)
		return;
	host.mask_hi = (uint32_t)dt_cells(mask, 1);
	host.mask_pin = (uint32_t)dt_cells(mask + 12, 1);
	for (uint32_t at = 0; at < len; at += size) {
		size = read_intx(t, map + at, len - at);
		if (!size) {
			host.intx_bad = true;
			break;
		}
	}
}

static void read_node(const struct dt *t, int node, const struct cells *c)
{
	uint32_t len;
	const uint8_t *reg = dt_prop(t, node, "reg", &len);

	if (!reg || len < 4 * (c->ac + c->sc))
		return;
	host.ecam = dt_cells(reg, c->ac);
	host.ecam_size = dt_cells(reg + 4 * c->ac, c->sc);
	host.present = true;
	const uint8_t *bus = dt_prop(t, node, "bus-range", &len);
	host.bus_first = bus && len == 8 ? (uint32_t)dt_cells(bus, 1) : 0;
	host.bus_last = bus && len == 8 ? (uint32_t)dt_cells(bus + 4, 1) : 255;
	read_ranges(t, node, c);
	read_msi(t, node);
	read_intx_map(t, node);
	host.platform = reg_of(t, "vmm,boot-timer", c);
	if (!host.platform)
		host.platform = reg_of(t, "arm,pl031", c);
}

const struct pci_dt *pci_dt(void)
{
	static bool read;
	struct dt t;
	int node;

	if (read)
		return &host;
	read = true;
	if (boot_dt(&t) || (node = dt_find_compatible(&t, -1, "pci-host-ecam-generic")) < 0) {
		printf("pci: no pci-host-ecam-generic in the device tree\n");
		return &host;
	}
	int root = dt_path(&t, "/");
	struct cells c = {dt_u32(&t, root, "#address-cells", 2),
			  dt_u32(&t, root, "#size-cells", 1)};
	read_node(&t, node, &c);
	printf("pci: ECAM 0x%llx, 32-bit window 0x%llx+0x%llx, ITS 0x%llx, v2m 0x%llx, %u INTx "
	       "routes\n",
	       (unsigned long long)host.ecam, (unsigned long long)host.mem32,
	       (unsigned long long)host.mem32_size, (unsigned long long)host.its,
	       (unsigned long long)host.v2m, host.nintx);
	if (host.present)
		pci_assign_bars(&host);
	return &host;
}

const struct pci_dt_intx *pci_dt_intx_of(uint8_t dev, uint8_t fn, uint8_t pin)
{
	const struct pci_dt *p = pci_dt();
	uint32_t hi = (uint32_t)dev << 11 | (uint32_t)fn << 8;

	for (unsigned i = 0; pin && i < p->nintx; i++) {
		const struct pci_dt_intx *x = &p->intx[i];
		if ((hi & p->mask_hi) == (x->hi & p->mask_hi) &&
		    (pin & p->mask_pin) == (x->pin & p->mask_pin))
			return x;
	}
	return NULL;
}
