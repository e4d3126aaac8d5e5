/* aarch64's part of the device tree (firmware/fdt_arch.h; the tree in firmware/fdt.h): the GICv3
 * with its ITS or the GICv2 with its GICv2m frame, the GIC's 3-cell specifier, the CPUs' binding,
 * the architected timer, PSCI, and how PCI devices reach the ITS. Bindings: Linux
 * Documentation/devicetree/bindings/ interrupt-controller/arm,gic-v3.yaml, arm,gic.yaml (its v2m
 * child), timer/arm,arch_timer.yaml, arm/cpus.yaml, arm/psci.yaml, pci/pci-msi.txt. */
#include "firmware/fdt.h"

#ifdef HAVE_LIBFDT
#include "firmware/fdt_arch.h"

/* The architected timer's PPIs (INTID - 16; Arm's Server Base System Architecture numbers them):
 * secure physical 29, non-secure physical 30, virtual 27, hypervisor 26, in the binding's order. */
static const uint32_t timer_ppis[4] = {13, 14, 11, 10};

#define PSCI_COMPAT "arm,psci-1.0\0arm,psci-0.2"
#define MPIDR_BITS  0xffffffu /* Aff2..Aff0: what a cpu reg holds with #address-cells = 1 */

/* <type number flags>: type 0 SPI (number = SPI offset, which is what `pin` is), flags 1 edge
 * rising or 4 level high; the GIC has neither falling edges nor low levels. */
static void push_irq(struct fdtw_cells *c, const struct machine_irq *irq)
{
	fdtw_push32(c, FDT_GIC_SPI);
	fdtw_push32(c, irq->pin);
	fdtw_push32(c,
		    irq->trigger == MACHINE_IRQ_LEVEL ? FDT_GIC_LEVEL_HIGH : FDT_GIC_EDGE_RISING);
}

static bool irq_high(const struct machine_irq *irq)
{
	return irq->polarity == MACHINE_IRQ_HIGH;
}

/* A GICv3 with its redistributors, or a GICv2 with its CPU interface and at most 8 CPUs. */
static bool gic_ok(const struct machine *m)
{
	if (m->intc.kind == MACHINE_INTC_GICV2)
		return m->intc.cpuif.size != 0 && m->ncpus <= MACHINE_GICV2_MAX_CPUS;
	return m->intc.kind == MACHINE_INTC_GICV3 && m->intc.redist.size != 0;
}

/* Every line active high (an active-low line would be described wrongly), MPIDRs the cpu reg
 * holds, and the GIC's parts. */
static bool expressible(const struct machine *m)
{
	bool ok = gic_ok(m);
	for (int i = 0; ok && i < m->ncpus; i++)
		ok = (m->cpu_ids[i] & ~MPIDR_BITS) == 0;
	for (int i = 0; ok && i < m->nuarts; i++)
		ok = irq_high(&m->uarts[i].irq) && m->uarts[i].space == MACHINE_SPACE_MEM;
	for (int i = 0; ok && i < m->nvirtio_mmio; i++)
		ok = irq_high(&m->virtio_mmio[i].irq);
	for (int i = 0; ok && i < m->pci.nintx; i++)
		ok = irq_high(&m->pci.intx[i].irq);
	return ok && (!m->pl031.size || irq_high(&m->pl031.irq));
}

/* Every vCPU but the boot one is started by PSCI CPU_ON, which KVM implements. */
static void cpu_props(struct fdtw *w, const struct machine *m, int index)
{
	(void)m, (void)index;
	fdtw_str(w, "compatible", "arm,arm-v8");
	fdtw_str(w, "enable-method", "psci");
}

/* The ITS: MSIs of PCI devices, identified by DeviceID (#msi-cells = 1), which the PCI node's
 * msi-map derives from the requester ID. */
static void add_its(struct fdtw *w, const struct machine *m)
{
	if (!m->intc.its.size)
		return;
	fdtw_begin(w, "msi-controller@%llx", m->intc.its.base);
	fdtw_str(w, "compatible", "arm,gic-v3-its");
	fdtw_empty(w, "msi-controller");
	fdtw_u32(w, "#msi-cells", 1);
	fdtw_reg(w, m->intc.its.base, m->intc.its.size);
	fdtw_u32(w, "phandle", FDT_PHANDLE_ITS);
	fdtw_end(w);
}

/* A GICv2's MSI frame (GICv2m): msi-controller without cells (an MSI names its SPI in its data).
 * Its SPIs are what the frame's MSI_TYPER says: the binding's arm,msi-base-spi and
 * arm,msi-num-spis would override the register (Linux then logs "DT overriding V2M MSI_TYPER"). */
static void add_v2m(struct fdtw *w, const struct machine *m)
{
	if (!m->intc.v2m.size)
		return;
	fdtw_begin(w, "v2m@%llx", m->intc.v2m.base);
	fdtw_str(w, "compatible", "arm,gic-v2m-frame");
	fdtw_empty(w, "msi-controller");
	fdtw_reg(w, m->intc.v2m.base, m->intc.v2m.size);
	fdtw_u32(w, "phandle", FDT_PHANDLE_V2M);
	fdtw_end(w);
}

/* reg = <distributor> <redistributors> (GICv3) or <distributor> <CPU interface> (GICv2, which
 * Linux and QEMU's virt call "arm,cortex-a15-gic"); 2 + 2 address cells and an empty ranges so
 * that the ITS child's reg is in the root's terms. */
static void add_gic(struct fdtw *w, const struct machine *m)
{
	bool v2 = m->intc.kind == MACHINE_INTC_GICV2;
	struct machine_range second = v2 ? m->intc.cpuif : m->intc.redist;
	struct fdtw_cells reg = {.n = 0};
	fdtw_push64(&reg, m->intc.base);
	fdtw_push64(&reg, m->intc.size);
	fdtw_push64(&reg, second.base);
	fdtw_push64(&reg, second.size);
	fdtw_begin(w, "interrupt-controller@%llx", m->intc.base);
	fdtw_str(w, "compatible", v2 ? "arm,cortex-a15-gic" : "arm,gic-v3");
	fdtw_empty(w, "interrupt-controller");
	fdtw_u32(w, "#interrupt-cells", 3);
	fdtw_u32(w, "#address-cells", 2);
	fdtw_u32(w, "#size-cells", 2);
	fdtw_empty(w, "ranges");
	fdtw_cells(w, "reg", &reg);
	fdtw_u32(w, "phandle", FDT_PHANDLE_GIC);
	add_its(w, m);
	add_v2m(w, m);
	fdtw_end(w);
}

/* The PPIs as level-high (KVM's timer lines are), with a GICv2's CPU mask in bits 15:8 (one bit
 * per CPU the PPI reaches: all of them; the GICv3 binding defines no mask). always-on: the counter
 * does not stop in idle states (there are none a guest can enter). */
static void add_timer(struct fdtw *w, const struct machine *m)
{
	uint32_t flags = FDT_GIC_LEVEL_HIGH;
	if (m->intc.kind == MACHINE_INTC_GICV2)
		flags |= ((1u << m->ncpus) - 1) << 8;
	struct fdtw_cells irqs = {.n = 0};
	for (int i = 0; i < 4; i++) {
		fdtw_push32(&irqs, FDT_GIC_PPI);
		fdtw_push32(&irqs, timer_ppis[i]);
		fdtw_push32(&irqs, flags);
	}
	fdtw_begin(w, "timer", 0);
	fdtw_str(w, "compatible", "arm,armv8-timer");
	fdtw_cells(w, "interrupts", &irqs);
	fdtw_empty(w, "always-on");
	fdtw_end(w);
}

/* PSCI through HVC: KVM answers PSCI 1.x calls made with HVC from EL1 (CPU_ON, SYSTEM_OFF,
 * SYSTEM_RESET); "arm,psci-0.2" for kernels older than the 1.0 binding. */
static void add_psci(struct fdtw *w)
{
	fdtw_begin(w, "psci", 0);
	fdtw_strs(w, "compatible", PSCI_COMPAT, sizeof(PSCI_COMPAT));
	fdtw_str(w, "method", "hvc");
	fdtw_end(w);
}

/* The VM generation ID (devices/vmgenid.h) as Linux's devicetree binding has it
 * (rng/microsoft,vmgenid.yaml, Linux 6.10; Firecracker's arm64 VMs carry it too): the ID's 16
 * bytes in the reserved RAM below the kernel (machine_arch_reserved()) and the interrupt the VMM
 * raises after a restore, the ACPI Generic Event Device's SPI (on x86 the ACPI tables say both). */
static void add_vmgenid(struct fdtw *w, const struct machine *m)
{
	if (!m->vmgenid || !m->acpi_ged.size)
		return;
	fdtw_begin(w, "vmgenid@%llx", m->vmgenid);
	fdtw_str(w, "compatible", "microsoft,vmgenid");
	fdtw_reg(w, m->vmgenid, 16);
	fdt_prop_interrupts(w, &m->acpi_ged.irq);
	fdtw_end(w);
}

static void nodes(struct fdtw *w, const struct machine *m)
{
	add_gic(w, m);
	add_timer(w, m);
	add_psci(w);
	add_vmgenid(w, m);
}

/* msi-map = <rid-base &its msi-base length>: every requester ID of the bridge's buses is the ITS
 * DeviceID of the same number (pci-msi.txt; QEMU's virt maps the same way), which is the
 * DeviceID the VMM gives KVM with each MSI route. The guest's DMA through PCI devices is
 * coherent with the CPUs (the "device" is the VMM reading guest RAM through its cached mapping):
 * dma-coherent keeps Linux's arm64 DMA API from mapping buffers non-cacheable. A GICv2's MSIs go
 * to its GICv2m frame instead: msi-parent = <&v2m>. */
static void pci_props(struct fdtw *w, const struct machine *m)
{
	struct fdtw_cells map = {.n = 0};
	fdtw_empty(w, "dma-coherent");
	if (m->intc.v2m.size)
		fdtw_u32(w, "msi-parent", FDT_PHANDLE_V2M);
	if (!m->intc.its.size)
		return;
	fdtw_push32(&map, 0);
	fdtw_push32(&map, FDT_PHANDLE_ITS);
	fdtw_push32(&map, 0);
	fdtw_push32(&map, 0x10000);
	fdtw_cells(w, "msi-map", &map);
}

const struct fdt_arch fdt_arch = {
    .compatible = "linux,dummy-virt", /* QEMU's virt: what arm64 kernels expect of a VM */
    .model = "KVM VMM aarch64 machine",
    .intc_phandle = FDT_PHANDLE_GIC,
    .intc_address_cells = 2,
    .expressible = expressible,
    .push_irq = push_irq,
    .cpu_props = cpu_props,
    .nodes = nodes,
    .pci_props = pci_props,
};

#endif
