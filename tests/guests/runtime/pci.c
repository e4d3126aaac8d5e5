/* x86's side of pci.h: configuration mechanism #1, the LAPIC's MSI address, IOAPIC pins. */
#include "pci.h"

#include "apic.h"
#include "io.h"
#include "printf.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA	   0xCFC
#define MSI_ADDR	   0xFEE00000u /* Intel SDM 10.11.1: destination APIC ID in 19:12 */

/* Bit 31 enable, 23:16 bus, 15:11 device, 10:8 function, 7:2 dword register. */
static void select(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	uint32_t addr = (1u << 31) | ((uint32_t)bus << 16) | ((uint32_t)(dev & 0x1f) << 11) |
			((uint32_t)(fn & 7) << 8) | (off & 0xfc);

	outl(PCI_CONFIG_ADDRESS, addr);
}

uint32_t pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	select(bus, dev, fn, off);
	return inl(PCI_CONFIG_DATA);
}

uint16_t pci_cfg_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	select(bus, dev, fn, off);
	return inw(PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_cfg_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	select(bus, dev, fn, off);
	return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t val)
{
	select(bus, dev, fn, off);
	outl(PCI_CONFIG_DATA, val);
}

void pci_cfg_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint16_t val)
{
	select(bus, dev, fn, off);
	outw(PCI_CONFIG_DATA + (off & 2), val);
}

void pci_cfg_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint8_t val)
{
	select(bus, dev, fn, off);
	outb(PCI_CONFIG_DATA + (off & 3), val);
}

/* The data port's offset selects the bytes, unaligned ones too (3.2.2.3.2). */
uint32_t pci_cfg_any(uint8_t dev, uint8_t fn, uint16_t off, unsigned width, bool write,
		     uint32_t val)
{
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));

	select(0, dev, fn, off);
	if (width == 1)
		return write ? (outb(port, (uint8_t)val), 0) : inb(port);
	if (width == 2)
		return write ? (outw(port, (uint16_t)val), 0) : inw(port);
	return write ? (outl(port, val), 0) : inl(port);
}

/* Our VMM's map (base/x86/arch/layout.h): ECAM at 0xE0000000, the 32-bit window from
 * 0xF0000000 (BARs placed from its bottom), the boot timer's page at 0xC0000000. */
const struct pci_host *pci_host(void)
{
	static const struct pci_host host = {.ecam = 0xE0000000u,
					     .free = 0xF8000000u,
					     .platform = 0xC0000000u,
					     .msi_addr = MSI_ADDR,
					     .msi_addr_bits = 0xffffc,
					     .cfg_span = 256};
	return &host;
}

bool pci_msi_message(uint8_t dev, uint8_t fn, uint8_t vector, uint64_t *addr, uint32_t *data)
{
	(void)dev, (void)fn;
	lapic_init();
	*addr = MSI_ADDR | (lapic_id() & 0xff) << 12;
	*data = vector; /* fixed, edge */
	return true;
}

/* The IOAPIC pin is the interrupt line register (what our VMM and SeaBIOS put there); PCI INTx
 * is active low (PCI 3.0 section 2.2.6). */
bool pci_intx_route(uint8_t dev, uint8_t fn, uint8_t pin, uint8_t line, uint8_t vector)
{
	lapic_init();
	if (!pin || line >= ioapic_pins()) {
		printf("pci %02x.%x: INTx pin %u, line %u: not an IOAPIC pin (%u pins)\n", dev, fn,
		       pin, line, ioapic_pins());
		return false;
	}
	ioapic_route(line, vector, (uint8_t)lapic_id(), IOAPIC_LEVEL | IOAPIC_ACTIVE_LOW);
	return true;
}
