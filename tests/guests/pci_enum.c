/* PCI bus 0 as a driver sees it, the same walk on x86 and arm64 (the architecture's part is
 * pci_enum.h's hooks: pci_enum_x86.c, aarch64/pci_enum_dt.c):
 *   - every function's 256-byte header: 8- and 16-bit reads match the dword, and (x86) conf1
 *     and ECAM read the same; absent functions (and bus 1) read all-ones at every width;
 *   - header type 0, IDs, class codes, revision, interrupt pin and line;
 *   - BAR sizing (decoding off, write all-ones, read the mask, restore; 64-bit BARs as pairs):
 *     sizes are powers of two, addresses aligned, the original value comes back, each memory
 *     BAR where the platform puts BARs (arm64: a window of the host bridge's ranges);
 *   - on each virtio function (vendor 0x1af4, device 0x1040 + ID; virtio 1.2 section 4.1.4):
 *     the capability chain (no loop, dword-aligned, past the header), virtio capabilities of
 *     cfg_type 1..5 with bar/offset/length inside an implemented memory BAR and aligned as
 *     4.1.4.3-4.1.4.6 require, the notify region long enough for every queue's
 *     queue_notify_off, the PCI configuration access capability (4.1.4.9) reading num_queues
 *     like the BAR does, and the MSI-X capability (table and PBA inside their BAR);
 *   - memory decoding off makes the BAR read all-ones, back on restores it;
 *   - each INTx pin where the platform says it goes: x86's MP table entry names the interrupt
 *     line; arm64's interrupt-map gives it a level GIC SPI (and the msi-map names the ITS).
 * With `vmm` (our VMM), exact expectations: host bridge 1b36:0008 class 060000 at 00:00.0,
 * virtio devices from slot 1 on, BAR 0 64-bit 16 KiB / BAR 2 32-bit 4 KiB with the layout of
 * virtio/transport/virtio_pci.h, MSI-X table size = num_queues + 1, INTx line (the IOAPIC pin
 * on x86, the SPI on arm64) PCI_INTX_IRQ_BASE + (slot + pin - 1) % 4 and its MP table entry or
 * interrupt-map entry, and all-ones with decoding off.
 *
 * Command line: [vmm] [devices=N] (virtio functions expected); x86: [ecam=ADDR] (default
 *   0xE0000000; QEMU q35: 0xB0000000) [no_ecam]. */
#include "pci_enum.h"
#include "guest.h"
#include "pci.h"
#include "virtio_pci.h"

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#define MAX_CAPS 48

bool pci_enum_strict;
static unsigned virtio_seen, checks;

/* ---- configuration reads ---- */

static uint32_t c32(uint8_t dev, uint8_t fn, uint16_t off)
{
	return pci_cfg_read32(0, dev, fn, off);
}

static void w32(uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
	pci_cfg_write32(0, dev, fn, off, v);
}

/* The dword at `off` against its bytes and halves, and against the architecture's second way
 * in (x86: ECAM); returns false (with a message) at the first difference. */
static bool same_every_way(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t *dword)
{
	uint32_t d = pci_cfg_read32(bus, dev, fn, off), other;

	*dword = d;
	for (unsigned i = 0; i < 4; i++) {
		uint8_t b = pci_cfg_read8(bus, dev, fn, (uint16_t)(off + i));
		if (b != (uint8_t)(d >> 8 * i)) {
			printf("  %02x:%02x.%x +0x%x: byte 0x%02x, dword 0x%08x\n", bus, dev, fn,
			       off + i, b, d);
			return false;
		}
	}
	for (unsigned i = 0; i < 4; i += 2) {
		uint16_t h = pci_cfg_read16(bus, dev, fn, (uint16_t)(off + i));
		if (h != (uint16_t)(d >> 8 * i)) {
			printf("  %02x:%02x.%x +0x%x: word 0x%04x, dword 0x%08x\n", bus, dev, fn,
			       off + i, h, d);
			return false;
		}
	}
	/* The PCI config access window (4.1.4.9) reads through to a BAR: its length is 0 here. */
	if (pci_enum_arch_read32(bus, dev, fn, off, &other) && other != d) {
		printf("  %02x:%02x.%x +0x%x: 0x%08x, the other way 0x%08x\n", bus, dev, fn, off, d,
		       other);
		return false;
	}
	return true;
}

/* The whole header every way. */
static void compare_methods(uint8_t dev, uint8_t fn)
{
	uint32_t d;

	for (uint16_t off = 0; off < 256; off += 4)
		TEST_ASSERT_MSG(same_every_way(0, dev, fn, off, &d), "00:%02x.%x: header +0x%x",
				dev, fn, off);
	checks++;
}

static void expect_absent(uint8_t bus, uint8_t dev, uint8_t fn)
{
	static const uint16_t offs[] = {0x00, 0x08, 0x0c, 0x10, 0x34, 0x3c, 0xfc};

	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint32_t a;

		TEST_ASSERT_MSG(same_every_way(bus, dev, fn, offs[i], &a) && a == 0xffffffffu,
				"absent %02x:%02x.%x +0x%x reads 0x%x", bus, dev, fn, offs[i], a);
	}
	checks++;
}

/* ---- BARs (PCI 3.0 section 6.2.5.1) ---- */

static uint32_t size_one(uint8_t dev, uint8_t fn, uint16_t off, uint32_t *orig)
{
	uint32_t mask;

	*orig = c32(dev, fn, off);
	w32(dev, fn, off, 0xffffffffu);
	mask = c32(dev, fn, off);
	w32(dev, fn, off, *orig);
	TEST_ASSERT_MSG(c32(dev, fn, off) == *orig, "00:%02x.%x +0x%x not restored", dev, fn, off);
	return mask;
}

static void size_bars(struct pci_enum_func *f)
{
	uint16_t cmd = pci_cfg_read16(0, f->dev, f->fn, PCI_COMMAND);

	pci_cfg_write16(0, f->dev, f->fn, PCI_COMMAND,
			cmd & (uint16_t) ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (unsigned i = 0; i < 6; i++) {
		struct pci_enum_bar *b = &f->bars[i];
		uint16_t off = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * i);
		uint32_t orig, mask = size_one(f->dev, f->fn, off, &orig), orig_hi, mask_hi = ~0u;
		uint64_t m;

		if (!mask)
			continue;
		b->io = mask & PCI_BASE_ADDRESS_SPACE_IO;
		b->is64 = !b->io &&
			  (mask & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
		TEST_ASSERT_MSG(!b->is64 || i < 5, "BAR 5 claims 64 bits");
		if (b->is64)
			mask_hi = size_one(f->dev, f->fn, off + 4, &orig_hi);
		m = b->io ? (0xffff0000u | (mask & ~3u)) : (mask & ~0xfu);
		m |= (uint64_t)mask_hi << 32;
		b->size = ~m + 1;
		b->addr = b->io ? (orig & ~3u)
				: ((orig & ~0xfu) | (b->is64 ? (uint64_t)orig_hi << 32 : 0));
		TEST_ASSERT_MSG(b->size && !(b->size & (b->size - 1)),
				"00:%02x.%x BAR %u: mask 0x%llx is not a power-of-two size", f->dev,
				f->fn, i, (unsigned long long)m);
		TEST_ASSERT_MSG(!(b->addr & (b->size - 1)), "00:%02x.%x BAR %u: 0x%llx unaligned",
				f->dev, f->fn, i, (unsigned long long)b->addr);
		printf("  BAR %u: %s%s at 0x%llx, %llu bytes\n", i, b->io ? "I/O" : "memory",
		       b->is64 ? " 64-bit" : "", (unsigned long long)b->addr,
		       (unsigned long long)b->size);
		if (!b->io)
			pci_enum_arch_check_bar(f, i);
		if (b->is64)
			f->bars[++i].upper = true;
	}
	pci_cfg_write16(0, f->dev, f->fn, PCI_COMMAND, cmd);
	TEST_ASSERT_EQ(pci_cfg_read16(0, f->dev, f->fn, PCI_COMMAND), cmd);
	checks++;
}

/* ---- virtio capabilities (virtio 1.2 section 4.1.4) ---- */

struct vcaps {
	uint16_t at[VIRTIO_PCI_CAP_PCI_CFG + 1]; /* first of each cfg_type */
	uint64_t addr[VIRTIO_PCI_CAP_PCI_CFG + 1];
	uint32_t len[VIRTIO_PCI_CAP_PCI_CFG + 1];
	uint16_t msix;
};

static uint8_t c8(const struct pci_enum_func *f, uint16_t off)
{
	return pci_cfg_read8(0, f->dev, f->fn, off);
}

/* Checks one vendor capability's region against its BAR; returns its address. */
static uint64_t check_region(const struct pci_enum_func *f, uint16_t cap, uint8_t type)
{
	uint8_t bar = c8(f, cap + VIRTIO_PCI_CAP_BAR);
	uint32_t off = c32(f->dev, f->fn, cap + VIRTIO_PCI_CAP_OFFSET);
	uint32_t len = c32(f->dev, f->fn, cap + VIRTIO_PCI_CAP_LENGTH);
	uint64_t end;

	TEST_ASSERT_MSG(bar < 6 && f->bars[bar].size && !f->bars[bar].io && !f->bars[bar].upper,
			"cap type %u at 0x%x: BAR %u is not a memory BAR", type, cap, bar);
	TEST_ASSERT_MSG(!__builtin_add_overflow((uint64_t)off, len, &end) &&
			    end <= f->bars[bar].size,
			"cap type %u: 0x%x + 0x%x past BAR %u (0x%llx bytes)", type, off, len, bar,
			(unsigned long long)f->bars[bar].size);
	TEST_ASSERT_MSG(pci_enum_arch_mapped(f->bars[bar].addr, end),
			"cap type %u: BAR %u at 0x%llx is not mapped", type, bar,
			(unsigned long long)f->bars[bar].addr);
	/* 4.1.4.3.1, 4.1.4.4.1, 4.1.4.6.1: common and device config dword-aligned, notify
	 * 2-byte aligned. */
	if (type == VIRTIO_PCI_CAP_COMMON_CFG || type == VIRTIO_PCI_CAP_DEVICE_CFG)
		TEST_ASSERT_MSG(off % 4 == 0, "cap type %u offset 0x%x not 4-aligned", type, off);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		TEST_ASSERT_MSG(off % 2 == 0, "notify offset 0x%x not 2-aligned", off);
	printf("  virtio cap type %u at 0x%02x: BAR %u + 0x%x, 0x%x bytes\n", type, cap, bar, off,
	       len);
	return f->bars[bar].addr + off;
}

static void walk_caps(const struct pci_enum_func *f, struct vcaps *v)
{
	uint16_t cap = c8(f, PCI_CAPABILITY_LIST), seen[MAX_CAPS];
	unsigned n = 0;

	TEST_ASSERT(pci_cfg_read16(0, f->dev, f->fn, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	for (; cap; cap = c8(f, cap + PCI_CAP_LIST_NEXT)) {
		uint8_t id = c8(f, cap), type = c8(f, cap + VIRTIO_PCI_CAP_CFG_TYPE);

		TEST_ASSERT_MSG(cap >= 0x40 && cap % 4 == 0, "capability at 0x%x", cap);
		TEST_ASSERT_MSG(n < MAX_CAPS, "capability chain does not end");
		for (unsigned i = 0; i < n; i++)
			TEST_ASSERT_MSG(seen[i] != cap, "capability chain loops at 0x%x", cap);
		seen[n++] = cap;
		if (id == PCI_CAP_ID_MSIX) {
			v->msix = cap;
			continue;
		}
		if (id != PCI_CAP_ID_VNDR || type < 1 || type > VIRTIO_PCI_CAP_PCI_CFG)
			continue;
		TEST_ASSERT_MSG(c8(f, cap + VIRTIO_PCI_CAP_LEN) >= sizeof(struct virtio_pci_cap),
				"cap type %u: cap_len %u", type, c8(f, cap + VIRTIO_PCI_CAP_LEN));
		if (v->at[type])
			continue; /* 4.1.4: the driver uses the first of each type */
		v->at[type] = cap;
		v->len[type] = c32(f->dev, f->fn, cap + VIRTIO_PCI_CAP_LENGTH);
		if (type != VIRTIO_PCI_CAP_PCI_CFG)
			v->addr[type] = check_region(f, cap, type);
	}
	/* Device configuration (type 4) is optional: virtio-rng has none. */
	for (unsigned t = 1; t <= VIRTIO_PCI_CAP_PCI_CFG; t++)
		TEST_ASSERT_MSG(v->at[t] || t == VIRTIO_PCI_CAP_DEVICE_CFG,
				"no virtio capability of cfg_type %u", t);
	TEST_ASSERT_MSG(v->msix, "no MSI-X capability");
	checks++;
}

/* Every queue's notification address inside the notify region (4.1.4.4). */
static uint16_t check_notify(const struct pci_enum_func *f, const struct vcaps *v)
{
	uint64_t common = v->addr[VIRTIO_PCI_CAP_COMMON_CFG];
	uint16_t cap = v->at[VIRTIO_PCI_CAP_NOTIFY_CFG];
	uint32_t mult = c32(f->dev, f->fn, cap + VIRTIO_PCI_NOTIFY_CAP_MULT);
	uint16_t nq = mmio_read16(common + VIRTIO_PCI_COMMON_NUMQ);

	TEST_ASSERT_MSG(c8(f, cap + VIRTIO_PCI_CAP_LEN) >= sizeof(struct virtio_pci_notify_cap),
			"notify cap_len %u", c8(f, cap + VIRTIO_PCI_CAP_LEN));
	TEST_ASSERT_MSG((mult & (mult - 1)) == 0, "notify_off_multiplier %u", mult);
	TEST_ASSERT_MSG(v->len[VIRTIO_PCI_CAP_COMMON_CFG] >= 0x38, "common cfg 0x%x bytes",
			v->len[VIRTIO_PCI_CAP_COMMON_CFG]);
	TEST_ASSERT(nq > 0);
	for (uint16_t q = 0; q < nq; q++) {
		uint64_t at;

		mmio_write16(common + VIRTIO_PCI_COMMON_Q_SELECT, q);
		at = (uint64_t)mmio_read16(common + VIRTIO_PCI_COMMON_Q_NOFF) * mult;
		TEST_ASSERT_MSG(at + 2 <= v->len[VIRTIO_PCI_CAP_NOTIFY_CFG],
				"queue %u notifies at +0x%llx, region 0x%x", q,
				(unsigned long long)at, v->len[VIRTIO_PCI_CAP_NOTIFY_CFG]);
	}
	printf("  %u queue(s), notify_off_multiplier %u\n", nq, mult);
	return nq;
}

/* 4.1.4.9: num_queues read through the PCI configuration access window equals the BAR's. */
static void check_cfg_window(const struct pci_enum_func *f, const struct vcaps *v, uint16_t nq)
{
	uint16_t cap = v->at[VIRTIO_PCI_CAP_PCI_CFG], common = v->at[VIRTIO_PCI_CAP_COMMON_CFG];
	uint32_t off = c32(f->dev, f->fn, common + VIRTIO_PCI_CAP_OFFSET);

	TEST_ASSERT(c8(f, cap + VIRTIO_PCI_CAP_LEN) >= sizeof(struct virtio_pci_cfg_cap));
	pci_cfg_write8(0, f->dev, f->fn, cap + VIRTIO_PCI_CAP_BAR,
		       c8(f, common + VIRTIO_PCI_CAP_BAR));
	w32(f->dev, f->fn, cap + VIRTIO_PCI_CAP_OFFSET, off + VIRTIO_PCI_COMMON_NUMQ);
	w32(f->dev, f->fn, cap + VIRTIO_PCI_CAP_LENGTH, 2);
	TEST_ASSERT_EQ(pci_cfg_read16(0, f->dev, f->fn, cap + sizeof(struct virtio_pci_cap)), nq);
	printf("  PCI configuration access window: num_queues %u: ok\n", nq);
}

static void check_msix(const struct pci_enum_func *f, const struct vcaps *v, uint16_t nq)
{
	uint16_t n =
	    (pci_cfg_read16(0, f->dev, f->fn, v->msix + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
	uint32_t t = c32(f->dev, f->fn, v->msix + PCI_MSIX_TABLE);
	uint32_t p = c32(f->dev, f->fn, v->msix + PCI_MSIX_PBA);
	const struct pci_enum_bar *tb = &f->bars[t & PCI_MSIX_TABLE_BIR],
				  *pb = &f->bars[p & PCI_MSIX_PBA_BIR];
	uint64_t toff = t & PCI_MSIX_TABLE_OFFSET, poff = p & PCI_MSIX_PBA_OFFSET;

	TEST_ASSERT_MSG(tb->size && !tb->io && toff + 16ull * n <= tb->size,
			"MSI-X table (BAR %u + 0x%llx, %u entries) outside its BAR", t & 7,
			(unsigned long long)toff, n);
	TEST_ASSERT_MSG(pb->size && !pb->io && poff + 8ull * ((n + 63) / 64) <= pb->size,
			"MSI-X PBA outside its BAR");
	printf("  MSI-X: %u vectors, table BAR %u + 0x%llx, PBA BAR %u + 0x%llx\n", n, t & 7,
	       (unsigned long long)toff, p & 7, (unsigned long long)poff);
	if (pci_enum_strict) {
		TEST_ASSERT_MSG(n == nq + 1, "MSI-X table size %u, want num_queues + 1 = %u", n,
				nq + 1);
		TEST_ASSERT_EQ(t, 2); /* BAR 2 + 0x000 */
		TEST_ASSERT_EQ(p, 0x800 | 2);
	}
}

/* Our VMM's layout (virtio/transport/virtio_pci.h). */
static void check_vmm_layout(const struct pci_enum_func *f, const struct vcaps *v)
{
	TEST_ASSERT(f->bars[0].is64 && f->bars[0].size == 0x4000);
	TEST_ASSERT(!f->bars[2].is64 && !f->bars[2].io && f->bars[2].size == 0x1000);
	TEST_ASSERT(!f->bars[3].size && !f->bars[4].size && !f->bars[5].size);
	TEST_ASSERT_EQ(v->addr[VIRTIO_PCI_CAP_COMMON_CFG], f->bars[0].addr);
	TEST_ASSERT_EQ(v->addr[VIRTIO_PCI_CAP_ISR_CFG], f->bars[0].addr + 0x1000);
	if (v->at[VIRTIO_PCI_CAP_DEVICE_CFG])
		TEST_ASSERT_EQ(v->addr[VIRTIO_PCI_CAP_DEVICE_CFG], f->bars[0].addr + 0x2000);
	TEST_ASSERT_EQ(v->addr[VIRTIO_PCI_CAP_NOTIFY_CFG], f->bars[0].addr + 0x3000);
	TEST_ASSERT_EQ(v->at[VIRTIO_PCI_CAP_COMMON_CFG], 0x40);
}

/* Memory decoding off: the BAR reads all-ones (our VMM; QEMU: whatever unassigned memory
 * reads); on again: the register again. */
static void check_decode(const struct pci_enum_func *f, const struct vcaps *v)
{
	uint64_t a = v->addr[VIRTIO_PCI_CAP_COMMON_CFG] + VIRTIO_PCI_COMMON_DF;
	uint16_t cmd = pci_cfg_read16(0, f->dev, f->fn, PCI_COMMAND);
	uint32_t on, off;

	mmio_write32(v->addr[VIRTIO_PCI_CAP_COMMON_CFG] + VIRTIO_PCI_COMMON_DFSELECT, 1);
	on = mmio_read32(a); /* device features 32-63: VERSION_1 at least */
	TEST_ASSERT(on & 1u << (VIRTIO_F_VERSION_1 - 32));

	pci_cfg_write16(0, f->dev, f->fn, PCI_COMMAND, cmd & (uint16_t)~PCI_COMMAND_MEMORY);
	off = mmio_read32(a);
	pci_cfg_write16(0, f->dev, f->fn, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
	TEST_ASSERT_EQ(mmio_read32(a), on);
	printf("  decoding off: BAR reads 0x%08x (on: 0x%08x)\n", off, on);
	if (pci_enum_strict)
		TEST_ASSERT_EQ(off, 0xffffffffu);
	else
		TEST_ASSERT_MSG(off != on, "the BAR still decodes with memory decoding off");
}

static void check_virtio(struct pci_enum_func *f)
{
	static const uint32_t vmm_class[] = {[1] = 0x020000, [2] = 0x018000, [3] = 0x078000};
	struct vcaps v = {0};
	uint16_t nq;
	uint32_t id = f->device - 0x1040u;

	TEST_ASSERT_MSG(f->device >= 0x1040 && f->device < 0x1080,
			"00:%02x.%x: 1af4:%04x is not a modern virtio device", f->dev, f->fn,
			f->device);
	TEST_ASSERT_MSG(c8(f, PCI_REVISION_ID) >= 1, "revision 0 (4.1.2.1)");
	TEST_ASSERT(pci_cfg_read16(0, f->dev, f->fn, PCI_SUBSYSTEM_VENDOR_ID) != 0);
	pci_cfg_write16(0, f->dev, f->fn, PCI_COMMAND,
			pci_cfg_read16(0, f->dev, f->fn, PCI_COMMAND) | PCI_COMMAND_MEMORY);
	walk_caps(f, &v);
	nq = check_notify(f, &v);
	check_cfg_window(f, &v, nq);
	check_msix(f, &v, nq);
	check_decode(f, &v);
	if (pci_enum_strict) {
		check_vmm_layout(f, &v);
		TEST_ASSERT_EQ(f->class_code, id < 4 && vmm_class[id] ? vmm_class[id] : 0xff0000u);
	}
	virtio_seen++;
}

/* ---- interrupts ---- */

static void check_intx(const struct pci_enum_func *f)
{
	uint8_t pin = c8(f, PCI_INTERRUPT_PIN);

	if (!pin)
		return;
	TEST_ASSERT_MSG(pin <= 4, "interrupt pin %u", pin);
	pci_enum_arch_check_intx(f, pin, c8(f, PCI_INTERRUPT_LINE));
}

/* ---- the walk ---- */

static void check_function(uint8_t dev, uint8_t fn, uint32_t id)
{
	struct pci_enum_func f = {.dev = dev, .fn = fn, .vendor = (uint16_t)id, .device = id >> 16};
	uint8_t hdr = pci_cfg_read8(0, dev, fn, PCI_HEADER_TYPE);

	f.class_code = c32(dev, fn, PCI_CLASS_REVISION) >> 8;
	printf("00:%02x.%x %04x:%04x class %06x header 0x%02x\n", dev, fn, f.vendor, f.device,
	       f.class_code, hdr);
	compare_methods(dev, fn);
	if ((hdr & 0x7f) != PCI_HEADER_TYPE_NORMAL)
		return; /* bridges: not ours to size */
	if (dev == 0 && fn == 0 && pci_enum_strict) {
		TEST_ASSERT_EQ(id, 0x00081b36u);
		TEST_ASSERT_EQ(f.class_code, 0x060000u);
	}
	if (f.vendor != VIRTIO_PCI_VENDOR_ID && !(dev == 0 && fn == 0))
		return; /* the q35 chipset's devices: only compared */
	size_bars(&f);
	if (f.vendor == VIRTIO_PCI_VENDOR_ID) {
		TEST_ASSERT_MSG(!pci_enum_strict || dev == virtio_seen + 1,
				"virtio device %u at slot %u, want %u", virtio_seen, dev,
				virtio_seen + 1);
		check_virtio(&f);
		check_intx(&f);
	} else if (pci_enum_strict) {
		for (unsigned i = 0; i < 6; i++)
			TEST_ASSERT_MSG(!f.bars[i].size, "host bridge BAR %u", i);
	}
}

int guest_main(void)
{
	uint64_t want = 0;
	unsigned present = 0;

	pci_enum_strict = cmdline_has("vmm");
	pci_enum_arch_setup();
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint32_t id = c32(dev, 0, PCI_VENDOR_ID);
		bool multi;

		if ((id & 0xffff) == 0xffff) {
			expect_absent(0, dev, 0);
			continue;
		}
		multi = pci_cfg_read8(0, dev, 0, PCI_HEADER_TYPE) & 0x80;
		for (uint8_t fn = 0; fn < 8; fn++) {
			uint32_t fid = fn ? c32(dev, fn, PCI_VENDOR_ID) : id;

			if ((fid & 0xffff) == 0xffff) {
				expect_absent(0, dev, fn);
				continue;
			}
			TEST_ASSERT_MSG(fn == 0 || multi,
					"00:%02x.%x present, header not multi-function", dev, fn);
			present++;
			check_function(dev, fn, fid);
		}
	}
	expect_absent(1, 0, 0);
	expect_absent(1, 3, 0);
	printf("%u functions, %u virtio; %u header comparisons and sweeps\n", present, virtio_seen,
	       checks);
	pci_enum_arch_finish();
	if (cmdline_get_u64("devices", &want))
		TEST_ASSERT_EQ(virtio_seen, want);
	return 0;
}
