/* libFuzzer target: a passed-through PCI function (devices/pci/vfio_pci*.c) over the fake VFIO
 * layer of the unit tests (tests/unit/fixtures/fake_vfio.h): the device's configuration space
 * (capability list included: loops, MSI and MSI-X anywhere, tables outside their BAR), its
 * region sizes and sparse mmap areas come from the input, then guest configuration accesses,
 * trapped BAR accesses, pending vectors, BAR plans and the owner's BAR placement.
 *
 * Checks: a BAR register shows its flags and an address aligned to its size; bar_moved reports
 * only naturally aligned, non-zero addresses (of a BAR or the ROM); a route is active only with
 * MSI-X enabled and the function unmasked; a plan covers its BAR exactly, in order, its mmap parts
 * whole pages of a region that allows mmap, none of them on an MSI-X table or PBA page; a placement
 * stays inside its window, or is refused with a message and takes none of it. */
#include <linux/pci_regs.h>

#include "devices/pci/vfio_pci.h"
#include "tests/unit/fixtures/fake_vfio.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 256

static struct {
	struct fz_in in;
	struct fake_vfio f;
	struct vfio_container c;
	struct vfio_group g;
	struct vfio_device d;
	struct vfio_pci vp;
} s;

static void on_enable(void *opaque, bool on, uint16_t nvec)
{
	(void)opaque, (void)on;
	FZ_ASSERT(nvec >= 1 && nvec <= VFIO_PCI_MAX_VECTORS, "msix_enable with %u vectors", nvec);
}

static void on_route(void *opaque, uint16_t vector, const struct vfio_pci_route *r)
{
	(void)opaque;
	FZ_ASSERT(vector < s.vp.nvec, "route of vector %u of %u", vector, s.vp.nvec);
	FZ_ASSERT(!r->active || ((s.vp.msix_ctrl & PCI_MSIX_FLAGS_ENABLE) &&
				 !(s.vp.msix_ctrl & PCI_MSIX_FLAGS_MASKALL)),
		  "vector %u active with Message Control %#x", vector, s.vp.msix_ctrl);
	FZ_ASSERT(!r->deliver_pending || r->active, "pending delivered while inactive");
}

static void on_bar(void *opaque, int bar, bool on, uint64_t addr)
{
	(void)opaque;
	FZ_ASSERT(bar >= 0 && bar <= VFIO_PCI_ROM_BAR, "bar_moved for BAR %d", bar);
	uint64_t sz = bar == VFIO_PCI_ROM_BAR ? s.vp.rom_size : s.vp.bars[bar].size;
	FZ_ASSERT(sz, "bar_moved for BAR %d, not implemented", bar);
	FZ_ASSERT(!on || (addr && !(addr & (sz - 1))), "BAR %d on at %#llx, size %#llx", bar,
		  (unsigned long long)addr, (unsigned long long)sz);
}

static const struct vfio_pci_irq_ops irq_ops = {on_enable, on_route, on_bar};

/* The device from the input: configuration space, BAR and ROM regions. */
static void make_device(void)
{
	fake_vfio_init(&s.f);
	fz_bytes(&s.in, s.f.config, PCI_CFG_SPACE);
	for (int i = 0; i < FAKE_REGIONS; i++) {
		if (i == VFIO_PCI_CONFIG_REGION_INDEX || i == VFIO_PCI_VGA_REGION_INDEX)
			continue;
		uint8_t e = fz_u8(&s.in), fl = fz_u8(&s.in);
		uint64_t sz = e % 40 ? 1ull << (e % 40) : 0;
		if (e & 0x80)
			sz += 0x1000; /* no power of two: refused */
		fake_vfio_region(&s.f, i, sz,
				 VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				     (fl & 1 ? VFIO_REGION_INFO_FLAG_MMAP : 0));
		s.f.regions[i].msix_mappable = fl & 2;
		s.f.regions[i].nareas = (fl >> 2) % 5;
		for (unsigned a = 0; a < s.f.regions[i].nareas; a++) {
			s.f.regions[i].areas[a].offset = fz_u32(&s.in);
			s.f.regions[i].areas[a].size = fz_u32(&s.in);
		}
	}
}

static void check_bar_regs(void)
{
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		const struct vfio_pci_bar *b = &s.vp.bars[i];
		if (!b->size)
			continue;
		uint32_t reg;
		vfio_pci_config_read(&s.vp, PCI_BASE_ADDRESS_0 + 4 * (uint32_t)i, &reg, 4);
		uint32_t fmask = b->flags & PCI_BASE_ADDRESS_SPACE_IO ? 3 : 15;
		FZ_ASSERT((reg & fmask) == b->flags, "BAR %d reads %#x, flags %#x", i, reg,
			  b->flags);
		FZ_ASSERT(!(reg & ~fmask & (uint32_t)(b->size - 1)), "BAR %d reads %#x, size %#llx",
			  i, reg, (unsigned long long)b->size);
	}
}

static bool on_msix_page(uint64_t off, uint64_t len, uint64_t page)
{
	const struct vfio_pci *vp = &s.vp;
	uint64_t t0 = vp->table_off & ~(page - 1), t1 = vp->table_off + 16ull * vp->nvec;
	uint64_t p0 = vp->pba_off & ~(page - 1), p1 = vp->pba_off + 8ull * ((vp->nvec + 63) / 64);
	return (off < t1 && off + len > t0) || (off < p1 && off + len > p0);
}

static void check_plan(int bar, uint64_t page)
{
	struct vfio_pci_bar_plan p;
	if (vfio_pci_bar_plan(&s.vp, bar, page, &p) < 0)
		return;
	const struct vfio_pci_bar *b = &s.vp.bars[bar];
	uint64_t at = 0;
	for (unsigned i = 0; i < p.nparts; i++) {
		const struct vfio_pci_bar_part *x = &p.parts[i];
		FZ_ASSERT(x->offset == at && x->size, "BAR %d part %u at %#llx, expected %#llx",
			  bar, i, (unsigned long long)x->offset, (unsigned long long)at);
		at += x->size;
		if (!x->mmap)
			continue;
		FZ_ASSERT(b->region.flags & VFIO_REGION_INFO_FLAG_MMAP, "mmap part of BAR %d", bar);
		FZ_ASSERT(!(x->offset & (page - 1)) && !(x->size & (page - 1)),
			  "mmap part %#llx+%#llx not whole pages", (unsigned long long)x->offset,
			  (unsigned long long)x->size);
		FZ_ASSERT(bar != s.vp.msix_bar || !on_msix_page(x->offset, x->size, page),
			  "mmap part %#llx+%#llx on an MSI-X page", (unsigned long long)x->offset,
			  (unsigned long long)x->size);
	}
	FZ_ASSERT(at == b->size, "BAR %d plan covers %#llx of %#llx", bar, (unsigned long long)at,
		  (unsigned long long)b->size);
}

static uint32_t width(uint8_t v)
{
	static const uint32_t w[] = {1, 2, 4, 8, 3};
	return w[v % 5];
}

/* The owner places the BARs (vfio_pci_place_bars()) in windows of the input's sizes: a 32-bit
 * one, and a 64-bit one that may be empty. */
static void place(void)
{
	char err[256] = "";
	uint64_t start = 0xf0000000ull + ((uint64_t)fz_u16(&s.in) << 12);
	uint64_t end = start + ((uint64_t)fz_u16(&s.in) << 12);
	uint64_t start64 = (1ull << 36) + ((uint64_t)fz_u16(&s.in) << 20);
	uint64_t end64 = start64 + ((uint64_t)fz_u16(&s.in) << 20);
	struct vfio_pci_windows w = {start, end, start64, end64};
	int r = vfio_pci_place_bars(&s.vp, &w, err, sizeof(err));
	FZ_ASSERT(r == 0 || (r == -ENOSPC && err[0] && w.next32 == start && w.next64 == start64),
		  "place_bars: %d (%s)", r, err);
	FZ_ASSERT(w.next32 >= start && w.next32 <= end, "placed up to %#llx, window [%#llx, %#llx)",
		  (unsigned long long)w.next32, (unsigned long long)start, (unsigned long long)end);
	FZ_ASSERT(w.next64 >= start64 && w.next64 <= end64,
		  "placed up to %#llx, 64-bit window [%#llx, %#llx)", (unsigned long long)w.next64,
		  (unsigned long long)start64, (unsigned long long)end64);
}

static void op(void)
{
	uint8_t kind = fz_u8(&s.in) % 7, a = fz_u8(&s.in);
	uint8_t buf[8] = {0};
	switch (kind) {
	case 0:
		vfio_pci_config_read(&s.vp, fz_u16(&s.in) % 300, buf, width(a) % 8);
		break;
	case 1: {
		uint32_t off = fz_u16(&s.in) % 300, len = width(a) % 8;
		fz_bytes(&s.in, buf, len);
		vfio_pci_config_write(&s.vp, off, buf, len);
		break;
	}
	case 2:
		vfio_pci_bar_read(&s.vp, a % 7, fz_u32(&s.in), buf, width(fz_u8(&s.in)));
		break;
	case 3: {
		int bar = a % 7;
		uint64_t off = fz_u32(&s.in);
		uint32_t len = width(fz_u8(&s.in));
		fz_bytes(&s.in, buf, len);
		vfio_pci_bar_write(&s.vp, bar, off, buf, len);
		break;
	}
	case 4:
		check_plan(a % 6, 1ull << (12 + fz_u8(&s.in) % 5));
		break;
	case 6:
		place();
		break;
	default:
		vfio_pci_msix_set_pending(&s.vp, fz_u16(&s.in));
		break;
	}
	check_bar_regs();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	s.in = fz_in_make(data, size);
	make_device();
	if (fake_vfio_open_all(&s.f, &s.c, &s.g, &s.d, err, sizeof(err)) == 0 &&
	    vfio_pci_init(&s.vp, &s.d, &irq_ops, NULL, err, sizeof(err)) == 0) {
		for (int i = 0; i < MAX_OPS && !fz_done(&s.in); i++)
			op();
		vfio_pci_destroy(&s.vp);
	}
	fake_vfio_fini(&s.f);
	return 0;
}
