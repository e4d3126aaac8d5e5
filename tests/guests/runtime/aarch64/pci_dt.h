/* The PCI host bridge as the device tree describes it (Linux Documentation/devicetree/bindings/
 * pci/host-generic-pci.yaml, pci/pci-msi.txt, IEEE 1275 PCI bus binding): a
 * "pci-host-ecam-generic" node with its ECAM `reg`, `ranges`, `interrupt-map` and `msi-map` or
 * `msi-parent`. Our VMM (firmware/fdt.c, firmware/aarch64/fdt_aarch64.c) and QEMU's virt board
 * both give one. pci_dt() reads it on its first call (during discovery, before any device may
 * write near the tree) and keeps what it needs. Internal to the arm64 runtime's PCI files. */
#ifndef GUEST_AARCH64_PCI_DT_H
#define GUEST_AARCH64_PCI_DT_H

#include <stdbool.h>
#include <stdint.h>

#include "../fdt.h"

#define PCI_DT_MAX_INTX	   128 /* interrupt-map entries kept */
#define PCI_DT_MAX_RANGES  4   /* ranges entries kept */
#define PCI_DT_SPACE_IO	   1   /* phys.hi space codes (IEEE 1275 PCI binding) */
#define PCI_DT_SPACE_MEM32 2
#define PCI_DT_SPACE_MEM64 3

/* One interrupt-map entry: (child unit address, pin) & mask -> GIC SPI. */
struct pci_dt_intx {
	uint32_t hi, pin; /* phys.hi (bus 23:16, device 15:11, function 10:8), 1 = INTA */
	uint32_t spi;	  /* SPI number (INTID - 32) */
	uint32_t flags;	  /* the GIC specifier's third cell (4: level, active high) */
	uint32_t parent;  /* the interrupt parent's phandle */
};

/* One ranges entry: child (PCI) addresses [child, child + size) are the CPU's [cpu, ...). */
struct pci_dt_range {
	unsigned space; /* PCI_DT_SPACE_* */
	uint64_t child, cpu, size;
};

struct pci_dt {
	bool present;
	uint64_t ecam, ecam_size;
	uint32_t bus_first, bus_last; /* bus-range (0-255 when absent) */
	uint64_t mem32, mem32_size;   /* the 32-bit memory window (ranges, space code 2) */
	unsigned nranges;
	struct pci_dt_range ranges[PCI_DT_MAX_RANGES];
	uint64_t its;		     /* the ITS msi-map / msi-parent names (0: none) */
	uint64_t v2m;		     /* or the GICv2m frame msi-parent names (0: none) */
	bool msi_map;		     /* named by msi-map (not msi-parent) */
	uint32_t rid_base, msi_base; /* msi-map: DeviceID = RID - rid_base + msi_base */
	uint32_t msi_len;	     /* msi-map: RIDs mapped */
	uint64_t platform;	     /* a platform device page (boot timer, PL031, PL011) */
	uint32_t mask_hi, mask_pin;  /* interrupt-map-mask */
	unsigned nintx;
	bool intx_bad; /* an interrupt-map entry could not be read: the rest was not */
	struct pci_dt_intx intx[PCI_DT_MAX_INTX];
};

const struct pci_dt *pci_dt(void);
/* The interrupt-map entry that routes bus-0 function dev.fn's INTx `pin` (1 = INTA), matched
 * under the interrupt-map-mask (IEEE 1275 PCI binding, "Open Firmware Recommended Practice:
 * Interrupt Mapping"), or NULL. */
const struct pci_dt_intx *pci_dt_intx_of(uint8_t dev, uint8_t fn, uint8_t pin);

/* Gives every memory BAR of bus 0 that reads 0 (no firmware placed it: QEMU's virt board with
 * -kernel) an address in the 32-bit window, above the BARs already placed (our VMM places them
 * all), and turns on memory decoding for it. Called once by the ECAM code. */
void pci_assign_bars(const struct pci_dt *p);

#endif
