/* A GICv2m MSI frame: what gives PCI devices MSIs on a GICv2, which has no ITS (Arm's Server
 * Base System Architecture, the GICv2m appendix; Linux drivers/irqchip/irq-gic-v2m.c is the
 * driver, "arm,gic-v2m-frame" in the device tree; KVM has none of its own).
 *
 * A range of the GIC's SPIs is the frame's. An MSI is a write of an SPI's INTID to the frame's
 * MSI_SETSPI_NS register, which makes that SPI pending as an edge would; the guest's driver
 * programs each MSI-X vector with that address and the INTID of an SPI of the range (and makes
 * the SPI edge-triggered). Devices of the VMM write nothing there: the VMM turns such a message
 * into a KVM route to the SPI (gicv2m_msi_line(), vmm/vm/vm_pci_irq.c), so an irqfd raises it.
 * A vCPU's write of the register goes through this model.
 *
 * Registers (4-byte accesses; others read 0 and are ignored, as any other offset):
 *   MSI_TYPER     (0x008, RO): the first SPI's INTID in bits 25:16, how many in bits 9:0
 *   MSI_SETSPI_NS (0x040, WO): an INTID of the range raises that SPI (pulsed: 1, then 0);
 *                              anything else is ignored
 *   MSI_IIDR      (0xFCC, RO): 0 (no implementation to tell apart: no quirk applies) */
#ifndef DEVICES_GICV2M_H
#define DEVICES_GICV2M_H

#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/irq.h"

#define GICV2M_SIZE	     0x1000
#define GICV2M_MSI_TYPER     0x008
#define GICV2M_MSI_SETSPI_NS 0x040
#define GICV2M_MSI_IIDR	     0xfcc
#define GICV2M_FIRST_SPI     32	 /* INTID of SPI offset 0 */
#define GICV2M_MAX_SPIS	     988 /* INTIDs 32..1019 */

/* Where a frame is and which SPIs are its: `first` is an SPI offset (INTID - 32). */
struct gicv2m_frame {
	uint64_t base;
	uint32_t first, count;
};

struct gicv2m {
	struct gicv2m_frame frame;
	/* set(opaque, line, level) raises SPI offset `line`; its gsi field is unused */
	struct irq_line spi;
};

/* The frame's range is sane: count 1..GICV2M_MAX_SPIS, the SPIs within INTID 1019, the base
 * page-aligned. */
bool gicv2m_frame_ok(const struct gicv2m_frame *f);

/* Whether a message (`addr`, `data`) is an MSI through frame `f`: the address is its
 * MSI_SETSPI_NS and the data an INTID of its SPIs. If so, *line is that SPI's offset. */
bool gicv2m_msi_line(const struct gicv2m_frame *f, uint64_t addr, uint32_t data, unsigned *line);

/* Claims the frame's page on `mmio`. -EINVAL for a frame gicv2m_frame_ok() refuses, else
 * io_bus_register()'s result. */
int gicv2m_attach(struct gicv2m *v, struct io_bus *mmio, struct gicv2m_frame frame,
		  struct irq_line spi);
void gicv2m_detach(struct gicv2m *v, struct io_bus *mmio);

#endif
