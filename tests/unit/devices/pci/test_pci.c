/* PCI bus 0: configuration mechanism #1, ECAM, the type-0 header (read-only fields, masks,
 * write-1-to-clear), BAR sizing and placement, decoding toggles, the capability list, INTx. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "devices/pci/pci_test.h"

struct rec {
	int reads, writes;
	uint64_t last_off;
	int moves;
	int last_bar;
	bool last_was_on, last_on;
	uint64_t last_old, last_addr;
};

static void rec_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct rec *r = opaque;
	r->reads++;
	r->last_off = off;
	memset(data, 0x5a, len);
}

static void rec_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	(void)data;
	(void)len;
	struct rec *r = opaque;
	r->writes++;
	r->last_off = off;
}

static const struct io_ops rec_ops = {rec_read, rec_write};

static void rec_moved(struct pci_func *f, int bar, bool was_on, uint64_t old, bool on,
		      uint64_t addr)
{
	struct rec *r = f->opaque;
	r->moves++;
	r->last_bar = bar;
	r->last_was_on = was_on;
	r->last_old = old;
	r->last_on = on;
	r->last_addr = addr;
}

static const struct pci_func_ops rec_func_ops = {.bar_moved = rec_moved};

static struct io_bus mmio;
static struct pci_bus bus;
static struct pci_func fn;
static struct rec rec;

static const struct pci_id test_id = {
    .vendor = 0x1234,
    .device = 0x5678,
    .class_code = 0x0c0320,
    .revision = 7,
    .subsys_vendor = 0xabcd,
    .subsys_id = 0xef01,
};

/* BAR 0: 32-bit 4 KiB; BARs 2-3: 64-bit prefetchable 16 KiB; device 3. */
static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
	io_bus_init(&mmio, "mmio");
	cr_assert_eq(pci_bus_init(&bus, &mmio), 0);
	pci_func_init(&fn, &test_id, "test", &rec_func_ops, &rec);
	cr_assert_eq(pci_func_set_bar(&fn, 0, 0x1000, 0, &rec_ops, &rec), 0);
	cr_assert_eq(pci_func_set_bar(&fn, 2, 0x4000,
				      PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
				      &rec_ops, &rec),
		     0);
	pci_func_set_intx_pin(&fn, 2); /* INTB */
	cr_assert_eq(pci_bus_add(&bus, &fn, 3), 3);
}

static void teardown(void)
{
	pci_bus_destroy(&bus);
	io_bus_destroy(&mmio);
}

/* Configuration mechanism #1 through the io_ops, as port offsets from 0xCF8. */
static void conf1_out(uint64_t port, uint32_t v, uint32_t len)
{
	pci_conf1_ops.write(&bus, port - 0xCF8, &v, len);
}

static uint32_t conf1_in(uint64_t port, uint32_t len)
{
	uint32_t v = 0;
	pci_conf1_ops.read(&bus, port - 0xCF8, &v, len);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static uint32_t cfg_addr(unsigned b, unsigned d, unsigned f, unsigned reg)
{
	return 0x80000000u | b << 16 | d << 11 | f << 8 | (reg & 0xfc);
}

static uint32_t rd(unsigned dev, unsigned reg, uint32_t len)
{
	conf1_out(0xCF8, cfg_addr(0, dev, 0, reg), 4);
	return conf1_in(0xCFC + (reg & 3), len);
}

static void wr(unsigned dev, unsigned reg, uint32_t v, uint32_t len)
{
	conf1_out(0xCF8, cfg_addr(0, dev, 0, reg), 4);
	conf1_out(0xCFC + (reg & 3), v, len);
}

static uint32_t ecam_rd(uint64_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_ecam_ops.read(&bus, off, &v, len);
	return v;
}

TestSuite(pci, .init = setup, .fini = teardown);

Test(pci, host_bridge_identity)
{
	cr_assert_eq(rd(0, PCI_VENDOR_ID, 4), 0x00081b36);
	cr_assert_eq(rd(0, PCI_CLASS_REVISION, 4) >> 8, 0x060000);
	cr_assert_eq(rd(0, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(rd(0, PCI_BASE_ADDRESS_0, 4), 0, "no BARs");
}

Test(pci, conf1_address_latch)
{
	conf1_out(0xCF8, 0x80001237, 4);
	cr_assert_eq(conf1_in(0xCF8, 4), 0x80001234, "bits 1:0 read 0");
	conf1_out(0xCFB, 0x01, 1); /* Linux's probe: not a latch write */
	cr_assert_eq(conf1_in(0xCF8, 4), 0x80001234);
	cr_assert_eq(conf1_in(0xCF8, 2), 0xffff, "word access to 0xCF8 is not the latch");
	conf1_out(0xCF8, cfg_addr(0, 0, 0, 0) & ~0x80000000u, 4);
	cr_assert_eq(conf1_in(0xCFC, 4), 0xffffffff, "enable bit clear: no config cycle");
}

Test(pci, conf1_widths_and_byte_lanes)
{
	cr_assert_eq(rd(3, 0x00, 4), 0x56781234);
	cr_assert_eq(rd(3, 0x00, 2), 0x1234);
	cr_assert_eq(rd(3, 0x02, 2), 0x5678);
	cr_assert_eq(rd(3, 0x01, 1), 0x12);
	cr_assert_eq(rd(3, 0x03, 1), 0x56);
	cr_assert_eq(rd(3, PCI_REVISION_ID, 1), 7);
	cr_assert_eq(rd(3, PCI_CLASS_PROG, 1), 0x20);
	cr_assert_eq(rd(3, PCI_CLASS_DEVICE, 2), 0x0c03);
	cr_assert_eq(rd(3, PCI_SUBSYSTEM_VENDOR_ID, 4), 0xef01abcd);
}

Test(pci, absent_functions_and_buses_read_all_ones)
{
	cr_assert_eq(rd(4, 0, 4), 0xffffffff);
	cr_assert_eq(rd(31, 0, 2), 0xffff);
	conf1_out(0xCF8, cfg_addr(0, 3, 1, 0), 4);
	cr_assert_eq(conf1_in(0xCFC, 4), 0xffffffff, "function 1 of a present device");
	conf1_out(0xCF8, cfg_addr(1, 3, 0, 0), 4);
	cr_assert_eq(conf1_in(0xCFC, 4), 0xffffffff, "bus 1");
	conf1_out(0xCFC, 0, 4); /* ignored */
}

Test(pci, ecam_decoding)
{
	cr_assert_eq(ecam_rd(3 << 15, 4), 0x56781234);
	cr_assert_eq(ecam_rd((3 << 15) + 2, 2), 0x5678);
	cr_assert_eq(ecam_rd((3 << 15) | PCI_REVISION_ID, 1), 7);
	cr_assert_eq(ecam_rd(0, 4), 0x00081b36, "host bridge");
	cr_assert_eq(ecam_rd(1 << 20 | 3 << 15, 4), 0xffffffff, "bus 1");
	cr_assert_eq(ecam_rd(255ull << 20, 4), 0xffffffff, "bus 255");
	cr_assert_eq(ecam_rd(3 << 15 | 1 << 12, 4), 0xffffffff, "function 1");
	cr_assert_eq(ecam_rd(3 << 15 | 0x100, 4), 0, "no extended capabilities");
	cr_assert_eq(ecam_rd(3 << 15 | 0xffe, 4), 0xffffffff, "crosses into the next function");
	uint32_t cmd = 0;
	pci_ecam_ops.write(&bus, 3 << 15 | PCI_COMMAND, &cmd, 2);
	cr_assert_eq(rd(3, PCI_COMMAND, 2), 0, "ECAM writes reach the function");
}

Test(pci, read_only_fields_stay)
{
	wr(3, PCI_VENDOR_ID, 0xffffffff, 4);
	wr(3, PCI_CLASS_REVISION, 0, 4);
	wr(3, PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
	wr(3, PCI_INTERRUPT_PIN, 0, 1);
	wr(3, PCI_HEADER_TYPE, 0x80, 1);
	cr_assert_eq(rd(3, PCI_VENDOR_ID, 4), 0x56781234);
	cr_assert_eq(rd(3, PCI_CLASS_REVISION, 4), 0x0c032007);
	cr_assert_eq(rd(3, PCI_SUBSYSTEM_VENDOR_ID, 4), 0xef01abcd);
	cr_assert_eq(rd(3, PCI_INTERRUPT_PIN, 1), 2);
	cr_assert_eq(rd(3, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(rd(3, PCI_ROM_ADDRESS, 4), 0, "no expansion ROM");
	wr(3, PCI_ROM_ADDRESS, 0xffffffff, 4);
	cr_assert_eq(rd(3, PCI_ROM_ADDRESS, 4), 0);
}

Test(pci, command_and_status_masks)
{
	cr_assert_eq(rd(3, PCI_COMMAND, 2), PCI_COMMAND_MEMORY, "firmware enabled decoding");
	wr(3, PCI_COMMAND, 0xffff, 2);
	cr_assert_eq(rd(3, PCI_COMMAND, 2), 0x0547);
	/* Status: error bits are write-1-to-clear, the rest read-only. */
	fn.cfg[PCI_STATUS + 1] = 0xf9;
	wr(3, PCI_STATUS, 0x2000 | PCI_STATUS_CAP_LIST, 2);
	cr_assert_eq(rd(3, PCI_STATUS, 2), 0xd900);
	wr(3, PCI_COMMAND, 0xffff0000u | PCI_COMMAND_MEMORY, 4);
	cr_assert_eq(rd(3, PCI_STATUS, 2), 0, "dword write: ones clear every error bit");
	cr_assert_eq(rd(3, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
}

Test(pci, writable_scratch_fields)
{
	wr(3, PCI_CACHE_LINE_SIZE, 0x10, 1);
	wr(3, PCI_LATENCY_TIMER, 0x40, 1);
	cr_assert_eq(rd(3, PCI_CACHE_LINE_SIZE, 2), 0x4010);
	cr_assert_eq(rd(3, PCI_INTERRUPT_LINE, 1), pci_intx_ioapic_pin(3, 1), "preset line");
	wr(3, PCI_INTERRUPT_LINE, 0x0b, 1);
	cr_assert_eq(rd(3, PCI_INTERRUPT_LINE, 1), 0x0b);
}

Test(pci, intx_swizzle)
{
	const int a = PCI_INTX_IRQ_BASE; /* INTA's line (x86: IOAPIC pin 20) */

	cr_assert_eq(pci_intx_ioapic_pin(0, 0), a);
	cr_assert_eq(pci_intx_ioapic_pin(1, 0), a + 1);
	cr_assert_eq(pci_intx_ioapic_pin(3, 0), a + 3);
	cr_assert_eq(pci_intx_ioapic_pin(3, 1), a);
	cr_assert_eq(pci_intx_ioapic_pin(4, 3), a + 3);
	cr_assert_eq(pci_intx_ioapic_pin(31, 2), a + 1);
}

Test(pci, bars_placed_aligned_in_the_window)
{
	uint32_t bar0 = rd(3, PCI_BASE_ADDRESS_0, 4);
	uint32_t bar2 = rd(3, PCI_BASE_ADDRESS_2, 4);
	cr_assert_eq(bar0, PCI_MMIO32_BASE);
	cr_assert_eq(bar2 & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	cr_assert_eq((bar2 & ~0xfu) % 0x4000, 0);
	cr_assert_geq(bar2 & ~0xfu, PCI_MMIO32_BASE + 0x1000);
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_3, 4), 0);
	uint32_t v;
	cr_assert_eq(io_bus_read(&mmio, PCI_MMIO32_BASE + 8, &v, 4), 1);
	cr_assert_eq(rec.last_off, 8);
	cr_assert_eq(io_bus_read(&mmio, (bar2 & ~0xfu) + 0x3ffc, &v, 4), 1);
	cr_assert_eq(rec.last_off, 0x3ffc);
	cr_assert_eq(pci_func_bar_addr(&fn, 2), bar2 & ~0xfu);
}

Test(pci, bar_sizing_32bit)
{
	wr(3, PCI_COMMAND, 0, 2);
	wr(3, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	wr(3, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_1, 4), 0, "unimplemented BAR");
	wr(3, PCI_BASE_ADDRESS_0, 0xe1234567, 4);
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_0, 4), 0xe1234000, "low bits are the size");
	wr(3, PCI_BASE_ADDRESS_0 + 1, 0xff, 1);
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_0, 4), 0xe123f000, "byte writes too");
}

Test(pci, bar_sizing_64bit_both_halves)
{
	rec.moves = 0;
	wr(3, PCI_COMMAND, 0, 2);
	wr(3, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	wr(3, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_2, 4), 0xffffc00c, "size mask + 64-bit + prefetch");
	cr_assert_eq(rd(3, PCI_BASE_ADDRESS_3, 4), 0xffffffff, "upper half all address");
	cr_assert_eq(rec.moves, 2, "only the disable moved anything (both BARs)");
}

Test(pci, memory_decoding_toggles_mapping)
{
	uint32_t v;
	rec.moves = 0;
	wr(3, PCI_COMMAND, 0, 2);
	cr_assert_eq(rec.moves, 2, "both BARs unmapped");
	cr_assert_eq(rec.last_on, false);
	cr_assert_eq(rec.last_was_on, true);
	cr_assert_eq(io_bus_read(&mmio, PCI_MMIO32_BASE, &v, 4), 0, "unclaimed when off");
	wr(3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(rec.moves, 4);
	cr_assert(rec.last_on);
	cr_assert_eq(rec.last_addr, pci_func_bar_addr(&fn, 2));
	cr_assert_eq(io_bus_read(&mmio, PCI_MMIO32_BASE, &v, 4), 1);
	wr(3, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cr_assert_eq(rec.moves, 4, "no change, no callback");
}

Test(pci, moving_a_bar_remaps_it)
{
	uint32_t v;
	rec.moves = 0;
	wr(3, PCI_BASE_ADDRESS_0, 0xf8000000, 4);
	cr_assert_eq(rec.moves, 1);
	cr_assert_eq(rec.last_bar, 0);
	cr_assert_eq(rec.last_old, PCI_MMIO32_BASE);
	cr_assert_eq(rec.last_addr, 0xf8000000);
	cr_assert_eq(io_bus_read(&mmio, PCI_MMIO32_BASE, &v, 4), 0);
	cr_assert_eq(io_bus_read(&mmio, 0xf8000010, &v, 4), 1);
	cr_assert_eq(rec.last_off, 0x10);
	/* 64-bit BAR above 4 GiB. */
	wr(3, PCI_BASE_ADDRESS_3, 0x1, 4);
	cr_assert_eq(rec.last_bar, 2);
	cr_assert_eq(rec.last_addr >> 32, 1);
	cr_assert_eq(io_bus_read(&mmio, rec.last_addr + 4, &v, 4), 1);
	/* Address 0 means unmapped. */
	wr(3, PCI_BASE_ADDRESS_0, 0, 4);
	cr_assert_eq(rec.last_on, false);
	cr_assert_eq(fn.bars[0].mapped, false);
}

Test(pci, overlapping_bar_stays_unmapped)
{
	struct pci_func other;
	struct rec r2 = {0};
	pci_func_init(&other, &test_id, "other", &rec_func_ops, &r2);
	cr_assert_eq(pci_func_set_bar(&other, 0, 0x1000, 0, &rec_ops, &r2), 0);
	cr_assert_eq(pci_bus_add(&bus, &other, -1), 1, "first free device");
	wr(1, PCI_BASE_ADDRESS_0, PCI_MMIO32_BASE, 4); /* on top of device 3's BAR 0 */
	cr_assert_eq(other.bars[0].mapped, false);
	uint32_t v;
	cr_assert_eq(io_bus_read(&mmio, PCI_MMIO32_BASE, &v, 4), 1);
	cr_assert_eq(rec.reads, 1, "device 3 still answers");
	cr_assert_eq(pci_bus_add(&bus, &other, 3), -EBUSY);
}

Test(pci, bar_declaration_checks)
{
	struct pci_func f;
	pci_func_init(&f, &test_id, "f", NULL, NULL);
	cr_assert_eq(pci_func_set_bar(&f, 0, 0x1800, 0, &rec_ops, NULL), -EINVAL);
	cr_assert_eq(pci_func_set_bar(&f, 0, 8, 0, &rec_ops, NULL), -EINVAL);
	cr_assert_eq(pci_func_set_bar(&f, 5, 0x1000, PCI_BASE_ADDRESS_MEM_TYPE_64, &rec_ops, NULL),
		     -EINVAL);
	cr_assert_eq(pci_func_set_bar(&f, 6, 0x1000, 0, &rec_ops, NULL), -EINVAL);
	cr_assert_eq(pci_func_set_bar(&f, 0, 0x1000, PCI_BASE_ADDRESS_SPACE_IO, &rec_ops, NULL),
		     -EINVAL);
}

Test(pci, capability_chain)
{
	struct pci_func f;
	pci_func_init(&f, &test_id, "f", NULL, NULL);
	cr_assert_eq(f.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, 0);
	cr_assert_eq(pci_func_add_cap(&f, 0x09, 14), 0x40);
	cr_assert_eq(pci_func_add_cap(&f, 0x11, 12), 0x50, "dword aligned");
	cr_assert_eq(pci_func_add_cap(&f, 0x05, 0xa8), -ENOSPC);
	cr_assert(f.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	uint8_t ids[4], n = 0;
	for (uint8_t p = f.cfg[PCI_CAPABILITY_LIST]; p && n < 4; p = f.cfg[p + 1])
		ids[n++] = f.cfg[p];
	cr_assert_eq(n, 2);
	cr_assert_eq(ids[0], 0x09);
	cr_assert_eq(ids[1], 0x11);
	uint8_t v = 0xff;
	pci_func_config_write(&f, 0x51, &v, 1);
	cr_assert_eq(f.cfg[0x51], 0, "next pointer is read-only");
}

Test(pci, bar_access_helper_checks_bounds)
{
	uint32_t v;
	cr_assert_eq(pci_func_bar_access(&fn, 0, 0xffc, &v, 4, false), 0);
	cr_assert_eq(rec.last_off, 0xffc);
	cr_assert_eq(pci_func_bar_access(&fn, 0, 0xffe, &v, 4, false), -EINVAL);
	cr_assert_eq(pci_func_bar_access(&fn, 1, 0, &v, 4, false), -EINVAL);
	cr_assert_eq(pci_func_bar_access(&fn, 9, 0, &v, 4, true), -EINVAL);
}
