/* The arm64 machine's device tree (firmware/fdt.c with firmware/aarch64/fdt_aarch64.c), built from
 * a description filled as the arm64 VM fills it, read back with libfdt node by node, every phandle
 * resolved, and decompiled by dtc into the test log. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "firmware/fdt.h"
#include "firmware/machine.h"
#include "tests/unit/firmware/fdt_check.h"

#define RAM	    MIB(512)
#define INITRD	    (RAM_START + MIB(64))
#define INITRD_SIZE MIB(3)
#define CMDLINE	    "console=ttyAMA0 earlycon root=/dev/vda"

#ifndef HAVE_LIBFDT

Test(fdt_aarch64, refused_without_libfdt)
{
	cr_skip_test("built without libfdt");
}

#else
#include <libfdt.h>

static void build(struct machine *m, int ncpus, bool pci)
{
	machine_init(m);
	cr_assert_eq(machine_add_ram(m, RAM_START, RAM), 0);
	cr_assert_eq(machine_add_cpus(m, ncpus), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_add_pl011(m, PL011_MMIO_BASE, IRQ_PL011), 0);
	cr_assert_eq(machine_set_pl031(m, PL031_MMIO_BASE, IRQ_PL031), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(machine_add_virtio_mmio(m, VIRTIO_MMIO_BASE + (uint64_t)i * 0x1000,
						     VIRTIO_MMIO_SIZE, VIRTIO_MMIO_IRQ(i)),
			     0);
	if (pci) {
		cr_assert_eq(machine_set_pci(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
					     PCI_MMIO32_SIZE, 0, 0),
			     0);
		cr_assert_eq(machine_set_pci_mem64(m, LAYOUT_MMIO64_BASE, LAYOUT_MMIO64_SIZE), 0);
		for (unsigned d = 1; d <= 3; d++)
			cr_assert_eq(
			    machine_add_pci_intx(m, (uint8_t)d, 0, pci_intx_ioapic_pin(d, 0)), 0);
	}
	cr_assert_eq(machine_set_boot_timer(m, BOOT_TIMER_MMIO_BASE, BOOT_TIMER_MMIO_SIZE, 0), 0);
	cr_assert_eq(machine_set_initrd(m, INITRD, INITRD_SIZE), 0);
	machine_set_cmdline(m, CMDLINE);
	cr_assert_eq(m->err, 0);
}

/* The string list `name` of `path` holds `want` (one of its strings). */
static void assert_has_string(const void *fdt, const char *path, const char *name, const char *want)
{
	cr_assert_geq(fdt_stringlist_search(fdt, node(fdt, path), name, want), 0, "%s %s lacks %s",
		      path, name, want);
}

/* <0 pin 4>: an SPI, level high. */
static void assert_spi(const void *fdt, const char *path, uint32_t pin)
{
	const void *p = prop(fdt, path, "interrupts", 12);
	cr_assert_eq(cell(p, 0), FDT_GIC_SPI, "%s type", path);
	cr_assert_eq(cell(p, 1), pin, "%s SPI", path);
	cr_assert_eq(cell(p, 2), FDT_GIC_LEVEL_HIGH, "%s flags", path);
}

/* `phandle` names a node with that compatible. */
static void assert_phandle(const void *fdt, uint32_t phandle, const char *compatible)
{
	int off = fdt_node_offset_by_phandle(fdt, phandle);
	cr_assert_geq(off, 0, "phandle %u: %s", phandle, fdt_strerror(off));
	cr_assert_eq(fdt_node_check_compatible(fdt, off, compatible), 0, "phandle %u is not %s",
		     phandle, compatible);
}

static char pl011_path[64], pl031_path[64], gic_path[64], its_path[96], pci_path[64];

static void paths(void)
{
	snprintf(pl011_path, sizeof(pl011_path), "/pl011@%llx",
		 (unsigned long long)PL011_MMIO_BASE);
	snprintf(pl031_path, sizeof(pl031_path), "/pl031@%llx",
		 (unsigned long long)PL031_MMIO_BASE);
	snprintf(gic_path, sizeof(gic_path), "/interrupt-controller@%llx",
		 (unsigned long long)GIC_DIST_BASE);
	snprintf(its_path, sizeof(its_path), "%s/msi-controller@%llx", gic_path,
		 (unsigned long long)GIC_ITS_BASE(2));
	snprintf(pci_path, sizeof(pci_path), "/pci@%llx", (unsigned long long)PCI_ECAM_BASE);
}

TestSuite(fdt_aarch64, .init = paths);

Test(fdt_aarch64, root_memory_and_reservation)
{
	struct machine m;
	uint64_t a, s;
	build(&m, 2, true);
	void *fdt = tree(&m);
	assert_has_string(fdt, "/", "compatible", "linux,dummy-virt");
	cr_assert_eq(prop_u32(fdt, "/", "#address-cells"), 2);
	cr_assert_eq(prop_u32(fdt, "/", "#size-cells"), 2);
	cr_assert_eq(prop_u32(fdt, "/", "interrupt-parent"), FDT_PHANDLE_GIC);
	assert_phandle(fdt, FDT_PHANDLE_GIC, "arm,gic-v3");
	assert_reg(fdt, "/memory@80000000", RAM_START, RAM);
	cr_assert_str_eq(prop(fdt, "/memory@80000000", "device_type", -1), "memory");
	cr_assert_eq(fdt_num_mem_rsv(fdt), 1);
	cr_assert_eq(fdt_get_mem_rsv(fdt, 0, &a, &s), 0);
	cr_assert_eq(a, RAM_START);
	cr_assert_eq(s, KERNEL_LOAD_ADDR - RAM_START);
	free(fdt);
}

/* KVM's default MPIDR: Aff0 = index % 16, Aff1 = index / 16. */
Test(fdt_aarch64, cpus_are_mpidrs_started_by_psci)
{
	struct machine m;
	const int n = 18;
	build(&m, n, false);
	void *fdt = tree(&m);
	int cpus = node(fdt, "/cpus"), off, i = 0;
	cr_assert_eq(prop_u32(fdt, "/cpus", "#address-cells"), 1);
	cr_assert_eq(prop_u32(fdt, "/cpus", "#size-cells"), 0);
	fdt_for_each_subnode(off, fdt, cpus)
	{
		uint32_t want = (uint32_t)(i % 16) | (uint32_t)(i / 16) << 8;
		char name[32];
		int len;
		const fdt32_t *reg = fdt_getprop(fdt, off, "reg", &len);
		cr_assert_eq(len, 4);
		cr_assert_eq(fdt32_to_cpu(*reg), want, "MPIDR of cpu %d", i);
		snprintf(name, sizeof(name), "cpu@%x", want);
		cr_assert_str_eq(fdt_get_name(fdt, off, NULL), name);
		cr_assert_str_eq(fdt_getprop(fdt, off, "device_type", NULL), "cpu");
		cr_assert_str_eq(fdt_getprop(fdt, off, "compatible", NULL), "arm,arm-v8");
		cr_assert_str_eq(fdt_getprop(fdt, off, "enable-method", NULL), "psci");
		i++;
	}
	cr_assert_eq(i, n);
	cr_assert_eq(machine_arch_cpu_id(16), 0x100);
	cr_assert_eq(machine_arch_cpu_id(4095), 0xff0f);
	assert_has_string(fdt, "/psci", "compatible", "arm,psci-1.0");
	assert_has_string(fdt, "/psci", "compatible", "arm,psci-0.2");
	cr_assert_str_eq(prop(fdt, "/psci", "method", -1), "hvc");
	free(fdt);
}

Test(fdt_aarch64, gicv3_with_its)
{
	struct machine m;
	build(&m, 2, true);
	void *fdt = tree(&m);
	const void *reg = prop(fdt, gic_path, "reg", 32);
	cr_assert_str_eq(prop(fdt, gic_path, "compatible", -1), "arm,gic-v3");
	cr_assert_eq(cell64(reg, 0), GIC_DIST_BASE);
	cr_assert_eq(cell64(reg, 2), GIC_DIST_SIZE);
	cr_assert_eq(cell64(reg, 4), GIC_REDIST_BASE(2), "redistributors end at the distributor");
	cr_assert_eq(cell64(reg, 6), 2 * GIC_REDIST_SIZE, "one frame pair per vCPU");
	cr_assert_eq(prop_u32(fdt, gic_path, "#interrupt-cells"), 3);
	cr_assert_eq(prop_u32(fdt, gic_path, "#address-cells"), 2);
	cr_assert_eq(prop_u32(fdt, gic_path, "#size-cells"), 2);
	prop(fdt, gic_path, "interrupt-controller", 0);
	prop(fdt, gic_path, "ranges", 0);
	cr_assert_str_eq(prop(fdt, its_path, "compatible", -1), "arm,gic-v3-its");
	prop(fdt, its_path, "msi-controller", 0);
	cr_assert_eq(prop_u32(fdt, its_path, "#msi-cells"), 1);
	assert_reg(fdt, its_path, GIC_ITS_BASE(2), GIC_ITS_SIZE);
	assert_phandle(fdt, FDT_PHANDLE_ITS, "arm,gic-v3-its");
	free(fdt);
}

Test(fdt_aarch64, timer_ppis)
{
	static const uint32_t ppis[4] = {13, 14, 11, 10};
	struct machine m;
	build(&m, 1, false);
	void *fdt = tree(&m);
	const void *p = prop(fdt, "/timer", "interrupts", 48);
	cr_assert_str_eq(prop(fdt, "/timer", "compatible", -1), "arm,armv8-timer");
	prop(fdt, "/timer", "always-on", 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(cell(p, 3 * i), FDT_GIC_PPI);
		cr_assert_eq(cell(p, 3 * i + 1), ppis[i]);
		cr_assert_eq(cell(p, 3 * i + 2), FDT_GIC_LEVEL_HIGH);
	}
	free(fdt);
}

Test(fdt_aarch64, primecells_and_their_clock)
{
	struct machine m;
	build(&m, 2, false);
	void *fdt = tree(&m);
	const void *clocks = prop(fdt, pl011_path, "clocks", 8);
	assert_has_string(fdt, pl011_path, "compatible", "arm,pl011");
	assert_has_string(fdt, pl011_path, "compatible", "arm,primecell");
	assert_reg(fdt, pl011_path, PL011_MMIO_BASE, PL0X1_MMIO_SIZE);
	assert_spi(fdt, pl011_path, IRQ_PL011);
	assert_has_string(fdt, pl011_path, "clock-names", "uartclk");
	assert_has_string(fdt, pl011_path, "clock-names", "apb_pclk");
	assert_phandle(fdt, cell(clocks, 0), "fixed-clock");
	assert_phandle(fdt, cell(clocks, 1), "fixed-clock");
	cr_assert_eq(prop_u32(fdt, "/apb-pclk", "clock-frequency"), 24000000);
	cr_assert_eq(prop_u32(fdt, "/apb-pclk", "#clock-cells"), 0);
	assert_has_string(fdt, pl031_path, "compatible", "arm,pl031");
	assert_has_string(fdt, pl031_path, "compatible", "arm,primecell");
	assert_reg(fdt, pl031_path, PL031_MMIO_BASE, PL0X1_MMIO_SIZE);
	assert_spi(fdt, pl031_path, IRQ_PL031);
	assert_phandle(fdt, prop_u32(fdt, pl031_path, "clocks"), "fixed-clock");
	cr_assert_str_eq(prop(fdt, pl031_path, "clock-names", -1), "apb_pclk");
	free(fdt);
}

/* The VM generation ID: its 16 bytes in the reserved RAM, the GED's SPI (an edge); none without
 * the GED that raises it. */
Test(fdt_aarch64, vmgenid)
{
	struct machine m;
	char path[64];
	build(&m, 1, false);
	void *fdt = tree(&m);
	snprintf(path, sizeof(path), "/vmgenid@%llx", (unsigned long long)VMGENID_ADDR);
	cr_assert_lt(fdt_path_offset(fdt, path), 0, "a vmgenid node without one");
	free(fdt);
	cr_assert_eq(machine_set_acpi_ged(&m, ACPI_GED_MMIO_BASE, 4, IRQ_ACPI_GED), 0);
	fdt = tree(&m);
	cr_assert_lt(fdt_path_offset(fdt, path), 0, "a vmgenid node without its ID");
	free(fdt);
	cr_assert_eq(machine_set_vmgenid(&m, VMGENID_ADDR), 0);
	fdt = tree(&m);
	cr_assert_str_eq(prop(fdt, path, "compatible", -1), "microsoft,vmgenid");
	assert_reg(fdt, path, VMGENID_ADDR, 16);
	cr_assert_geq(VMGENID_ADDR, RAM_START);
	cr_assert_leq(VMGENID_ADDR + 16, KERNEL_LOAD_ADDR, "outside the reserved RAM");
	const void *p = prop(fdt, path, "interrupts", 12);
	cr_assert_eq(cell(p, 0), FDT_GIC_SPI);
	cr_assert_eq(cell(p, 1), IRQ_ACPI_GED);
	cr_assert_eq(cell(p, 2), FDT_GIC_EDGE_RISING);
	free(fdt);
}

/* bootargs is the user's line alone (the windows are nodes), stdout-path reaches the PL011
 * through its alias, the initrd is where the loader put it. */
Test(fdt_aarch64, chosen_and_aliases)
{
	struct machine m;
	char line[256];
	build(&m, 2, false);
	void *fdt = tree(&m);
	const void *start = prop(fdt, "/chosen", "linux,initrd-start", 8);
	const void *end = prop(fdt, "/chosen", "linux,initrd-end", 8);
	cr_assert_str_eq(prop(fdt, "/chosen", "bootargs", -1), CMDLINE);
	cr_assert_eq(machine_cmdline(&m, line, sizeof(line)), (int)strlen(CMDLINE));
	cr_assert_eq(cell64(start, 0), INITRD);
	cr_assert_eq(cell64(end, 0), INITRD + INITRD_SIZE);
	cr_assert_str_eq(prop(fdt, "/chosen", "stdout-path", -1), "serial0");
	cr_assert_str_eq(prop(fdt, "/aliases", "serial0", -1), pl011_path);
	cr_assert_eq(fdt_path_offset(fdt, "serial0"), node(fdt, pl011_path));
	free(fdt);
}

Test(fdt_aarch64, virtio_mmio_windows)
{
	struct machine m;
	build(&m, 2, false);
	void *fdt = tree(&m);
	for (int i = 0; i < 2; i++) {
		char path[64];
		uint64_t base = VIRTIO_MMIO_BASE + (uint64_t)i * 0x1000;
		snprintf(path, sizeof(path), "/virtio_mmio@%llx", (unsigned long long)base);
		cr_assert_str_eq(prop(fdt, path, "compatible", -1), "virtio,mmio");
		assert_reg(fdt, path, base, VIRTIO_MMIO_SIZE);
		assert_spi(fdt, path, VIRTIO_MMIO_IRQ(i));
	}
	free(fdt);
}

/* interrupt-map entries: <devfn<<11 0 0 pin  &gic  0 0  0 SPI 4>: the GIC node's two address
 * cells sit between the phandle and the specifier. */
Test(fdt_aarch64, pci_host_bridge)
{
	struct machine m;
	build(&m, 2, true);
	void *fdt = tree(&m);
	const void *mask = prop(fdt, pci_path, "interrupt-map-mask", 16);
	const void *map = prop(fdt, pci_path, "interrupt-map", 3 * 10 * 4);
	const void *msi = prop(fdt, pci_path, "msi-map", 16);
	const void *ranges = prop(fdt, pci_path, "ranges", 2 * 7 * 4);
	const void *bus = prop(fdt, pci_path, "bus-range", 8);
	cr_assert_str_eq(prop(fdt, pci_path, "compatible", -1), "pci-host-ecam-generic");
	cr_assert_str_eq(prop(fdt, pci_path, "device_type", -1), "pci");
	assert_reg(fdt, pci_path, PCI_ECAM_BASE, PCI_ECAM_SIZE);
	cr_assert_eq(cell(bus, 0), 0);
	cr_assert_eq(cell(bus, 1), 255);
	cr_assert_eq(prop_u32(fdt, pci_path, "#address-cells"), 3);
	cr_assert_eq(prop_u32(fdt, pci_path, "#size-cells"), 2);
	cr_assert_eq(prop_u32(fdt, pci_path, "#interrupt-cells"), 1);
	prop(fdt, pci_path, "dma-coherent", 0);
	/* no I/O window: the 32-bit then the 64-bit memory window, identity-mapped */
	cr_assert_eq(cell(ranges, 0), 0x02000000);
	cr_assert_eq(cell64(ranges, 1), PCI_MMIO32_BASE);
	cr_assert_eq(cell64(ranges, 3), PCI_MMIO32_BASE);
	cr_assert_eq(cell64(ranges, 5), PCI_MMIO32_SIZE);
	cr_assert_eq(cell(ranges, 7), 0x03000000);
	cr_assert_eq(cell64(ranges, 8), LAYOUT_MMIO64_BASE);
	cr_assert_eq(cell64(ranges, 12), LAYOUT_MMIO64_SIZE);
	cr_assert_eq(cell(mask, 0), 0xf800);
	cr_assert_eq(cell(mask, 3), 7);
	for (unsigned d = 1; d <= 3; d++) {
		int e = (int)(d - 1) * 10;
		cr_assert_eq(cell(map, e), d << 11);
		cr_assert_eq(cell(map, e + 3), 1, "INTA");
		cr_assert_eq(cell(map, e + 4), FDT_PHANDLE_GIC);
		cr_assert_eq(cell(map, e + 5), 0);
		cr_assert_eq(cell(map, e + 6), 0);
		cr_assert_eq(cell(map, e + 7), FDT_GIC_SPI);
		cr_assert_eq(cell(map, e + 8), pci_intx_ioapic_pin(d, 0));
		cr_assert_eq(cell(map, e + 9), FDT_GIC_LEVEL_HIGH,
			     "INTx is active high on the GIC");
	}
	assert_phandle(fdt, cell(map, 4), "arm,gic-v3");
	cr_assert_eq(cell(msi, 0), 0);
	assert_phandle(fdt, cell(msi, 1), "arm,gic-v3-its");
	cr_assert_eq(cell(msi, 2), 0);
	cr_assert_eq(cell(msi, 3), 0x10000);
	free(fdt);
}

/* What the GIC cannot take, and a description without a GIC, are refused, not written wrongly. */
Test(fdt_aarch64, inexpressible_descriptions)
{
	struct machine m;
	void *blob;
	size_t size;
	build(&m, 2, true);
	m.pci.intx[0].irq.polarity = MACHINE_IRQ_LOW;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL);
	build(&m, 2, false);
	m.virtio_mmio[1].irq.pin = GIC_SPI_MAX;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL);
	build(&m, 2, false);
	m.intc.kind = MACHINE_INTC_IOAPIC;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL);
	build(&m, 2, false);
	m.cpu_ids[1] = 1u << 24;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL);
	build(&m, 2, false);
	cr_assert_eq(machine_add_uart(&m, 0x3f8, 4), 0);
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL, "no port I/O on arm64");
	machine_init(&m);
	cr_assert_eq(machine_set_arch_intc(&m), -EINVAL, "the vCPUs first");
	cr_assert_eq(machine_add_ram(&m, RAM_START, RAM), 0);
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL, "no controller");
}

Test(fdt_aarch64, gicv3_adder_checks)
{
	struct machine m;
	struct machine_range d = {GIC_DIST_BASE, GIC_DIST_SIZE};
	struct machine_range r = {GIC_REDIST_BASE(1), GIC_REDIST_SIZE};
	struct machine_range its = {GIC_ITS_BASE(1), GIC_ITS_SIZE};
	struct machine_range none = {0, 0};
	machine_init(&m);
	cr_assert_eq(machine_set_gicv3(&m, d, r, its, 0), -EINVAL);
	cr_assert_eq(machine_set_gicv3(&m, d, d, its, 64), -EINVAL, "overlap");
	cr_assert_eq(machine_set_gicv3(&m, d, none, its, 64), -EINVAL);
	machine_init(&m);
	cr_assert_eq(machine_set_gicv3(&m, d, r, none, 64), 0, "no ITS is fine");
	cr_assert_eq(m.intc.kind, MACHINE_INTC_GICV3);
	cr_assert_eq(m.intc.pins, 64);
	cr_assert_eq(machine_add_pl011(&m, PL011_MMIO_BASE, 64), -EINVAL, "past the SPIs");
	cr_assert_eq(machine_arch_intx_polarity(), MACHINE_IRQ_HIGH);
}

/* A host whose KVM has only a GICv2: the VM replaces the GICv3 with one (vm_arch.c). The node is
 * "arm,cortex-a15-gic" with the distributor and the CPU interface, no ITS and no msi-map, and the
 * timer's PPIs name every CPU in their mask. */
Test(fdt_aarch64, gicv2)
{
	struct machine m;
	build(&m, 3, true);
	cr_assert_eq(machine_set_arch_gicv2(&m), 0);
	void *fdt = tree(&m);
	const void *reg = prop(fdt, gic_path, "reg", 32);
	cr_assert_str_eq(prop(fdt, gic_path, "compatible", -1), "arm,cortex-a15-gic");
	cr_assert_eq(cell64(reg, 0), GIC_DIST_BASE);
	cr_assert_eq(cell64(reg, 2), GIC_V2_DIST_SIZE);
	cr_assert_eq(cell64(reg, 4), GIC_V2_CPU_BASE);
	cr_assert_eq(cell64(reg, 6), GIC_V2_CPU_SIZE);
	cr_assert_eq(prop_u32(fdt, gic_path, "#interrupt-cells"), 3);
	prop(fdt, gic_path, "interrupt-controller", 0);
	assert_phandle(fdt, FDT_PHANDLE_GIC, "arm,cortex-a15-gic");
	cr_assert_lt(fdt_subnode_offset(fdt, node(fdt, gic_path), "msi-controller"), 0);
	cr_assert_null(fdt_getprop(fdt, node(fdt, pci_path), "msi-map", NULL));
	/* the GICv2m frame: the MSIs of PCI devices */
	char v2m[128];
	snprintf(v2m, sizeof(v2m), "%s/v2m@%llx", gic_path, (unsigned long long)GIC_V2M_BASE);
	cr_assert_str_eq(prop(fdt, v2m, "compatible", -1), "arm,gic-v2m-frame");
	prop(fdt, v2m, "msi-controller", 0);
	const void *vreg = prop(fdt, v2m, "reg", 16);
	cr_assert_eq(cell64(vreg, 0), GIC_V2M_BASE);
	cr_assert_eq(cell64(vreg, 2), 0x1000);
	/* its SPIs are its MSI_TYPER's (devices/gicv2m.c), not overridden here */
	cr_assert_null(fdt_getprop(fdt, node(fdt, v2m), "arm,msi-base-spi", NULL));
	assert_phandle(fdt, FDT_PHANDLE_V2M, "arm,gic-v2m-frame");
	cr_assert_eq(prop_u32(fdt, pci_path, "msi-parent"), FDT_PHANDLE_V2M);
	const void *p = prop(fdt, "/timer", "interrupts", 48);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(cell(p, 3 * i + 2), 0x7u << 8 | FDT_GIC_LEVEL_HIGH, "3 CPUs' mask");
	assert_spi(fdt, pl011_path, IRQ_PL011);
	free(fdt);
}

Test(fdt_aarch64, gicv2_adder_checks)
{
	struct machine m;
	struct machine_range d = {GIC_DIST_BASE, GIC_V2_DIST_SIZE};
	struct machine_range c = {GIC_V2_CPU_BASE, GIC_V2_CPU_SIZE};
	machine_init(&m);
	cr_assert_eq(machine_set_gicv2(&m, d, c, 0), -EINVAL, "no SPIs");
	machine_init(&m);
	cr_assert_eq(machine_set_gicv2(&m, d, d, 64), -EINVAL, "overlap");
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, 9), 0);
	cr_assert_eq(machine_set_gicv2(&m, d, c, 64), -EINVAL, "9 CPUs: a GICv2 serves 8");
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, 8), 0);
	cr_assert_eq(machine_set_gicv2(&m, d, c, 64), 0);
	cr_assert_eq(m.intc.kind, MACHINE_INTC_GICV2);
	cr_assert_eq(m.intc.its.size, 0);
	/* its GICv2m frame: apart from the GIC's ranges, SPIs it has */
	struct machine_range f = {GIC_V2M_BASE, 0x1000};
	cr_assert_eq(machine_set_gicv2m(&m, d, 0, 8), -EINVAL, "on the distributor");
	cr_assert_eq(machine_set_gicv2m(&m, f, 60, 8), -EINVAL, "past the 64 SPIs");
	cr_assert_eq(machine_set_gicv2m(&m, f, 0, 0), -EINVAL, "no SPI");
	cr_assert_eq(machine_set_gicv2m(&m, f, 32, 32), 0);
	cr_assert_eq(m.intc.v2m_first, 32);
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, 2), 0);
	cr_assert_eq(machine_set_arch_intc(&m), 0);
	cr_assert_eq(machine_set_gicv2m(&m, f, 32, 32), -EINVAL, "a GICv3 has no GICv2m");
	/* a tree of a GICv2 with more CPUs than it serves is refused */
	void *blob;
	size_t size;
	build(&m, 2, false);
	cr_assert_eq(machine_set_arch_gicv2(&m), 0);
	m.intc.cpuif.size = 0;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL, "no CPU interface");
}

/* A tree without an ITS has no msi-map; dtc decompiles the three shapes (a GICv3 with and
 * without its ITS, a GICv2) without a warning. */
Test(fdt_aarch64, dtc_decompiles_it)
{
	if (system("command -v dtc >/dev/null 2>&1") != 0)
		cr_skip_test("dtc not installed");
	for (int shape = 0; shape < 3; shape++) {
		struct machine m;
		char path[] = "/tmp/fdt_aarch64_XXXXXX", cmd[256], out[16384];
		build(&m, 2, true);
		if (shape == 1)
			m.intc.its = (struct machine_range){0, 0};
		if (shape == 2)
			cr_assert_eq(machine_set_arch_gicv2(&m), 0);
		void *fdt = tree(&m);
		int fd = mkstemp(path);
		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, fdt, fdt_totalsize(fdt)), (ssize_t)fdt_totalsize(fdt));
		close(fd);
		if (shape == 1)
			cr_assert_null(fdt_getprop(fdt, node(fdt, pci_path), "msi-map", NULL));
		snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts %s 2>&1", path);
		FILE *p = popen(cmd, "r");
		cr_assert_not_null(p);
		size_t n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		int status = pclose(p);
		unlink(path);
		cr_assert_eq(status, 0, "dtc failed: %s", out);
		cr_assert_null(strstr(out, "Warning"), "dtc warns: %s", out);
		if (shape == 0) /* into the test's log */
			fprintf(stderr, "the arm64 tree, as dtc reads it:\n%s", out);
		free(fdt);
	}
}

#endif
