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

#define PCI_DT_MAX_INTX 128 /* interrupt-map entries kept */

/* One interrupt-map entry: (child unit address, pin) & mask -> GIC SPI. */
struct pci_dt_intx {
	uint32_t hi, pin; /* phys.hi (bus 23:16, device 15:11, function 10:8), 1 = INTA */
	uint32_t spi;	  /* SPI number (INTID - 32) */
};

struct pci_dt {
	bool present;
	uint64_t ecam, ecam_size;
	uint64_t mem32, mem32_size;  /* the 32-bit memory window (ranges, space code 2) */
	uint64_t its;		     /* the ITS msi-map / msi-parent names (0: none) */
	uint32_t rid_base, msi_base; /* msi-map: DeviceID = RID - rid_base + msi_base */
	uint64_t platform;	     /* a platform device page (boot timer, PL031, PL011) */
	uint32_t mask_hi, mask_pin;  /* interrupt-map-mask */
	unsigned nintx;
	struct pci_dt_intx intx[PCI_DT_MAX_INTX];
};

const struct pci_dt *pci_dt(void);

/* Gives every memory BAR of bus 0 that reads 0 (no firmware placed it: QEMU's virt board with
 * -kernel) an address in the 32-bit window, above the BARs already placed (our VMM places them
 * all), and turns on memory decoding for it. Called once by the ECAM code. */
void pci_assign_bars(const struct pci_dt *p);

#endif
