/* libFuzzer target: PCI bus 0 (devices/pci/pci_bus.c, pci_func.c, pci_msix.c) through the I/O
 * dispatcher (base/io_bus.c): configuration mechanism #1 (ports 0xCF8-0xCFF, and accesses that
 * straddle them), the ECAM window (any offset, any width, its edges), direct bus accesses to
 * any bus/devfn/register, and accesses to whatever the BARs decode, on a bus holding the host
 * bridge and one to four functions with fuzzed BARs (32/64-bit, prefetchable, 16 B to 4 GiB),
 * capabilities, an interrupt pin and sometimes MSI-X.
 *
 * Checks: bytes outside a function's writable mask never change (write-1-to-clear bits only
 * go from 1 to 0); absent functions and other buses read all-ones; BAR sizing reads back
 * ~(size - 1) | flags; every mapped BAR is naturally aligned, where its register points, with
 * memory decoding on, overlapping nothing, and registered on the MMIO bus (the bus holds
 * exactly the mapped BARs and the ECAM window); bar_moved reports match; BAR handlers only see
 * accesses inside the BAR; MSI-X messages only for enabled, unmasked vectors, signalled or
 * restored from a snapshot of the table (op_msix()). */
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "devices/pci/pci_msix.h"
#include "devices/pci/pci_test.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FUNCS 4
#define MAX_OPS	  512
#define CONF1	  0xcf8

struct fn {
	struct pci_func f;
	struct pci_msix msix;
	bool has_msix;
	int msix_bar;
	int dev; /* device number on the bus, or -1 */
	/* what bar_moved last said, per BAR */
	bool on[PCI_NUM_BARS];
	uint64_t at[PCI_NUM_BARS];
	uint8_t snap[PCI_CFG_SPACE]; /* cfg after our last check */
};

static struct {
	struct fz_in in;
	struct io_bus mmio, pio;
	struct pci_bus bus;
	struct fn fns[MAX_FUNCS];
	int nfns;
	unsigned msis;
} c;

/* ---- BAR handlers and hooks ---- */

struct bar_ref {
	struct fn *fn;
	int bar;
};
static struct bar_ref refs[MAX_FUNCS][PCI_NUM_BARS];

static void check_bar_access(const struct bar_ref *r, uint64_t off, uint32_t len)
{
	uint64_t size = r->fn->f.bars[r->bar].size;
	FZ_ASSERT(len >= 1 && len <= 8 && off < size && len <= size - off,
		  "BAR %d of size %#llx got an access of %u at %#llx", r->bar,
		  (unsigned long long)size, len, (unsigned long long)off);
}

static void bar_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct bar_ref *r = opaque;
	check_bar_access(r, off, len);
	struct fn *fn = r->fn;
	if (fn->has_msix && r->bar == fn->msix_bar) {
		if (off < 0x800)
			pci_msix_table_read(&fn->msix, off, data, len);
		else
			pci_msix_pba_read(&fn->msix, off - 0x800, data, len);
		return;
	}
	memset(data, 0xab, len);
}

static void bar_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct bar_ref *r = opaque;
	check_bar_access(r, off, len);
	struct fn *fn = r->fn;
	if (fn->has_msix && r->bar == fn->msix_bar && off < 0x800)
		pci_msix_table_write(&fn->msix, off, data, len);
}

static const struct io_ops bar_ops = {bar_read, bar_write};

static void fn_config_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	(void)off, (void)data, (void)len;
	struct fn *fn = f->opaque;
	if (fn->has_msix)
		pci_msix_control_written(&fn->msix);
}

static void fn_bar_moved(struct pci_func *f, int bar, bool was_on, uint64_t old, bool on,
			 uint64_t addr)
{
	struct fn *fn = f->opaque;
	FZ_ASSERT(bar >= 0 && bar < PCI_NUM_BARS && f->bars[bar].size, "bar_moved(%d)", bar);
	FZ_ASSERT(was_on == fn->on[bar] && (!was_on || old == fn->at[bar]),
		  "bar_moved: BAR %d was %d/%#llx, we had %d/%#llx", bar, was_on,
		  (unsigned long long)old, fn->on[bar], (unsigned long long)fn->at[bar]);
	FZ_ASSERT(was_on != on || old != addr, "bar_moved without a change");
	fn->on[bar] = on;
	fn->at[bar] = addr;
}

static const struct pci_func_ops fn_ops = {NULL, fn_config_write, fn_bar_moved};

static void msi_send(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct fn *fn = opaque;
	(void)addr, (void)data;
	FZ_ASSERT(vector < fn->msix.nvec && pci_msix_enabled(&fn->msix) &&
		      !pci_msix_masked(&fn->msix, vector),
		  "MSI-X vector %u sent (nvec %u, enabled %d)", vector, fn->msix.nvec,
		  fn->msix.enabled);
	c.msis++;
}

/* ---- building the bus ---- */

static void add_bars(struct fn *fn, int idx)
{
	uint8_t nbars = fz_u8(&c.in);
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		if (!(nbars >> bar & 1))
			continue;
		uint8_t b = fz_u8(&c.in);
		uint32_t flags = (b & 0x40 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
				 (b & 0x80 ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		uint64_t size = 1ull << (4 + (b & 0x3f) % 29); /* 16 B .. 4 GiB */
		refs[idx][bar] = (struct bar_ref){fn, bar};
		if (pci_func_set_bar(&fn->f, bar, size, flags, &bar_ops, &refs[idx][bar]) == 0 &&
		    flags & PCI_BASE_ADDRESS_MEM_TYPE_64)
			bar++; /* the upper half */
	}
}

static void add_caps(struct fn *fn)
{
	unsigned ncaps = fz_u8(&c.in) % 4;
	for (unsigned i = 0; i < ncaps; i++) {
		int cap = pci_func_add_cap(&fn->f, fz_u8(&c.in), (uint8_t)(2 + fz_u8(&c.in) % 80));
		if (cap >= 0 && fz_bool(&c.in)) /* a writable dword inside it */
			pci_wmask_set16(&fn->f, (uint32_t)cap + 2, 0xffff);
	}
	/* MSI-X in a BAR of at least 4 KiB, if there is one */
	for (int bar = 0; bar < PCI_NUM_BARS && fz_bool(&c.in); bar++) {
		if (fn->f.bars[bar].size < 0x1000)
			continue;
		uint16_t nvec = (uint16_t)(1 + fz_u8(&c.in) % PCI_MSIX_MAX_VECTORS);
		if (pci_msix_init(&fn->msix, &fn->f, nvec, bar, 0, 0x800, msi_send, fn) == 0) {
			fn->has_msix = true;
			fn->msix_bar = bar;
		}
		break;
	}
}

static void build(void)
{
	io_bus_init(&c.mmio, "mmio");
	io_bus_init(&c.pio, "pio");
	FZ_ASSERT(pci_bus_init(&c.bus, &c.mmio) == 0, "pci_bus_init");
	FZ_ASSERT(io_bus_register(&c.pio, CONF1, 8, &pci_conf1_ops, &c.bus, "conf1") == 0 &&
		      io_bus_register(&c.mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, &c.bus,
				      "ecam") == 0,
		  "register");
	c.nfns = 1 + fz_u8(&c.in) % MAX_FUNCS;
	for (int i = 0; i < c.nfns; i++) {
		struct fn *fn = &c.fns[i];
		const struct pci_id id = {0x1af4, (uint16_t)(0x1000 + i), 0xff0000, 1, 0x1af4, 1};
		pci_func_init(&fn->f, &id, "fuzz-fn", &fn_ops, fn);
		pci_func_set_intx_pin(&fn->f, fz_u8(&c.in) % 6);
		add_bars(fn, i);
		add_caps(fn);
		uint8_t want = fz_u8(&c.in);
		fn->dev = pci_bus_add(&c.bus, &fn->f, want & 0x80 ? -1 : want % 34);
		if (fn->dev < 0) /* a failed add unmaps without telling bar_moved: forget it */
			memset(fn->on, 0, sizeof(fn->on));
		memcpy(fn->snap, fn->f.cfg, PCI_CFG_SPACE);
	}
}

/* ---- operations ---- */

static uint32_t pick_width(void)
{
	static const uint32_t widths[] = {4, 4, 1, 2, 8, 4, 2, 1};
	return widths[fz_u8(&c.in) % 8];
}

/* A devfn: usually one of ours or the host bridge. */
static uint8_t pick_devfn(void)
{
	uint8_t m = fz_u8(&c.in);
	if (m % 4 == 0)
		return fz_u8(&c.in);
	int i = m % (c.nfns + 1);
	if (i == c.nfns || c.fns[i].dev < 0)
		return 0;
	return PCI_DEVFN(c.fns[i].dev, 0);
}

static uint32_t pick_reg(void)
{
	uint8_t m = fz_u8(&c.in);
	if (m % 4 == 0)
		return PCI_BASE_ADDRESS_0 + 4 * (fz_u8(&c.in) % 7u);
	if (m % 4 == 1)
		return fz_u8(&c.in) % 2 ? PCI_COMMAND : PCI_STATUS;
	return fz_u8(&c.in);
}

static uint32_t pick_value(uint32_t reg)
{
	uint8_t m = fz_u8(&c.in);
	if (reg >= PCI_BASE_ADDRESS_0 && reg <= PCI_BASE_ADDRESS_5 && m % 3 == 0)
		return m & 4 ? 0xffffffffu : (uint32_t)PCI_MMIO32_BASE + (fz_u16(&c.in) << 12);
	return fz_u32(&c.in);
}

static void op_conf1(void)
{
	uint8_t m = fz_u8(&c.in);
	uint32_t len = pick_width();
	uint64_t port = CONF1 - 2 + fz_u8(&c.in) % 12;
	if (m & 1) { /* set the latch first */
		uint32_t latch = (m & 2 ? 0x80000000u : 0) | (uint32_t)fz_u8(&c.in) << 16 |
				 (uint32_t)pick_devfn() << 8 | pick_reg();
		if (m & 4)
			latch = fz_u32(&c.in);
		io_bus_write(&c.pio, CONF1, &latch, 4);
	}
	uint64_t v = fz_u64(&c.in);
	if (m & 8)
		io_bus_write(&c.pio, port, &v, len);
	else
		io_bus_read(&c.pio, port, &v, len);
}

static void op_ecam(void)
{
	uint8_t m = fz_u8(&c.in);
	uint64_t off;
	switch (m % 4) {
	case 0: /* anywhere in the window, or just around it */
		off = fz_u32(&c.in) % (PCI_ECAM_SIZE + 16) - (m & 4 ? 8 : 0);
		break;
	default: {
		uint32_t reg = m % 4 == 1 ? fz_u16(&c.in) % PCI_ECAM_FN_SPACE : pick_reg();
		off = ((uint64_t)(m & 0x80 ? fz_u8(&c.in) : 0) << 20) |
		      (uint64_t)pick_devfn() << 12 | reg;
	}
	}
	uint32_t len = pick_width(), reg = (uint32_t)(off & 0xfff);
	uint64_t v = pick_value(reg & ~3u);
	if (m & 8)
		io_bus_write(&c.mmio, PCI_ECAM_BASE + off, &v, len);
	else
		io_bus_read(&c.mmio, PCI_ECAM_BASE + off, &v, len);
}

/* Direct bus access, with the read-back checks the bus promises. */
static void op_direct(void)
{
	uint8_t m = fz_u8(&c.in), busnr = m & 0x80 ? fz_u8(&c.in) : 0, devfn = pick_devfn();
	uint32_t reg = m & 0x40 ? fz_u16(&c.in) % PCI_ECAM_FN_SPACE : pick_reg();
	uint32_t len = 1 + fz_u8(&c.in) % 4, v = pick_value(reg);
	if (reg + len > PCI_ECAM_FN_SPACE)
		return; /* outside the function's space: not a legal call */
	struct pci_func *f = busnr == 0 ? c.bus.funcs[devfn] : NULL;
	if (m & 1) {
		pci_bus_config_write(&c.bus, busnr, devfn, reg, &v, len);
		return;
	}
	uint32_t got = 0;
	pci_bus_config_read(&c.bus, busnr, devfn, reg, &got, len);
	uint32_t ones = len == 4 ? 0xffffffffu : (1u << 8 * len) - 1;
	if (!f)
		FZ_ASSERT(got == ones, "absent %02x:%02x.%x reads %#x", busnr, devfn >> 3,
			  devfn & 7, got);
	else if (reg >= PCI_CFG_SPACE)
		FZ_ASSERT(got == 0, "extended space reads %#x", got);
}

/* BAR sizing (6.2.5.1): write all-ones, read the mask back, restore. */
static void op_size_bar(void)
{
	struct fn *fn = &c.fns[fz_u8(&c.in) % c.nfns];
	int bar = fz_u8(&c.in) % PCI_NUM_BARS;
	if (fn->dev < 0 || !fn->f.bars[bar].size)
		return;
	uint8_t devfn = PCI_DEVFN(fn->dev, 0);
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * (uint32_t)bar, old, ones = 0xffffffffu, got;
	pci_bus_config_read(&c.bus, 0, devfn, reg, &old, 4);
	pci_bus_config_write(&c.bus, 0, devfn, reg, &ones, 4);
	pci_bus_config_read(&c.bus, 0, devfn, reg, &got, 4);
	const struct pci_bar *b = &fn->f.bars[bar];
	uint32_t want = (uint32_t) ~(b->size - 1) | b->flags;
	FZ_ASSERT(got == want, "BAR %d sizing read %#x, want %#x", bar, got, want);
	pci_bus_config_write(&c.bus, 0, devfn, reg, &old, 4);
}

static void op_bar_access(void)
{
	struct fn *fn = &c.fns[fz_u8(&c.in) % c.nfns];
	int bar = fz_u8(&c.in) % PCI_NUM_BARS;
	uint64_t a = fn->f.bars[bar].addr;
	if (!fn->f.bars[bar].mapped)
		a = PCI_MMIO32_BASE;
	uint8_t m = fz_u8(&c.in);
	a += m & 1 ? fz_u16(&c.in) : fn->f.bars[bar].size - (m >> 4);
	uint64_t v = fz_u64(&c.in);
	uint32_t len = pick_width();
	if (m & 2)
		io_bus_write(&c.mmio, a, &v, len);
	else
		io_bus_read(&c.mmio, a, &v, len);
}

/* ---- invariants ---- */

static bool ranges_overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a < b + bl && b < a + al;
}

static void check_func(struct fn *fn, unsigned *mapped)
{
	struct pci_func *f = &fn->f;
	for (int i = 0; i < PCI_CFG_SPACE; i++) {
		uint8_t changed = (uint8_t)(f->cfg[i] ^ fn->snap[i]) & (uint8_t)~f->wmask[i];
		FZ_ASSERT(!(changed & ~f->w1c[i]) && !(changed & f->cfg[i]),
			  "read-only config byte %#x changed %#x -> %#x", i, fn->snap[i],
			  f->cfg[i]);
	}
	memcpy(fn->snap, f->cfg, PCI_CFG_SPACE);
	bool mem_on = pci_cfg_get16(f, PCI_COMMAND) & PCI_COMMAND_MEMORY;
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		const struct pci_bar *b = &f->bars[bar];
		FZ_ASSERT(fn->on[bar] == b->mapped && (!b->mapped || fn->at[bar] == b->addr),
			  "BAR %d: bar_moved said %d/%#llx, BAR is %d/%#llx", bar, fn->on[bar],
			  (unsigned long long)fn->at[bar], b->mapped, (unsigned long long)b->addr);
		if (!b->mapped)
			continue;
		(*mapped)++;
		FZ_ASSERT(mem_on && b->addr == pci_func_bar_addr(f, bar) && b->addr % b->size == 0,
			  "BAR %d mapped at %#llx (register %#llx, memory %d)", bar,
			  (unsigned long long)b->addr,
			  (unsigned long long)pci_func_bar_addr(f, bar), mem_on);
		FZ_ASSERT(!ranges_overlap(b->addr, b->size, PCI_ECAM_BASE, PCI_ECAM_SIZE),
			  "BAR %d over the ECAM window", bar);
		for (int j = 0; j < c.nfns; j++) {
			for (int k = 0; k < PCI_NUM_BARS; k++) {
				const struct pci_bar *o = &c.fns[j].f.bars[k];
				if ((&c.fns[j] == fn && k == bar) || !o->mapped)
					continue;
				FZ_ASSERT(!ranges_overlap(b->addr, b->size, o->addr, o->size),
					  "BARs overlap");
			}
		}
	}
}

static void check_state(void)
{
	unsigned mapped = 0;
	for (int i = 0; i < c.nfns; i++)
		check_func(&c.fns[i], &mapped);
	FZ_ASSERT(c.mmio.count == (int)mapped + 1, "MMIO bus has %d ranges, %u BARs mapped + ECAM",
		  c.mmio.count, mapped);
	FZ_ASSERT(!(c.bus.conf1_addr & 3), "conf1 latch %#x", c.bus.conf1_addr);
}

/* What the device side does with MSI-X: signal a vector (sent now, pending while masked, nothing
 * while disabled; msi_send() checks what is sent), or a snapshot of the table and PBA put back,
 * from a state that may have one byte changed (the file is untrusted): a refused state changes
 * nothing, the unchanged one is always taken. */
static void op_msix(void)
{
	struct fn *fn = &c.fns[fz_u8(&c.in) % MAX_FUNCS];
	uint8_t m = fz_u8(&c.in);
	if (!fn->has_msix)
		return;
	if (m % 4) {
		unsigned before = c.msis;
		uint16_t v = fz_u8(&c.in) % (fn->msix.nvec + 2u);
		FZ_ASSERT(pci_msix_notify(&fn->msix, v) == pci_msix_enabled(&fn->msix),
			  "notify of vector %u and the enable bit disagree", v);
		FZ_ASSERT(c.msis - before <= 1, "one notify sent %u messages", c.msis - before);
		return;
	}
	struct pci_msix_state s, saved, now;
	pci_msix_save(&fn->msix, &s);
	saved = s;
	if (m & 4)
		((uint8_t *)&s)[fz_u16(&c.in) % sizeof(s)] = fz_u8(&c.in);
	bool ok = pci_msix_state_ok(&fn->msix, &s);
	FZ_ASSERT(ok || (m & 4), "a state just saved was refused");
	FZ_ASSERT((pci_msix_restore(&fn->msix, &s) == 0) == ok, "restore and its check disagree");
	pci_msix_save(&fn->msix, &now);
	FZ_ASSERT(!memcmp(&now, ok ? &s : &saved, sizeof(now)),
		  "the MSI-X state after a restore is neither the new nor the old one");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&c, 0, sizeof(c));
	memset(refs, 0, sizeof(refs));
	c.in = fz_in_make(data, size);
	build();
	check_state();
	bool trace = getenv("FUZZ_TRACE");
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&c.in); ops++) {
		unsigned op = fz_u8(&c.in) % 6;
		if (trace)
			fprintf(stderr, "fuzz: op %u at byte %zu\n", op, c.in.pos);
		switch (op) {
		case 0:
			op_conf1();
			break;
		case 1:
			op_ecam();
			break;
		case 2:
			op_direct();
			break;
		case 3:
			op_size_bar();
			break;
		case 5:
			op_msix();
			break;
		default:
			op_bar_access();
			break;
		}
		check_state();
	}
	pci_bus_destroy(&c.bus);
	FZ_ASSERT(c.mmio.count == 1, "pci_bus_destroy left %d ranges", c.mmio.count - 1);
	io_bus_destroy(&c.mmio);
	io_bus_destroy(&c.pio);
	return 0;
}
