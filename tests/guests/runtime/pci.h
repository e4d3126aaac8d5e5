/* PCI configuration space and the host bridge, the architecture's way (PCI Local Bus
 * Specification 3.0; PCI Express Base 4.0 section 7.2.2 for ECAM):
 *   - x86 (pci.c): configuration mechanism #1, ports 0xCF8 address / 0xCFC data (3.2.2.3.2);
 *     interrupts through the LAPIC (MSI) and the IOAPIC (INTx);
 *   - arm64 (aarch64/pci_ecam.c, aarch64/pci_irq.c): the ECAM window of the device tree's
 *     pci-host-ecam-generic node; MSIs through the GICv3 ITS its msi-map names, INTx through
 *     its interrupt-map to GIC SPIs.
 * Offsets of the pci_cfg_* accessors must be naturally aligned. */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

uint32_t pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
uint16_t pci_cfg_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
uint8_t pci_cfg_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
void pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t val);
void pci_cfg_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint16_t val);
void pci_cfg_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint8_t val);

/* One bus-0 access of `width` bytes (1, 2 or 4) at any offset below pci_host()->cfg_span, as a
 * driver can make it: x86's data port takes unaligned ones (off & 3 picks the bytes); an ECAM
 * access is aligned down to its width (an unaligned access to device memory faults in the
 * guest before anyone sees it). Returns what a read read, 0 for a write. For the fuzz mode. */
uint32_t pci_cfg_any(uint8_t dev, uint8_t fn, uint16_t off, unsigned width, bool write,
		     uint32_t val);

/* What a driver that moves BARs needs to know of the host bridge and the platform (the fuzz
 * mode, runtime/hostile_fuzz.c). */
struct pci_host {
	uint64_t ecam;	   /* the ECAM window (0: none) */
	uint64_t free;	   /* 16 MiB of the 32-bit memory window above every assigned BAR */
	uint64_t platform; /* a page of a platform device that is no PCI BAR */
	uint64_t
	    msi_addr; /* where an MSI goes (x86: the LAPICs, arm64: GITS_TRANSLATER; 0: none) */
	uint32_t msi_addr_bits; /* address bits an MSI may vary and still go there */
	uint16_t cfg_span;	/* configuration bytes per function: 256 (conf1) or 4096 (ECAM) */
};
const struct pci_host *pci_host(void);

/* ---- interrupts ---- */

/* The MSI (address, data) that raises `vector` on this CPU for bus-0 function dev.fn (its
 * requester ID names it to an ITS). False (with a message) when the platform cannot. */
bool pci_msi_message(uint8_t dev, uint8_t fn, uint8_t vector, uint64_t *addr, uint32_t *data);
/* Routes bus-0 function dev.fn's INTx pin `pin` (1 = INTA .. 4 = INTD), whose interrupt line
 * register reads `line`, to `vector` on this CPU: level-triggered, as the platform wires it.
 * False (with a message) when it leads nowhere. */
bool pci_intx_route(uint8_t dev, uint8_t fn, uint8_t pin, uint8_t line, uint8_t vector);

#endif
