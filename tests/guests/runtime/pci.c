#include "pci.h"

#include "io.h"

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
