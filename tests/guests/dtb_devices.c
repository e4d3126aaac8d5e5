/* Finds the machine's devices from the device tree our VMM passes as a PVH module (--dtb; see
 * firmware/fdt.h for the tree and runtime/fdt.h for the reader) and checks each answers:
 *   - /cpus: one node per vCPU, reg = APIC ID 0..n-1, as many as the MP table lists;
 *   - /memory nodes: their total is the PVH memory map's RAM plus the reserved EBDA/BIOS area;
 *   - the IOAPIC ("intel,ce4100-ioapic"): its version register at the DT's address reports as
 *     many pins as... it has (24), and the LAPIC node is at the LAPIC's address;
 *   - the UART ("ns16550a" under the ISA bus): port from reg, its scratch register keeps a value;
 *   - every "virtio,mmio" window: MagicValue "virt", Version 2, a non-zero DeviceID, an
 *     interrupt <pin 1> (level, active high), the same window and pin as the command line's
 *     virtio_mmio.device= entry;
 *   - the test-exit device is the port this guest is about to leave through.
 * Command line: [expect_cpus=N] [expect_virtio=N] [expect_initrd] (the DTB is then module 1). */
#include "fdt.h"
#include "guest.h"
#include "virtio_mmio.h"

#define IOAPIC_VER	  0x01
#define EBDA_TO_1M	  (0x100000 - 0x9FC00)
#define UART_SCRATCH	  7
#define IOAPIC_LEVEL_HIGH 1
#define ISA_IO		  1

static struct dt t;

static uint64_t reg_base(int off, unsigned ac, uint64_t *size, unsigned sc)
{
	uint32_t len;
	const uint8_t *r = dt_prop(&t, off, "reg", &len);
	TEST_ASSERT_MSG(r && len >= 4 * (ac + sc), "%s: no reg", dt_name(&t, off));
	*size = dt_cells(r + 4 * ac, sc);
	return dt_cells(r, ac);
}

static void check_cpus(void)
{
	int cpus = dt_path(&t, "/cpus"), depth = 1, n = 0;
	uint64_t want = 0;
	TEST_ASSERT(cpus >= 0);
	for (int off = dt_next_node(&t, cpus, &depth); off >= 0 && depth == 2;
	     off = dt_next_node(&t, off, &depth)) {
		TEST_ASSERT_EQ(dt_u32(&t, off, "reg", ~0u), n);
		n++;
	}
	TEST_ASSERT_EQ(n, mptable_count_cpus());
	if (cmdline_get_u64("expect_cpus", &want))
		TEST_ASSERT_EQ(n, want);
	printf("cpus: %d\n", n);
}

static void check_memory(void)
{
	uint64_t dt_total = 0, map_total = 0, size;
	uint32_t n;
	int depth = 0;
	for (int off = dt_next_node(&t, -1, &depth); off >= 0;
	     off = dt_next_node(&t, off, &depth)) {
		const char *name = dt_name(&t, off);
		if (depth == 1 && !strncmp(name, "memory@", 7)) {
			reg_base(off, 2, &size, 2);
			dt_total += size;
		}
	}
	const struct hvm_memmap_table_entry *e = pvh_memmap(&n);
	for (uint32_t i = 0; e && i < n; i++)
		map_total += e[i].type == HVM_MEMMAP_TYPE_RAM ? e[i].size : 0;
	TEST_ASSERT_EQ(dt_total, map_total + EBDA_TO_1M);
	printf("memory: %llu MiB\n", (unsigned long long)(dt_total >> 20));
}

static void check_intc(void)
{
	uint64_t size;
	int io = dt_find_compatible(&t, -1, "intel,ce4100-ioapic");
	int la = dt_find_compatible(&t, -1, "intel,ce4100-lapic");
	TEST_ASSERT(io >= 0 && la >= 0);
	TEST_ASSERT_EQ(dt_u32(&t, io, "#interrupt-cells", 0), 2);
	TEST_ASSERT_EQ(dt_u32(&t, 0, "interrupt-parent", 0), dt_u32(&t, io, "phandle", ~0u));
	uint64_t base = reg_base(io, 2, &size, 2);
	mmio_write32(base, IOAPIC_VER);
	unsigned pins = ((mmio_read32(base + 0x10) >> 16) & 0xFF) + 1;
	TEST_ASSERT_EQ(pins, ioapic_pins());
	TEST_ASSERT_EQ(reg_base(la, 2, &size, 2), rdmsr(0x1B) & ~0xFFFULL); /* IA32_APIC_BASE */
	printf("ioapic at 0x%llx: %u pins\n", (unsigned long long)base, pins);
}

/* An ISA I/O port from a node under the ISA bus (reg = <1 port size>). */
static uint16_t isa_port(int off)
{
	uint32_t len;
	int isa = dt_parent(&t, off);
	const uint8_t *r = dt_prop(&t, off, "reg", &len);
	TEST_ASSERT(isa >= 0 && !strncmp(dt_name(&t, isa), "isa", 3));
	TEST_ASSERT_EQ(dt_u32(&t, isa, "#address-cells", 0), 2);
	TEST_ASSERT(r && len == 12 && dt_cells(r, 1) == ISA_IO);
	return (uint16_t)dt_cells(r + 4, 1);
}

static void check_uart(void)
{
	uint32_t len;
	int off = dt_find_compatible(&t, -1, "ns16550a");
	TEST_ASSERT(off >= 0);
	uint16_t port = isa_port(off);
	const uint8_t *irq = dt_prop(&t, off, "interrupts", &len);
	TEST_ASSERT(irq && len == 8);
	outb(port + UART_SCRATCH, 0x5A);
	TEST_ASSERT_EQ(inb(port + UART_SCRATCH), 0x5A);
	printf("uart at port 0x%x irq %u\n", port, (unsigned)dt_cells(irq, 1));
}

/* The command line's window at `base`, or NULL. */
static struct vdev *cmdline_window(uint64_t base)
{
	for (unsigned i = 0; i < virtio_mmio_scan(); i++)
		if (virtio_mmio_dev(i)->base == base)
			return virtio_mmio_dev(i);
	return NULL;
}

static void check_virtio(void)
{
	uint64_t want, size;
	uint32_t len;
	unsigned n = 0;
	for (int off = dt_find_compatible(&t, -1, "virtio,mmio"); off >= 0;
	     off = dt_find_compatible(&t, off, "virtio,mmio"), n++) {
		uint64_t base = reg_base(off, 2, &size, 2);
		const uint8_t *irq = dt_prop(&t, off, "interrupts", &len);
		TEST_ASSERT(irq && len == 8);
		TEST_ASSERT_EQ(dt_cells(irq + 4, 1), IOAPIC_LEVEL_HIGH);
		TEST_ASSERT_EQ(mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
		TEST_ASSERT_EQ(mmio_read32(base + VIRTIO_MMIO_VERSION), 2);
		uint32_t id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
		TEST_ASSERT_MSG(id != 0, "window 0x%llx is empty", (unsigned long long)base);
		struct vdev *d = cmdline_window(base);
		TEST_ASSERT_MSG(d, "window 0x%llx not on the command line",
				(unsigned long long)base);
		TEST_ASSERT_EQ(d->irq, dt_cells(irq, 1));
		printf("virtio-mmio at 0x%llx size 0x%llx irq %u: device %u\n",
		       (unsigned long long)base, (unsigned long long)size,
		       (unsigned)dt_cells(irq, 1), id);
	}
	TEST_ASSERT_EQ(n, virtio_mmio_scan());
	if (cmdline_get_u64("expect_virtio", &want))
		TEST_ASSERT_EQ(n, want);
}

int guest_main(void)
{
	unsigned module;
	TEST_ASSERT_MSG(dt_from_pvh(&t, &module) == 0, "no device tree");
	TEST_ASSERT_EQ(module, cmdline_has("expect_initrd") ? 1 : 0);
	printf("device tree: %u bytes at 0x%llx, PVH module %u\n", t.size,
	       (unsigned long long)t.paddr, module);
	TEST_ASSERT_EQ(dt_path(&t, "/"), 0);
	TEST_ASSERT_EQ(dt_u32(&t, 0, "#address-cells", 0), 2);
	TEST_ASSERT_EQ(dt_u32(&t, 0, "#size-cells", 0), 2);
	uint32_t len;
	const char *args = dt_prop(&t, dt_path(&t, "/chosen"), "bootargs", &len);
	TEST_ASSERT_MSG(args && !strcmp(args, pvh_cmdline()), "bootargs differ from the cmdline");
	check_cpus();
	check_memory();
	check_intc();
	check_uart();
	check_virtio();
	int te = dt_find_compatible(&t, -1, "vmm,isa-debug-exit");
	TEST_ASSERT(te >= 0);
	TEST_ASSERT_EQ(isa_port(te), DEBUG_EXIT_PORT);
	return 0;
}
