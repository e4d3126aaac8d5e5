/* x86's dtb_devices on arm64: the machine's devices found from the device tree (x0 at entry; our
 * VMM's firmware/fdt.c and firmware/aarch64/fdt_aarch64.c, or QEMU's virt board) and each checked
 * to answer:
 *   - the root: "linux,dummy-virt", 2 + 2 cells, its interrupt-parent the GIC;
 *   - /cpus (machine_checks.c: expect_cpus=N of them, distinct MPIDRs, the boot CPU's among
 *     them): device_type "cpu", enable-method "psci" with more than one; our VMM (`vmm`): reg
 *     is KVM's reset MPIDR of vCPU i;
 *   - /memory (machine_checks.c: expect_mem=SIZE; the image and the tree in it), device_type
 *     "memory", the top page below the tree written and read back;
 *   - the GIC: a GICv3 whose GICD_PIDR2 says architecture 3 and GICD_IIDR implementer Arm,
 *     GICD_TYPER's SPIs (our VMM: 128), one redistributor frame per CPU of /cpus in its range
 *     (GICR_PIDR2 3, the last frame marked; our VMM: the range exactly that); or a GICv2
 *     (arm,cortex-a15-gic) whose GICC_IIDR says architecture 2, at most 8 CPUs;
 *   - the PL011 (the one the runtime prints on) and the PL031: PrimeCell IDs 0xb105f00d, part
 *     0x011 / 0x031 by Arm; the RTC's data register moves by a second; a level SPI each (our
 *     VMM: SPI 0 and 1);
 *   - every "virtio,mmio" node: MagicValue "virt", Version 2, a DeviceID (not 0 on our VMM,
 *     whose windows all hold a device; QEMU lists empty ones), an SPI edge-rising or level-high
 *     (our VMM: level-high, SPI 16 + window), the same windows and lines the virtio driver's
 *     discovery found; expect_virtio=N devices;
 *   - no SPI claimed by two devices (PCI INTx lines are shared among PCI functions only);
 *   - the PCI host bridge (expect_pci: there must be one): its ECAM answers at 00:00.0 (our VMM:
 *     1b36:0008); pci_enum checks the rest;
 *   - /psci (machine_checks.c: method hvc, the version, the calls): compatible arm,psci-0.2 or
 *     later;
 *   - the timer: four PPIs 13, 14, 11, 10 (secure, non-secure physical, virtual, hypervisor),
 *     level-high (a GICv2's CPU mask in bits 15:8); the virtual and the non-secure physical
 *     timer each raise their PPI once; the counter moves (machine_checks.c);
 *   - the VM generation ID (microsoft,vmgenid; required of our VMM, QEMU's virt has none): its
 *     16 bytes in RAM below the image, not all zero, an edge-rising SPI of its own (our VMM:
 *     the ACPI GED's, SPI 2);
 *   - /chosen: bootargs is the command line the guest runs with (printed: the host compares it
 *     with what it gave) and names no virtio-mmio window; stdout-path (an alias or a path) names
 *     the PL011; with expect_initrd[=SIZE] the initrd's range (that size) lies in RAM apart
 *     from the image and the tree and begins with INITRD_MAGIC, without it there is none.
 * Command line: [vmm] [expect_cpus=N] [expect_mem=SIZE] [expect_virtio=N] [expect_pci]
 *   [expect_initrd[=SIZE]]. */
#include "guest.h"
#include "machine_checks.h"
#include "pci.h"
#include "pci_dt.h"
#include "virtio_mmio.h"

#define GIC_SPI		 0 /* the GIC binding's specifier: <type number flags> */
#define GIC_PPI		 1
#define EDGE_RISING	 1
#define LEVEL_HIGH	 4
#define MAX_SPIS	 988
#define GICD_TYPER	 0x0004
#define GICD_IIDR	 0x0008
#define GICD_PIDR2	 0xffe8
#define GICR_TYPER	 0x0008
#define GICR_PIDR2	 0xffe8
#define GICR_TYPER_LAST	 (1u << 4)
#define GICR_FRAME	 0x20000 /* RD_base + SGI_base */
#define GICC_IIDR	 0x00fc
#define JEP106_ARM	 0x43b
#define PRIMECELL_PERIPH 0xfe0 /* PeriphID0-3, then PrimeCellID0-3: a byte per word */
#define PRIMECELL_CELL	 0xff0
#define PRIMECELL_ID	 0xb105f00d
#define ARM_DESIGNER	 0x41
#define RTCDR		 0x000
#define Y2020		 1577836800u
#define INITRD_MAGIC	 "dtb_devices initrd"
#define TIMER_PPI_PHYS	 14 /* the timer node's second PPI: EL1 physical (INTID 30) */
#define TIMER_PPI_VIRT	 11 /* its third: the virtual timer (INTID 27) */
/* Our VMM's layout (base/aarch64/arch/layout.h): what `vmm` expects exactly. */
#define VMM_SPIS	   128
#define VMM_PL011_SPI	   0
#define VMM_PL031_SPI	   1
#define VMM_VIRTIO_MMIO	   0x40100000ULL
#define VMM_VIRTIO_SPI(b)  (16 + (unsigned)(((b)-VMM_VIRTIO_MMIO) / 0x1000))
#define VMM_WINDOW	   0x1000
#define VMM_HOST_BRIDGE_ID 0x00081b36u
#define VMM_VMGENID_SPI	   2

extern char __image_start[], __image_end[];

static struct dt t;
static bool strict, gicv3;
static unsigned gic_intids;
static const char *spi_owner[MAX_SPIS];

static uint64_t reg_at(int off, unsigned i, uint64_t *size)
{
	uint32_t len;
	const uint8_t *r = dt_prop(&t, off, "reg", &len);

	TEST_ASSERT_MSG(r && len >= 16 * (i + 1), "%s: no reg[%u]", dt_name(&t, off), i);
	if (size)
		*size = dt_cells(r + 16 * i + 8, 2);
	return dt_cells(r + 16 * i, 2);
}

/* SPI `spi` is `who`'s; PCI INTx lines (who "pci") may be shared among PCI functions. */
static void claim(unsigned spi, const char *who)
{
	TEST_ASSERT_MSG(32 + spi < gic_intids, "%s: SPI %u, the GIC has %u INTIDs", who, spi,
			gic_intids);
	TEST_ASSERT_MSG(!spi_owner[spi] || (!strcmp(who, "pci") && !strcmp(spi_owner[spi], "pci")),
			"SPI %u is %s's and %s's", spi, spi_owner[spi], who);
	spi_owner[spi] = who;
}

/* The node's one SPI (claimed for it) and its flags, edge-rising or level-high. */
static unsigned spi_of(int off, uint32_t *flags)
{
	uint32_t len;
	const uint8_t *irq = dt_prop(&t, off, "interrupts", &len);
	unsigned spi;

	TEST_ASSERT_MSG(irq && len == 12 && dt_cells(irq, 1) == GIC_SPI, "%s: interrupts is no SPI",
			dt_name(&t, off));
	spi = (unsigned)dt_cells(irq + 4, 1);
	*flags = (uint32_t)dt_cells(irq + 8, 1);
	TEST_ASSERT_MSG(*flags == EDGE_RISING || *flags == LEVEL_HIGH, "%s: flags 0x%x",
			dt_name(&t, off), *flags);
	claim(spi, dt_name(&t, off));
	return spi;
}

static void check_root(void)
{
	TEST_ASSERT_EQ(dt_path(&t, "/"), 0);
	TEST_ASSERT(dt_compatible(&t, 0, "linux,dummy-virt"));
	TEST_ASSERT_EQ(dt_u32(&t, 0, "#address-cells", 0), 2);
	TEST_ASSERT_EQ(dt_u32(&t, 0, "#size-cells", 0), 2);
}

static void check_cpus(void)
{
	int cpus = dt_path(&t, "/cpus"), depth = 1;
	unsigned i = 0;
	uint32_t len;

	machine_check_cpus("expect_cpus");
	for (int off = dt_next_node(&t, cpus, &depth); off >= 0 && depth > 1;
	     off = dt_next_node(&t, off, &depth)) {
		const char *type = dt_prop(&t, off, "device_type", &len);
		const char *method = dt_prop(&t, off, "enable-method", &len);

		if (depth != 2 || strncmp(dt_name(&t, off), "cpu@", 4))
			continue; /* QEMU's cpu-map */
		TEST_ASSERT_MSG(type && !strcmp(type, "cpu"), "%s: device_type", dt_name(&t, off));
		TEST_ASSERT_MSG(machine.ncpus == 1 || (method && !strcmp(method, "psci")),
				"%s: enable-method is not psci", dt_name(&t, off));
		if (strict) /* KVM's reset MPIDR (firmware/aarch64/machine_aarch64.c) */
			TEST_ASSERT_EQ(machine.mpidr[i], (i & 0xf) | ((i >> 4) & 0xff) << 8);
		i++;
	}
	TEST_ASSERT_EQ(i, machine.ncpus);
	printf("cpus: %u\n", i);
}

static void check_memory(void)
{
	int depth = 0;
	uint32_t len;
	uint64_t top = boot_ram_top() - 8, keep;

	machine_check_memory();
	for (int off = dt_next_node(&t, -1, &depth); off >= 0;
	     off = dt_next_node(&t, off, &depth)) {
		const char *type = dt_prop(&t, off, "device_type", &len);
		if (depth == 1 && !strncmp(dt_name(&t, off), "memory@", 7))
			TEST_ASSERT_MSG(type && !strcmp(type, "memory"), "%s: device_type",
					dt_name(&t, off));
	}
	keep = *(volatile uint64_t *)phys_ptr(top);
	*(volatile uint64_t *)phys_ptr(top) = 0x5a5aa5a5f00dcafeULL;
	TEST_ASSERT_EQ(*(volatile uint64_t *)phys_ptr(top), 0x5a5aa5a5f00dcafeULL);
	*(volatile uint64_t *)phys_ptr(top) = keep;
	printf("memory: %llu MiB\n", (unsigned long long)(machine_ram_total() >> 20));
}

static void check_gicv3(int gic, uint64_t d)
{
	uint64_t rsize, r = reg_at(gic, 1, &rsize);
	uint32_t pidr2 = mmio_read32(d + GICD_PIDR2), iidr = mmio_read32(d + GICD_IIDR);
	unsigned frames = 0, seen = 0;
	bool last = false;

	TEST_ASSERT_MSG(((pidr2 >> 4) & 0xf) == 3, "GICD_PIDR2 0x%x: not a GICv3", pidr2);
	TEST_ASSERT_MSG((iidr & 0xfff) == JEP106_ARM, "GICD_IIDR 0x%x: not Arm's", iidr);
	TEST_ASSERT_EQ(d, machine.gicd);
	for (uint64_t off = 0; !last && off + GICR_FRAME <= rsize; off += GICR_FRAME, frames++) {
		uint64_t typer = mmio_read64(r + off + GICR_TYPER), aff = typer >> 32;
		int cpu = machine_cpu_index((aff & 0xffffff) | (aff >> 24) << 32);

		TEST_ASSERT_MSG(cpu >= 0 && !(seen & 1u << cpu),
				"redistributor %u: affinity 0x%llx is no CPU of /cpus, or twice",
				frames, (unsigned long long)aff);
		seen |= 1u << cpu;
		TEST_ASSERT_EQ((mmio_read32(r + off + GICR_PIDR2) >> 4) & 0xf, 3);
		last = typer & GICR_TYPER_LAST;
	}
	TEST_ASSERT_MSG(last, "no redistributor in 0x%llx bytes is marked last",
			(unsigned long long)rsize);
	TEST_ASSERT_EQ(frames, machine.ncpus);
	if (strict) {
		TEST_ASSERT_EQ(rsize, (uint64_t)frames * GICR_FRAME);
		TEST_ASSERT_EQ(gic_intids, 32 + VMM_SPIS);
	}
	printf("gicv3: distributor 0x%llx (PIDR2 0x%x, IIDR 0x%x, %u INTIDs), %u redistributors "
	       "at 0x%llx\n",
	       (unsigned long long)d, pidr2, iidr, gic_intids, frames, (unsigned long long)r);
}

static void check_gicv2(int gic, uint64_t d)
{
	uint64_t c = reg_at(gic, 1, NULL);
	uint32_t iidr = mmio_read32(c + GICC_IIDR);

	TEST_ASSERT_MSG(((iidr >> 16) & 0xf) == 2, "GICC_IIDR 0x%x: not a GICv2", iidr);
	TEST_ASSERT_MSG((mmio_read32(d + GICD_IIDR) & 0xfff) == JEP106_ARM, "GICD_IIDR not Arm's");
	TEST_ASSERT(machine.ncpus <= 8);
	printf("gicv2: distributor 0x%llx (%u INTIDs), CPU interface 0x%llx (IIDR 0x%x)\n",
	       (unsigned long long)d, gic_intids, (unsigned long long)c, iidr);
}

static void check_gic(void)
{
	uint32_t phandle = dt_u32(&t, 0, "interrupt-parent", 0), len;
	int gic = dt_by_phandle(&t, phandle);
	uint64_t d;

	TEST_ASSERT_MSG(gic >= 0, "the root's interrupt-parent names no node");
	gicv3 = dt_compatible(&t, gic, "arm,gic-v3");
	TEST_ASSERT_MSG(gicv3 || dt_compatible(&t, gic, "arm,cortex-a15-gic"),
			"the interrupt-parent is no GICv3 nor GICv2");
	TEST_ASSERT(dt_prop(&t, gic, "interrupt-controller", &len));
	TEST_ASSERT_EQ(dt_u32(&t, gic, "#interrupt-cells", 0), 3);
	d = reg_at(gic, 0, NULL);
	gic_intids = 32 * ((mmio_read32(d + GICD_TYPER) & 0x1f) + 1);
	TEST_ASSERT(gic_intids <= 32 + MAX_SPIS);
	if (gicv3)
		check_gicv3(gic, d);
	else
		check_gicv2(gic, d);
}

/* PeriphID: part number bits 11:0, designer 19:12; PrimeCellID the fixed 0xb105f00d. */
static void check_primecell(int off, uint64_t base, unsigned part)
{
	uint32_t periph = 0, cell = 0;

	TEST_ASSERT_MSG(dt_compatible(&t, off, "arm,primecell"), "%s: not arm,primecell",
			dt_name(&t, off));
	for (unsigned i = 0; i < 4; i++) {
		periph |= (mmio_read32(base + PRIMECELL_PERIPH + 4 * i) & 0xff) << 8 * i;
		cell |= (mmio_read32(base + PRIMECELL_CELL + 4 * i) & 0xff) << 8 * i;
	}
	TEST_ASSERT_MSG(cell == PRIMECELL_ID, "%s: PrimeCellID 0x%x", dt_name(&t, off), cell);
	TEST_ASSERT_MSG((periph & 0xfff) == part && ((periph >> 12) & 0xff) == ARM_DESIGNER,
			"%s: PeriphID 0x%x, want part 0x%03x by Arm", dt_name(&t, off), periph,
			part);
}

/* A PrimeCell node: its base (checked with its IDs), SPI and flags. */
static uint64_t primecell(const char *compat, unsigned part, unsigned *spi, uint32_t *flags)
{
	int off = dt_find_compatible(&t, -1, compat);
	uint64_t size, base;

	TEST_ASSERT_MSG(off >= 0, "no %s", compat);
	base = reg_at(off, 0, &size);
	TEST_ASSERT_MSG(size >= 0x1000, "%s: 0x%llx bytes", compat, (unsigned long long)size);
	*spi = spi_of(off, flags);
	check_primecell(off, base, part);
	return base;
}

static void check_pl011(void)
{
	unsigned spi;
	uint32_t flags;
	uint64_t base = primecell("arm,pl011", 0x011, &spi, &flags);

	TEST_ASSERT_EQ(base, machine.uart);
	if (strict)
		TEST_ASSERT(spi == VMM_PL011_SPI && flags == LEVEL_HIGH);
	printf("pl011 at 0x%llx: SPI %u flags 0x%x\n", (unsigned long long)base, spi, flags);
}

static void check_pl031(void)
{
	unsigned spi;
	uint32_t flags, t0, t1;
	uint64_t base = primecell("arm,pl031", 0x031, &spi, &flags), end;

	if (strict)
		TEST_ASSERT(spi == VMM_PL031_SPI && flags == LEVEL_HIGH);
	t0 = mmio_read32(base + RTCDR);
	TEST_ASSERT_MSG(t0 > Y2020, "RTCDR %u: before 2020", t0);
	end = clock_ticks() + 3000000 * clock_ticks_per_us();
	while ((t1 = mmio_read32(base + RTCDR)) == t0 && clock_ticks() < end)
		delay_us(10000);
	TEST_ASSERT_MSG(t1 == t0 + 1, "RTCDR %u, then %u: not a second later", t0, t1);
	printf("pl031 at 0x%llx: SPI %u flags 0x%x, RTCDR %u then %u\n", (unsigned long long)base,
	       spi, flags, t0, t1);
}

/* The virtio driver's discovery found the window at `base` with this line. */
static bool driver_found(uint64_t base, unsigned spi)
{
	for (unsigned i = 0; i < virtio_mmio_scan(); i++)
		if (virtio_mmio_dev(i)->base == base)
			return virtio_mmio_dev(i)->irq == spi;
	return false;
}

static void check_virtio(void)
{
	uint64_t want, size;
	unsigned n = 0, devices = 0;

	for (int off = dt_find_compatible(&t, -1, "virtio,mmio"); off >= 0;
	     off = dt_find_compatible(&t, off, "virtio,mmio"), n++) {
		uint64_t base = reg_at(off, 0, &size);
		uint32_t flags, id;
		unsigned spi = spi_of(off, &flags);

		TEST_ASSERT_EQ(mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
		TEST_ASSERT_EQ(mmio_read32(base + VIRTIO_MMIO_VERSION), 2);
		id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
		devices += id != 0;
		TEST_ASSERT_MSG(driver_found(base, spi), "the driver did not find 0x%llx on SPI %u",
				(unsigned long long)base, spi);
		if (strict) {
			TEST_ASSERT_MSG(id != 0, "window 0x%llx is empty",
					(unsigned long long)base);
			TEST_ASSERT_EQ(size, VMM_WINDOW);
			TEST_ASSERT_EQ(spi, VMM_VIRTIO_SPI(base));
			TEST_ASSERT_EQ(flags, LEVEL_HIGH);
		}
		if (id)
			printf("virtio-mmio at 0x%llx size 0x%llx SPI %u flags 0x%x: device %u\n",
			       (unsigned long long)base, (unsigned long long)size, spi, flags, id);
	}
	TEST_ASSERT_EQ(n, virtio_mmio_scan());
	printf("virtio-mmio: %u windows, %u devices\n", n, devices);
	if (cmdline_get_u64("expect_virtio", &want))
		TEST_ASSERT_EQ(devices, want);
}

static void check_pci(void)
{
	int off = dt_find_compatible(&t, -1, "pci-host-ecam-generic");
	const struct pci_dt *p;
	uint32_t id;

	TEST_ASSERT_MSG(off >= 0 || !cmdline_has("expect_pci"), "no PCI host bridge");
	if (off < 0)
		return;
	p = pci_dt();
	id = pci_cfg_read32(0, 0, 0, 0);
	TEST_ASSERT_MSG((id & 0xffff) != 0xffff, "the ECAM at 0x%llx: nothing at 00:00.0",
			(unsigned long long)p->ecam);
	if (strict)
		TEST_ASSERT_EQ(id, VMM_HOST_BRIDGE_ID);
	for (unsigned i = 0; i < p->nintx; i++)
		claim(p->intx[i].spi, "pci");
	printf("pci host bridge: ECAM 0x%llx, 00:00.0 %04x:%04x, %u INTx routes\n",
	       (unsigned long long)p->ecam, id & 0xffff, id >> 16, p->nintx);
}

static void check_vmgenid(void)
{
	int off = dt_find_compatible(&t, -1, "microsoft,vmgenid");
	uint64_t size, addr, id[2];
	uint32_t flags;
	unsigned spi;

	if (off < 0) {
		TEST_ASSERT_MSG(!strict, "no microsoft,vmgenid node");
		printf("vmgenid: none\n");
		return;
	}
	addr = reg_at(off, 0, &size);
	TEST_ASSERT_MSG(size == 16 && boot_is_ram(addr, 16) && addr + 16 <= (uint64_t)__image_start,
			"vmgenid: reg 0x%llx+%llu is not 16 bytes of RAM below the image",
			(unsigned long long)addr, (unsigned long long)size);
	spi = spi_of(off, &flags);
	TEST_ASSERT_MSG(flags == EDGE_RISING, "vmgenid: its SPI is not edge-rising");
	if (strict)
		TEST_ASSERT_EQ(spi, VMM_VMGENID_SPI);
	id[0] = *(volatile uint64_t *)phys_ptr(addr);
	id[1] = *(volatile uint64_t *)phys_ptr(addr + 8);
	TEST_ASSERT_MSG(id[0] || id[1], "vmgenid: the ID is zero");
	printf("vmgenid at 0x%llx: SPI %u, ID %016llx%016llx\n", (unsigned long long)addr, spi,
	       (unsigned long long)id[0], (unsigned long long)id[1]);
}

static void check_psci(void)
{
	int off = dt_path(&t, "/psci");

	machine_check_psci();
	TEST_ASSERT_MSG(off >= 0 && (dt_compatible(&t, off, "arm,psci-0.2") ||
				     dt_compatible(&t, off, "arm,psci-1.0")),
			"/psci is not arm,psci-0.2 or later");
}

static void timer_stop(struct trap_frame *f)
{
	(void)f;
	write_sysreg(cntv_ctl_el0, 0);
	write_sysreg(cntp_ctl_el0, 0);
}

/* The timer behind PPI `ppi` raises it once, 1 ms after it is armed. */
static void timer_fires(unsigned ppi)
{
	unsigned intid = 16 + ppi;
	uint64_t seen = irq_count(intid), tval = 1000 * clock_ticks_per_us();
	uint64_t end = clock_ticks() + 2000000 * clock_ticks_per_us();

	irq_set_handler(intid, timer_stop);
	gic_enable(intid);
	if (ppi == TIMER_PPI_VIRT) {
		write_sysreg(cntv_tval_el0, tval);
		write_sysreg(cntv_ctl_el0, 1);
	} else {
		write_sysreg(cntp_tval_el0, tval);
		write_sysreg(cntp_ctl_el0, 1);
	}
	irq_enable();
	while (irq_count(intid) == seen && clock_ticks() < end)
		__asm__ volatile("wfi");
	irq_disable();
	timer_stop(NULL);
	gic_disable(intid);
	irq_set_handler(intid, 0);
	TEST_ASSERT_MSG(irq_count(intid) > seen, "the timer of PPI %u (INTID %u) never fired", ppi,
			intid);
}

static void check_timer(void)
{
	static const uint32_t ppis[4] = {13, 14, TIMER_PPI_VIRT, 10};
	int off = dt_find_compatible(&t, -1, "arm,armv8-timer");
	uint32_t len, mask = gicv3 ? 0 : (1u << machine.ncpus) - 1;
	const uint8_t *irq = off >= 0 ? dt_prop(&t, off, "interrupts", &len) : NULL;

	machine_check_timer();
	TEST_ASSERT_MSG(irq && len == 48, "no timer node with four interrupts");
	for (unsigned i = 0; i < 4; i++) {
		uint32_t type = (uint32_t)dt_cells(irq + 12 * i, 1);
		uint32_t ppi = (uint32_t)dt_cells(irq + 12 * i + 4, 1);
		uint32_t flags = (uint32_t)dt_cells(irq + 12 * i + 8, 1);

		TEST_ASSERT_MSG(type == GIC_PPI && ppi == ppis[i] && (flags & 0xf) == LEVEL_HIGH &&
				    (flags >> 8) == mask,
				"timer interrupt %u: <%u %u 0x%x>, want <1 %u 0x%x>", i, type, ppi,
				flags, ppis[i], LEVEL_HIGH | mask << 8);
	}
	if (!gic_present())
		return; /* the runtime takes interrupts through a GICv3 only */
	timer_fires(TIMER_PPI_VIRT);
	timer_fires(TIMER_PPI_PHYS);
	printf("timer: PPIs 13 14 11 10 level-high; virtual and physical timers fired\n");
}

/* stdout-path: "serial0" (an alias) or a path, either with ":options". */
static int stdout_node(int chosen)
{
	uint32_t len;
	const char *sp = dt_prop(&t, chosen, "stdout-path", &len);
	char name[64];
	size_t n = 0;

	TEST_ASSERT_MSG(sp && len > 1, "/chosen has no stdout-path");
	while (sp[n] && sp[n] != ':' && n + 1 < sizeof(name)) {
		name[n] = sp[n];
		n++;
	}
	name[n] = '\0';
	if (name[0] != '/') {
		const char *path = dt_prop(&t, dt_path(&t, "/aliases"), name, &len);
		TEST_ASSERT_MSG(path && len > 1, "stdout-path \"%s\": no such alias", name);
		return dt_path(&t, path);
	}
	return dt_path(&t, name);
}

static void check_initrd(int chosen)
{
	uint32_t slen, elen;
	const uint8_t *s = dt_prop(&t, chosen, "linux,initrd-start", &slen);
	const uint8_t *e = dt_prop(&t, chosen, "linux,initrd-end", &elen);
	uint64_t start, end, want, image = (uint64_t)(uintptr_t)__image_start;

	if (!cmdline_has("expect_initrd")) {
		TEST_ASSERT_MSG(!s && !e, "/chosen names an initrd nobody gave");
		return;
	}
	TEST_ASSERT_MSG(s && e && (slen == 4 || slen == 8) && (elen == 4 || elen == 8),
			"/chosen: no linux,initrd-start and -end");
	start = dt_cells(s, slen / 4);
	end = dt_cells(e, elen / 4);
	TEST_ASSERT_MSG(start < end && boot_is_ram(start, end - start),
			"initrd 0x%llx-0x%llx is not in RAM", (unsigned long long)start,
			(unsigned long long)end);
	TEST_ASSERT_MSG(end <= image || start >= (uint64_t)(uintptr_t)__image_end,
			"the initrd overlaps the image");
	TEST_ASSERT_MSG(end <= machine.dtb || start >= machine.dtb + t.size,
			"the initrd overlaps the device tree");
	if (cmdline_get_u64("expect_initrd", &want))
		TEST_ASSERT_EQ(end - start, want);
	TEST_ASSERT_MSG(!memcmp(phys_ptr(start), INITRD_MAGIC, sizeof(INITRD_MAGIC) - 1),
			"the initrd does not begin with \"%s\"", INITRD_MAGIC);
	printf("initrd: 0x%llx-0x%llx, \"%s\"\n", (unsigned long long)start,
	       (unsigned long long)end, INITRD_MAGIC);
}

static void check_chosen(void)
{
	int chosen = dt_path(&t, "/chosen"), out;
	uint32_t len;
	const char *args;

	TEST_ASSERT_MSG(chosen >= 0, "no /chosen");
	args = dt_prop(&t, chosen, "bootargs", &len);
	TEST_ASSERT_MSG(args && len > 0 && args[len - 1] == '\0', "/chosen: no bootargs");
	TEST_ASSERT_MSG(!strcmp(args, boot_cmdline()), "bootargs differ from the command line");
	TEST_ASSERT_MSG(!strstr(args, "virtio_mmio.device="), "bootargs name virtio-mmio windows");
	printf("chosen: bootargs \"%s\"\n", args);
	out = stdout_node(chosen);
	TEST_ASSERT_MSG(
	    out >= 0 && dt_compatible(&t, out, "arm,pl011") && reg_at(out, 0, NULL) == machine.uart,
	    "stdout-path does not name the PL011 at 0x%llx", (unsigned long long)machine.uart);
	printf("chosen: stdout-path names %s\n", dt_name(&t, out));
	check_initrd(chosen);
}

int guest_main(void)
{
	TEST_ASSERT_MSG(boot_dt(&t) == 0, "no device tree");
	strict = cmdline_has("vmm");
	printf("device tree: %u bytes at 0x%llx\n", t.size, (unsigned long long)t.paddr);
	check_root();
	check_cpus();
	check_memory();
	check_gic();
	check_pl011();
	check_pl031();
	check_virtio();
	check_pci();
	check_vmgenid();
	check_psci();
	check_timer();
	check_chosen();
	printf("dtb_devices: ok\n");
	return 0;
}
