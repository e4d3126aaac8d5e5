/* pci_enum's architecture hooks (pci_enum.c walks bus 0 the same way on both): how else
 * configuration space can be read, where a BAR may be, and where INTx goes.
 *   - x86 (pci_enum_x86.c): configuration mechanism #1 and ECAM side by side, the 4 GiB the
 *     runtime maps, the MP table's PCI interrupt entries;
 *   - arm64 (aarch64/pci_enum_dt.c): the device tree's pci-host-ecam-generic node (reg,
 *     bus-range, ranges), its interrupt-map to GIC SPIs and its msi-map to the ITS. */
#ifndef GUEST_PCI_ENUM_H
#define GUEST_PCI_ENUM_H

#include <stdbool.h>
#include <stdint.h>

struct pci_enum_bar {
	uint64_t addr, size;
	bool io, is64, upper; /* upper: the high half of the previous 64-bit BAR */
};

struct pci_enum_func {
	uint8_t dev, fn;
	uint16_t vendor, device;
	uint32_t class_code;
	struct pci_enum_bar bars[6];
};

/* `vmm` on the command line: our VMM's exact layout is expected. */
extern bool pci_enum_strict;

/* Once, before the walk: finds and checks what the architecture reaches configuration space
 * through and prints it. */
void pci_enum_arch_setup(void);
/* A second way to read a configuration dword (x86: ECAM beside conf1), which must agree with
 * pci_cfg_read32(); false when there is none. */
bool pci_enum_arch_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t *v);
/* Memory BAR i of f (sized, its address and size in f->bars[i]) lies where the platform says
 * BARs go. */
void pci_enum_arch_check_bar(const struct pci_enum_func *f, unsigned i);
/* [addr, addr + len) of a BAR is mapped for the guest to read. */
bool pci_enum_arch_mapped(uint64_t addr, uint64_t len);
/* f's INTx `pin` (1-4) and its interrupt line register `line` agree with the platform's
 * description of where INTx goes. */
void pci_enum_arch_check_intx(const struct pci_enum_func *f, uint8_t pin, uint8_t line);
/* After the walk: what the platform describes must all have been found. */
void pci_enum_arch_finish(void);

#endif
