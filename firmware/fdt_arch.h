/* What an architecture adds to the device tree firmware/fdt.c walks (the trees: fdt.h). One
 * table per architecture, `fdt_arch`, defined in firmware/<arch>/fdt_<arch>.c, as kvmtool's
 * kvm-arch.h is one contract each architecture fills: the generic walker never names an
 * interrupt controller, a CPU binding or a specifier format. Only with libfdt. */
#ifndef FIRMWARE_FDT_ARCH_H
#define FIRMWARE_FDT_ARCH_H

#ifdef HAVE_LIBFDT
#include <stdbool.h>
#include <stdint.h>

#include "firmware/fdt_writer.h"
#include "firmware/machine.h"

struct fdt_arch {
	const char *compatible; /* the root's */
	const char *model;
	/* The controller every `interrupts` names (the root's interrupt-parent), and its node's
	 * #address-cells: the zero cells an interrupt-map entry puts before its specifier. */
	uint32_t intc_phandle;
	uint32_t intc_address_cells;
	/* What only this architecture checks before writing anything (the controller's kind, IDs
	 * the CPU binding can hold, lines the controller can take): false makes the build
	 * -EINVAL. The walker has checked the counts and that every line is on an input. */
	bool (*expressible)(const struct machine *m);
	/* Pushes the controller's interrupt specifier for `irq`. */
	void (*push_irq)(struct fdtw_cells *c, const struct machine_irq *irq);
	/* Properties of /cpus/cpu@ID beyond device_type and reg. */
	void (*cpu_props)(struct fdtw *w, const struct machine *m, int index);
	/* The nodes only this architecture has, written after /memory: the interrupt
	 * controller(s), the architected timer, PSCI, the port-I/O bus. */
	void (*nodes)(struct fdtw *w, const struct machine *m);
	/* Properties of the PCI host bridge node beyond the generic binding (MSI routing, DMA
	 * coherency); may be NULL. */
	void (*pci_props)(struct fdtw *w, const struct machine *m);
};

extern const struct fdt_arch fdt_arch;

/* For the architecture's nodes: interrupts = <the specifier of irq>. */
void fdt_prop_interrupts(struct fdtw *w, const struct machine_irq *irq);
/* For a UART node wherever the architecture puts it: its compatible, clock and interrupts. */
void fdt_uart_props(struct fdtw *w, const struct machine_uart *u);

#endif
#endif
