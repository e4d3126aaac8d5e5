/* devices/pci/vfio_pci: a passed-through function's configuration space, MSI-X routes and BAR
 * plan, over the fake VFIO layer. */
#include <criterion/criterion.h>
#include <linux/pci_regs.h>

#include "devices/pci/vfio_pci.h"
#include "tests/unit/fixtures/fake_vfio.h"

static struct fake_vfio f;
static struct vfio_container c;
static struct vfio_group g;
static struct vfio_device d;
static struct vfio_pci vp;
static char err[512];

/* What the owner was told. */
static struct {
	int enables, routes, moves;
	bool on;
	uint16_t nvec;
	uint16_t last_vector;
	struct vfio_pci_route last;
	int last_bar;
	bool bar_on;
	uint64_t bar_addr;
} rec;

static void on_enable(void *opaque, bool on, uint16_t nvec)
{
	(void)opaque;
	rec.enables++;
	rec.on = on;
	rec.nvec = nvec;
}

static void on_route(void *opaque, uint16_t vector, const struct vfio_pci_route *r)
{
	(void)opaque;
	rec.routes++;
	rec.last_vector = vector;
	rec.last = *r;
}

static void on_bar(void *opaque, int bar, bool on, uint64_t addr)
{
	/* the device decodes whenever the guest may reach its BAR */
	cr_assert(f.config[PCI_COMMAND] & PCI_COMMAND_MEMORY || bar == 4,
		  "BAR %d %s while the device's memory decoding is off", bar, on ? "on" : "off");
	(void)opaque;
	rec.moves++;
	rec.last_bar = bar;
	rec.bar_on = on;
	rec.bar_addr = addr;
}

static const struct vfio_pci_irq_ops irq_ops = {on_enable, on_route, on_bar};

static void open_dev(void)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
}

static void setup(void)
{
	fake_vfio_init(&f);
	memset(&rec, 0, sizeof(rec));
	err[0] = '\0';
}

static void teardown(void)
{
	vfio_pci_destroy(&vp);
	fake_vfio_fini(&f);
}

static void init_vp(void)
{
	open_dev();
	cr_assert_eq(vfio_pci_init(&vp, &d, &irq_ops, NULL, err, sizeof(err)), 0, "%s", err);
}

TestSuite(vfio_pci, .init = setup, .fini = teardown);

static uint32_t rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	vfio_pci_config_read(&vp, off, &v, len);
	return v;
}

static void wr(uint32_t off, uint32_t v, uint32_t len)
{
	vfio_pci_config_write(&vp, off, &v, len);
}

Test(vfio_pci, identity_passes_through)
{
	init_vp();
	cr_assert_eq(rd(PCI_VENDOR_ID, 4), 0x00101b36);
	cr_assert_eq(rd(PCI_CLASS_REVISION, 4), 0x01080200);
	cr_assert_eq(rd(PCI_INTERRUPT_PIN, 1), 1);
	cr_assert_eq(rd(0x100, 4), 0, "extended space reads 0");
	/* the bus's function answers the same through its hooks */
	uint32_t v = 0;
	pci_func_config_read(&vp.func, PCI_VENDOR_ID, &v, 4);
	cr_assert_eq(v, 0x00101b36);
}

Test(vfio_pci, bar_sizing_protocol_with_64_bit_bar)
{
	init_vp();
	cr_assert_eq(rd(PCI_BASE_ADDRESS_0, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
	wr(PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	wr(PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_0, 4), 0xffffc000u | PCI_BASE_ADDRESS_MEM_TYPE_64);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	/* the guest places it above 4 GiB */
	wr(PCI_BASE_ADDRESS_0, 0xe0004000, 4);
	wr(PCI_BASE_ADDRESS_1, 0x1, 4);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_0, 4), 0xe0004000u | PCI_BASE_ADDRESS_MEM_TYPE_64);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_1, 4), 1);
	cr_assert_eq(vp.bars[0].addr, 0x1e0004000ull);
	/* the device's registers were not written: the host's addresses stay the host's */
	cr_assert_eq(f.cfg_writes, 0);
	cr_assert_eq(rec.moves, 0, "decoding is off");
}

Test(vfio_pci, prefetchable_and_io_bars_keep_their_flags)
{
	init_vp();
	wr(PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_2, 4), 0xffff0000u | PCI_BASE_ADDRESS_MEM_PREFETCH);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_3, 4), 0, "BAR 3 is not implemented");
	wr(PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_3, 4), 0);
	wr(PCI_BASE_ADDRESS_4, 0xffffffff, 4);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_4, 4), 0xffffffe0u | PCI_BASE_ADDRESS_SPACE_IO);
	wr(PCI_BASE_ADDRESS_4, 0xc040, 4);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_4, 4), 0xc040u | PCI_BASE_ADDRESS_SPACE_IO);
	/* byte writes merge into the register */
	wr(PCI_BASE_ADDRESS_2 + 3, 0xfe, 1);
	wr(PCI_BASE_ADDRESS_2 + 2, 0x01, 1);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_2, 4), 0xfe010000u | PCI_BASE_ADDRESS_MEM_PREFETCH);
}

Test(vfio_pci, command_decoding_moves_bars)
{
	init_vp();
	wr(PCI_BASE_ADDRESS_2, 0xfe000000, 4);
	wr(PCI_BASE_ADDRESS_4, 0xc040, 4);
	wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cr_assert_eq(rec.moves, 1, "BAR 0 at 0 does not decode, BAR 4 is I/O");
	cr_assert_eq(rec.last_bar, 2);
	cr_assert(rec.bar_on);
	cr_assert_eq(rec.bar_addr, 0xfe000000ull);
	/* bus master reaches the device, at its command register */
	cr_assert_eq(f.last_cfg_write_off, PCI_COMMAND);
	cr_assert_eq(f.config[PCI_COMMAND] & PCI_COMMAND_MASTER, PCI_COMMAND_MASTER);
	cr_assert_eq(rd(PCI_COMMAND, 2) & 7, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	cr_assert_eq(rec.moves, 2);
	cr_assert_eq(rec.last_bar, 4);
	cr_assert_eq(rec.bar_addr, 0xc040);
	/* moving a decoding BAR: off at the old place, on at the new */
	wr(PCI_BASE_ADDRESS_2, 0xfd000000, 4);
	cr_assert_eq(rec.moves, 4);
	cr_assert_eq(rec.bar_addr, 0xfd000000ull);
	wr(PCI_COMMAND, 0, 2);
	cr_assert_eq(rec.moves, 6);
	cr_assert_not(rec.bar_on);
}

Test(vfio_pci, expansion_rom_is_emulated)
{
	init_vp();
	wr(PCI_ROM_ADDRESS, 0xfffff800, 4);
	cr_assert_eq(rd(PCI_ROM_ADDRESS, 4), 0xffff0000u);
	wr(PCI_ROM_ADDRESS, 0xfeb00001, 4);
	cr_assert_eq(rd(PCI_ROM_ADDRESS, 4), 0xfeb00001u);
	cr_assert_eq(f.cfg_writes, 0);
	f.regions[VFIO_PCI_ROM_REGION_INDEX].data[0] = 0x55;
	f.regions[VFIO_PCI_ROM_REGION_INDEX].data[1] = 0xaa;
	uint16_t sig = 0;
	cr_assert_eq(vfio_pci_rom_read(&vp, 0, &sig, 2), 0);
	cr_assert_eq(sig, 0xaa55);
}

/* The ROM decodes with its enable bit and memory decoding on: told to the owner as
 * VFIO_PCI_ROM_BAR, and taken back when either goes off. */
Test(vfio_pci, expansion_rom_decoding_moves)
{
	init_vp();
	wr(PCI_ROM_ADDRESS, 0xfeb00000, 4);
	wr(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	int before = rec.moves;
	cr_assert(rec.last_bar != VFIO_PCI_ROM_BAR, "not enabled: not decoding");
	wr(PCI_ROM_ADDRESS, 0xfeb00001, 4);
	cr_assert_eq(rec.moves, before + 1);
	cr_assert_eq(rec.last_bar, VFIO_PCI_ROM_BAR);
	cr_assert(rec.bar_on);
	cr_assert_eq(rec.bar_addr, 0xfeb00000);
	wr(PCI_COMMAND, 0, 2);
	cr_assert_eq(rec.last_bar, VFIO_PCI_ROM_BAR, "memory decoding off: the ROM goes too");
	cr_assert_not(rec.bar_on);
	wr(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	wr(PCI_ROM_ADDRESS, 0xfeb00000, 4);
	cr_assert_eq(rec.last_bar, VFIO_PCI_ROM_BAR, "enable bit off");
	cr_assert_not(rec.bar_on);
}

Test(vfio_pci, no_rom_region_reads_zero)
{
	f.regions[VFIO_PCI_ROM_REGION_INDEX].size = 0;
	init_vp();
	wr(PCI_ROM_ADDRESS, 0xfffff800, 4);
	cr_assert_eq(rd(PCI_ROM_ADDRESS, 4), 0);
	uint8_t b;
	cr_assert_eq(vfio_pci_rom_read(&vp, 0, &b, 1), -ENODEV);
}

Test(vfio_pci, msi_is_hidden_from_the_capability_list)
{
	init_vp();
	cr_assert_eq(rd(PCI_CAPABILITY_LIST, 1), 0x40);
	cr_assert_eq(rd(0x40, 1), PCI_CAP_ID_PM);
	cr_assert_eq(rd(0x41, 1), 0x70, "PM's next skips MSI at 0x50");
	cr_assert_eq(rd(0x70, 1), PCI_CAP_ID_MSIX);
	cr_assert_eq(rd(0x71, 1), 0x90);
	cr_assert_eq(rd(0x90, 1), PCI_CAP_ID_EXP);
	cr_assert_eq(rd(0x50, 4), 0);
	/* a write to MSI's control never reaches the device */
	wr(0x52, PCI_MSI_FLAGS_ENABLE, 2);
	cr_assert_eq(f.cfg_writes, 0);
	cr_assert_eq(f.config[0x52] & PCI_MSI_FLAGS_ENABLE, 0);
}

Test(vfio_pci, msi_first_in_the_list_is_skipped_from_the_header)
{
	f.config[PCI_CAPABILITY_LIST] = 0x50;
	init_vp();
	cr_assert_eq(rd(PCI_CAPABILITY_LIST, 1), 0x70);
}

/* Writes vector `v`'s entry: address, data, control. */
static void entry(uint16_t v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	uint64_t a = addr;
	uint32_t words[2] = {data, ctrl};
	vfio_pci_bar_write(&vp, 0, 0x2000 + 16u * v, &a, 8);
	vfio_pci_bar_write(&vp, 0, 0x2000 + 16u * v + 8, words, 8);
}

Test(vfio_pci, msix_table_writes_make_the_routing_plan)
{
	init_vp();
	cr_assert_eq(vp.nvec, 65);
	cr_assert_eq(rd(0x72, 2), 64, "Table Size is the device's");
	entry(3, 0xfee00000, 0x4041, 0);
	cr_assert_eq(rec.routes, 0, "MSI-X is off: nothing routes");
	wr(0x72, PCI_MSIX_FLAGS_ENABLE, 2);
	cr_assert_eq(rec.enables, 1);
	cr_assert(rec.on);
	cr_assert_eq(rec.nvec, 65);
	cr_assert_eq(rec.routes, 1, "only vector 3 is unmasked");
	cr_assert_eq(rec.last_vector, 3);
	cr_assert(rec.last.active);
	cr_assert_eq(rec.last.addr, 0xfee00000ull);
	cr_assert_eq(rec.last.data, 0x4041);
	cr_assert_eq(rd(0x72, 2), 64 | PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(f.cfg_writes, 0, "Enable is the VMM's, never the device's register");
	/* reprogramming an active vector re-routes it at each write (address, then data: the
	 * spec leaves an unmasked change undefined, we follow every step); masking detaches it */
	entry(3, 0xfee01000, 0x4042, 0);
	cr_assert_eq(rec.routes, 3);
	cr_assert_eq(rec.last.addr, 0xfee01000ull);
	cr_assert_eq(rec.last.data, 0x4042);
	uint32_t mask = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	vfio_pci_bar_write(&vp, 0, 0x2000 + 16 * 3 + 12, &mask, 4);
	cr_assert_eq(rec.routes, 4);
	cr_assert_not(rec.last.active);
	/* the same write again is no change */
	vfio_pci_bar_write(&vp, 0, 0x2000 + 16 * 3 + 12, &mask, 4);
	cr_assert_eq(rec.routes, 4);
	/* the table reads back as written */
	uint32_t w = 0;
	vfio_pci_bar_read(&vp, 0, 0x2000 + 16 * 3 + 8, &w, 4);
	cr_assert_eq(w, 0x4042);
	/* nothing of the table reached the device's BAR */
	uint8_t zero[16] = {0};
	cr_assert_arr_eq(f.regions[0].data + 0x2000 + 48, zero, 16);
}

/* Which vectors a PBA read covers (65 vectors: two words, the second with one vector). */
Test(vfio_pci, pba_vectors_of_a_read)
{
	init_vp();
	uint16_t first = 9, n = 9;
	cr_assert(vfio_pci_pba_vectors(&vp, 0, 0x3000, 8, &first, &n));
	cr_assert(first == 0 && n == 64, "%u+%u", first, n);
	cr_assert(vfio_pci_pba_vectors(&vp, 0, 0x3004, 4, &first, &n));
	cr_assert(first == 32 && n == 32, "%u+%u", first, n);
	cr_assert(vfio_pci_pba_vectors(&vp, 0, 0x3008, 8, &first, &n));
	cr_assert(first == 64 && n == 1, "only vector 64 is there: %u+%u", first, n);
	cr_assert_not(vfio_pci_pba_vectors(&vp, 0, 0x3010, 8, &first, &n), "past the PBA");
	cr_assert_not(vfio_pci_pba_vectors(&vp, 0, 0x2000, 8, &first, &n), "the table");
	cr_assert_not(vfio_pci_pba_vectors(&vp, 2, 0x3000, 8, &first, &n), "another BAR");
}

Test(vfio_pci, function_mask_and_pending_delivery)
{
	init_vp();
	entry(0, 0xfee00000, 0x30, 0);
	entry(64, 0xfee00000, 0x31, 0);
	wr(0x72, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	cr_assert_eq(rec.routes, 0, "function masked: nothing active");
	vfio_pci_msix_set_pending(&vp, 64);
	uint64_t pba[2] = {0};
	vfio_pci_bar_read(&vp, 0, 0x3000 + 8, &pba[1], 8);
	cr_assert_eq(pba[1], 1, "vector 64 pending");
	wr(0x72, PCI_MSIX_FLAGS_ENABLE, 2);
	cr_assert_eq(rec.routes, 2);
	cr_assert_eq(rec.last_vector, 64);
	cr_assert(rec.last.active);
	cr_assert(rec.last.deliver_pending);
	vfio_pci_bar_read(&vp, 0, 0x3000 + 8, &pba[1], 8);
	cr_assert_eq(pba[1], 0, "delivered: no longer pending");
	struct vfio_pci_route r;
	vfio_pci_msix_route(&vp, 0, &r);
	cr_assert(r.active);
	cr_assert_eq(r.data, 0x30);
	wr(0x72, 0, 2);
	cr_assert_eq(rec.enables, 2);
	cr_assert_not(rec.on);
	cr_assert_not(rec.last.active);
}

Test(vfio_pci, bar_accesses_outside_msix_reach_the_device)
{
	init_vp();
	uint32_t v = 0x12345678;
	vfio_pci_bar_write(&vp, 0, 0x14, &v, 4);
	cr_assert_eq(memcmp(f.regions[0].data + 0x14, &v, 4), 0);
	v = 0;
	vfio_pci_bar_read(&vp, 0, 0x14, &v, 4);
	cr_assert_eq(v, 0x12345678);
	vfio_pci_bar_write(&vp, 0, 0x3000, &v, 4); /* the PBA is read-only */
	cr_assert_eq(f.regions[0].data[0x3000], 0);
	vfio_pci_bar_read(&vp, 0, 16384, &v, 4);
	cr_assert_eq(v, 0xffffffff, "outside the BAR");
	vfio_pci_bar_read(&vp, 3, 0, &v, 4);
	cr_assert_eq(v, 0xffffffff, "no such BAR");
}

static void assert_part(const struct vfio_pci_bar_plan *p, unsigned i, uint64_t off, uint64_t size,
			bool mmap)
{
	cr_assert_lt(i, p->nparts);
	cr_assert_eq(p->parts[i].offset, off, "part %u offset 0x%llx", i,
		     (unsigned long long)p->parts[i].offset);
	cr_assert_eq(p->parts[i].size, size, "part %u size 0x%llx", i,
		     (unsigned long long)p->parts[i].size);
	cr_assert_eq(p->parts[i].mmap, mmap, "part %u", i);
}

Test(vfio_pci, mmap_plan_traps_the_msix_pages)
{
	init_vp();
	struct vfio_pci_bar_plan p;
	cr_assert_eq(vfio_pci_bar_plan(&vp, 0, 4096, &p), 0);
	cr_assert_eq(p.nparts, 2);
	assert_part(&p, 0, 0, 0x2000, true);
	assert_part(&p, 1, 0x2000, 0x2000, false); /* the table's page and the PBA's */
	/* with 64 KiB pages, nothing of a 16 KiB BAR maps */
	cr_assert_eq(vfio_pci_bar_plan(&vp, 0, 65536, &p), 0);
	cr_assert_eq(p.nparts, 1);
	assert_part(&p, 0, 0, 0x4000, false);
}

Test(vfio_pci, mmap_plan_with_the_table_inside_the_bar)
{
	fake_put32(f.config + 0x74, 0x1000);
	fake_put32(f.config + 0x78, 0x1800);
	init_vp();
	struct vfio_pci_bar_plan p;
	cr_assert_eq(vfio_pci_bar_plan(&vp, 0, 4096, &p), 0);
	cr_assert_eq(p.nparts, 3);
	assert_part(&p, 0, 0, 0x1000, true);
	assert_part(&p, 1, 0x1000, 0x1000, false);
	assert_part(&p, 2, 0x2000, 0x2000, true);
}

Test(vfio_pci, mmap_plan_follows_sparse_areas)
{
	f.regions[2].areas[0] = (struct vfio_region_sparse_mmap_area){0x100, 0x3f00};
	init_vp();
	struct vfio_pci_bar_plan p;
	cr_assert_eq(vfio_pci_bar_plan(&vp, 2, 4096, &p), 0);
	cr_assert_eq(p.nparts, 4);
	assert_part(&p, 0, 0, 0x1000, false); /* the area's first page is not whole */
	assert_part(&p, 1, 0x1000, 0x3000, true);
	assert_part(&p, 2, 0x4000, 0x4000, false);
	assert_part(&p, 3, 0x8000, 0x8000, true);
}

Test(vfio_pci, mmap_plan_of_io_and_unmappable_bars)
{
	f.regions[0].flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
	init_vp();
	struct vfio_pci_bar_plan p;
	cr_assert_eq(vfio_pci_bar_plan(&vp, 4, 4096, &p), 0);
	cr_assert_eq(p.nparts, 1);
	assert_part(&p, 0, 0, 32, false);
	cr_assert_eq(vfio_pci_bar_plan(&vp, 0, 4096, &p), 0);
	cr_assert_eq(p.nparts, 1);
	assert_part(&p, 0, 0, 0x4000, false);
	cr_assert_eq(vfio_pci_bar_plan(&vp, 1, 4096, &p), -EINVAL, "upper half of BAR 0");
	cr_assert_eq(vfio_pci_bar_plan(&vp, 2, 3000, &p), -EINVAL, "page size");
}

Test(vfio_pci, refuses_msix_outside_its_bar)
{
	fake_put32(f.config + 0x74, 0x3c00); /* 65 vectors need 1040 bytes: past 16 KiB */
	open_dev();
	cr_assert_eq(vfio_pci_init(&vp, &d, &irq_ops, NULL, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, FAKE_BDF ": MSI-X table (BAR 0 + 0x3c00)"), "%s", err);
	fake_put32(f.config + 0x74, 0x2000 | 4); /* BAR 4 is I/O */
	cr_assert_eq(vfio_pci_init(&vp, &d, &irq_ops, NULL, err, sizeof(err)), -EINVAL);
}

Test(vfio_pci, refuses_a_bar_size_that_is_no_power_of_two)
{
	f.regions[2].size = 0x3000;
	open_dev();
	cr_assert_eq(vfio_pci_init(&vp, &d, &irq_ops, NULL, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "BAR 2: size 0x3000 is no power of two"), "%s", err);
}

Test(vfio_pci, survives_a_looping_capability_list)
{
	f.config[0x91] = 0x40; /* PCIe points back at PM */
	init_vp();
	cr_assert_eq(vp.msix_cap, 0x70);
	cr_assert_eq(vp.msi_cap, 0x50);
}

Test(vfio_pci, config_writes_pass_through_in_runs)
{
	init_vp();
	/* Cache Line Size and Latency Timer: the device's, written as one 2-byte run */
	wr(PCI_CACHE_LINE_SIZE, 0x4010, 2);
	cr_assert_eq(f.last_cfg_write_off, PCI_CACHE_LINE_SIZE);
	cr_assert_eq(f.last_cfg_write_len, 2);
	cr_assert_eq(rd(PCI_CACHE_LINE_SIZE, 2), 0x4010);
	/* Interrupt Line is the VMM's; Pin beside it the device's (and read-only there) */
	int n = (int)f.cfg_writes;
	wr(PCI_INTERRUPT_LINE, 11, 1);
	cr_assert_eq((int)f.cfg_writes, n);
	cr_assert_eq(rd(PCI_INTERRUPT_LINE, 2), 0x010b);
	/* bad widths and offsets are ignored */
	wr(0xfe, 0xffffffff, 4);
	cr_assert_eq(rd(0xfe, 4), 0);
}

/* Placement as firmware does it: memory BARs naturally aligned one after the other in the
 * window, read back through the registers, decoding on and told to the owner; I/O left alone.
 * Without a 64-bit window the 64-bit BAR goes in the 32-bit one. */
Test(vfio_pci, place_bars_in_window)
{
	init_vp();
	struct vfio_pci_windows w = {0xf0001000, 0xf0100000, 0, 0};
	cr_assert_eq(vfio_pci_place_bars(&vp, &w, err, sizeof(err)), 0, "%s", err);
	uint32_t v;
	vfio_pci_config_read(&vp, PCI_BASE_ADDRESS_0, &v, 4);
	cr_assert_eq(v & ~0xfu, 0xf0004000, "BAR0 (16 KiB) aligned up: 0x%x", v);
	vfio_pci_config_read(&vp, PCI_BASE_ADDRESS_1, &v, 4);
	cr_assert_eq(v, 0, "BAR0's upper half");
	vfio_pci_config_read(&vp, PCI_BASE_ADDRESS_2, &v, 4);
	cr_assert_eq(v & ~0xfu, 0xf0010000, "BAR2 (64 KiB) after it: 0x%x", v);
	vfio_pci_config_read(&vp, PCI_BASE_ADDRESS_4, &v, 4);
	cr_assert_eq(v & ~3u, 0, "the I/O BAR is not placed");
	cr_assert_eq(w.next32, 0xf0020000);
	uint16_t cmd;
	vfio_pci_config_read(&vp, PCI_COMMAND, &cmd, 2);
	cr_assert(cmd & PCI_COMMAND_MEMORY);
	cr_assert(f.config[PCI_COMMAND] & PCI_COMMAND_MEMORY, "the device decodes too");
	cr_assert_eq(rec.moves, 2, "BAR0 and BAR2 decode");
	cr_assert_eq(rec.last_bar, 2);
	cr_assert_eq(rec.bar_addr, 0xf0010000);
}

/* With a 64-bit window, the 64-bit BAR (BAR0) goes there, both halves of its register read back
 * and told to the owner; the 32-bit BAR (BAR2) stays in the 32-bit window. */
Test(vfio_pci, place_bars_64bit_above_4g)
{
	init_vp();
	struct vfio_pci_windows w = {0xf0000000, 0xf0100000, 0xC000000000ull + 0x1000,
				     0x10000000000ull};
	cr_assert_eq(vfio_pci_place_bars(&vp, &w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rd(PCI_BASE_ADDRESS_0, 4) & ~0xfu, 0x4000, "BAR0's low half, aligned up");
	cr_assert_eq(rd(PCI_BASE_ADDRESS_1, 4), 0xC0, "BAR0's upper half");
	cr_assert_eq(rd(PCI_BASE_ADDRESS_0, 4) & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64, "flags kept");
	cr_assert_eq(rd(PCI_BASE_ADDRESS_2, 4) & ~0xfu, 0xf0000000, "BAR2 in the 32-bit window");
	cr_assert_eq(w.next64, 0xC000000000ull + 0x8000);
	cr_assert_eq(w.next32, 0xf0010000);
	cr_assert_eq(vp.bars[0].mapped_addr, 0xC000004000ull, "the owner was told");
	cr_assert(vp.bars[0].mapped);
}

/* A BAR larger than the 32-bit window fits in the 64-bit one (a GPU's); one larger than that
 * is refused naming the window. */
Test(vfio_pci, place_bars_64bit_window_full)
{
	init_vp();
	struct vfio_pci_windows w = {0xf0000000, 0xf0100000, 0x100000000ull, 0x100002000ull};
	cr_assert_eq(vfio_pci_place_bars(&vp, &w, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "BAR 0 (16 KiB) does not fit in the 64-bit PCI memory window (8 KiB "
			      "left)"),
		  "%s", err);
	cr_assert_eq(w.next64, 0x100000000ull, "nothing taken");
	cr_assert_eq(w.next32, 0xf0000000);
}

Test(vfio_pci, place_bars_refuses_a_full_window)
{
	init_vp();
	/* 64 KiB: BAR0 fits, BAR2 does not */
	struct vfio_pci_windows w = {0xf0000000, 0xf0010000, 0, 0};
	cr_assert_eq(vfio_pci_place_bars(&vp, &w, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "BAR 2 (64 KiB) does not fit in the 32-bit PCI memory window"), "%s",
		  err);
	cr_assert_eq(w.next32, 0xf0000000, "nothing taken");
	cr_assert_eq(rec.moves, 0, "decoding stays off");
}
