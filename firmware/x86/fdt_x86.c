/* x86's part of the device tree (firmware/fdt_arch.h; the tree in firmware/fdt.h): the IOAPIC and
 * LAPIC nodes, the IOAPIC's 2-cell interrupt specifier, and the ISA bus for port-I/O devices. */
#include "firmware/fdt.h"

#ifdef HAVE_LIBFDT
#include "base/layout.h"
#include "firmware/fdt_arch.h"

#define ISA_IO_SPACE 1 /* ISA binding: first address cell 1 = I/O port */

/* The type cell as Linux's arch/x86/kernel/devicetree.c (of_ioapic_type[]) decodes it. */
static uint32_t irq_type(const struct machine_irq *irq)
{
	if (irq->trigger == MACHINE_IRQ_LEVEL)
		return irq->polarity == MACHINE_IRQ_LOW ? FDT_IOAPIC_LEVEL_LOW
							: FDT_IOAPIC_LEVEL_HIGH;
	return irq->polarity == MACHINE_IRQ_LOW ? FDT_IOAPIC_EDGE_FALLING : FDT_IOAPIC_EDGE_RISING;
}

static void push_irq(struct fdtw_cells *c, const struct machine_irq *irq)
{
	fdtw_push32(c, irq->pin);
	fdtw_push32(c, irq_type(irq));
}

static bool expressible(const struct machine *m)
{
	return m->intc.kind == MACHINE_INTC_IOAPIC;
}

static void cpu_props(struct fdtw *w, const struct machine *m, int index)
{
	(void)w, (void)m, (void)index; /* reg (the APIC ID) is all Linux's dtb_cpu_setup() reads */
}

static void add_intc(struct fdtw *w, const struct machine *m)
{
	fdtw_begin(w, "interrupt-controller@%llx", m->intc.base);
	fdtw_str(w, "compatible", "intel,ce4100-ioapic");
	fdtw_empty(w, "interrupt-controller");
	fdtw_u32(w, "#interrupt-cells", 2);
	fdtw_u32(w, "#address-cells", 0); /* interrupt-map parent unit addresses: none */
	fdtw_reg(w, m->intc.base, m->intc.size);
	fdtw_u32(w, "phandle", FDT_PHANDLE_IOAPIC);
	fdtw_end(w);
	if (!m->intc.local_base)
		return;
	fdtw_begin(w, "interrupt-controller@%llx", m->intc.local_base);
	fdtw_str(w, "compatible", "intel,ce4100-lapic");
	fdtw_reg(w, m->intc.local_base, KIB(4));
	/* The 8259 reaches LINT0 directly (MP spec §3.6.2.2), as our MP table says. */
	fdtw_empty(w, "intel,virtual-wire-mode");
	fdtw_u32(w, "phandle", FDT_PHANDLE_LAPIC);
	fdtw_end(w);
}

/* reg = <1 port size> in the ISA bus's 2 + 1 cells. */
static void prop_isa_reg(struct fdtw *w, uint64_t port, uint64_t size)
{
	struct fdtw_cells c = {.n = 0};
	fdtw_push32(&c, ISA_IO_SPACE);
	fdtw_push32(&c, (uint32_t)port);
	fdtw_push32(&c, (uint32_t)size);
	fdtw_cells(w, "reg", &c);
}

static bool has_io_devices(const struct machine *m)
{
	bool io = (m->test_exit.present && m->test_exit.space == MACHINE_SPACE_IO) ||
		  (m->boot_timer.present && m->boot_timer.port);
	for (int i = 0; i < m->nuarts; i++)
		io |= m->uarts[i].space == MACHINE_SPACE_IO;
	return io;
}

static void add_isa_devices(struct fdtw *w, const struct machine *m)
{
	for (int i = 0; i < m->nuarts; i++) {
		const struct machine_uart *u = &m->uarts[i];
		if (u->space != MACHINE_SPACE_IO)
			continue;
		fdtw_begin(w, "serial@i%llx", u->base);
		prop_isa_reg(w, u->base, u->size);
		fdt_uart_props(w, u);
		fdtw_end(w);
	}
	if (m->test_exit.present && m->test_exit.space == MACHINE_SPACE_IO) {
		fdtw_begin(w, "test-exit@i%llx", m->test_exit.base);
		fdtw_str(w, "compatible", "vmm,isa-debug-exit");
		prop_isa_reg(w, m->test_exit.base, m->test_exit.size);
		fdtw_end(w);
	}
	if (m->boot_timer.present && m->boot_timer.port) {
		fdtw_begin(w, "boot-timer@i%llx", m->boot_timer.port);
		fdtw_str(w, "compatible", "vmm,boot-timer");
		prop_isa_reg(w, m->boot_timer.port, 1);
		fdtw_end(w);
	}
}

/* The port space as an ISA bus whose ports translate to root addresses equal to the port number
 * (fdt.h says why). */
static void add_isa(struct fdtw *w, const struct machine *m)
{
	struct fdtw_cells ranges = {.n = 0};
	if (!has_io_devices(m))
		return;
	fdtw_push32(&ranges, ISA_IO_SPACE);
	fdtw_push32(&ranges, 0);
	fdtw_push64(&ranges, 0);
	fdtw_push32(&ranges, 0x10000);
	fdtw_begin(w, FDT_ISA_NODE, 0);
	fdtw_str(w, "compatible", "isa");
	fdtw_u32(w, "#address-cells", 2);
	fdtw_u32(w, "#size-cells", 1);
	fdtw_cells(w, "ranges", &ranges);
	add_isa_devices(w, m);
	fdtw_end(w);
}

static void nodes(struct fdtw *w, const struct machine *m)
{
	add_intc(w, m);
	add_isa(w, m);
}

const struct fdt_arch fdt_arch = {
    .compatible = "vmm,kvm-x86_64",
    .model = "KVM VMM x86_64 machine",
    .intc_phandle = FDT_PHANDLE_IOAPIC,
    .intc_address_cells = 0,
    .expressible = expressible,
    .push_irq = push_irq,
    .cpu_props = cpu_props,
    .nodes = nodes,
    .pci_props = NULL,
};

#endif
