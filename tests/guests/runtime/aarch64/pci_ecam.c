/* arm64's configuration space (pci.h): the ECAM window of the device tree's host bridge (PCI
 * Express Base 4.0 section 7.2.2: base + bus << 20 | device << 15 | function << 12 | offset),
 * one access of the named width each. Without a host bridge reads are all-ones, writes go
 * nowhere. */
#include "../pci.h"

#include "pci_dt.h"
#include "platform.h"
#include "v2m.h"

#define ECAM_FN_SPACE  4096
#define ITS_TRANSLATER 0x10040 /* GITS_TRANSLATER: ITS_base + 64 KiB + 0x40 (IHI 0069 12.19) */
#define FREE_SPAN      (16ULL << 20)

/* 0 when there is no ECAM or the bus is past its window. */
static uint64_t ecam_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	const struct pci_dt *p = pci_dt();
	uint64_t rel = (uint64_t)bus << 20 | (uint64_t)(dev & 31) << 15 | (uint64_t)(fn & 7) << 12 |
		       (off & (ECAM_FN_SPACE - 1));

	return p->present && rel < p->ecam_size ? p->ecam + rel : 0;
}

uint32_t pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	uint64_t a = ecam_addr(bus, dev, fn, off);
	return a ? mmio_read32(a) : 0xffffffffu;
}

uint16_t pci_cfg_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	uint64_t a = ecam_addr(bus, dev, fn, off);
	return a ? mmio_read16(a) : 0xffff;
}

uint8_t pci_cfg_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	uint64_t a = ecam_addr(bus, dev, fn, off);
	return a ? mmio_read8(a) : 0xff;
}

void pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t val)
{
	uint64_t a = ecam_addr(bus, dev, fn, off);
	if (a)
		mmio_write32(a, val);
}

void pci_cfg_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint16_t val)
{
	uint64_t a = ecam_addr(bus, dev, fn, off);
	if (a)
		mmio_write16(a, val);
}

void pci_cfg_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint8_t val)
{
	uint64_t a = ecam_addr(bus, dev, fn, off);
	if (a)
		mmio_write8(a, val);
}

uint32_t pci_cfg_any(uint8_t dev, uint8_t fn, uint16_t off, unsigned width, bool write,
		     uint32_t val)
{
	uint16_t at = (uint16_t)(off & ~(width - 1));

	if (width == 1)
		return write ? (pci_cfg_write8(0, dev, fn, at, (uint8_t)val), 0)
			     : pci_cfg_read8(0, dev, fn, at);
	if (width == 2)
		return write ? (pci_cfg_write16(0, dev, fn, at, (uint16_t)val), 0)
			     : pci_cfg_read16(0, dev, fn, at);
	return write ? (pci_cfg_write32(0, dev, fn, at, val), 0) : pci_cfg_read32(0, dev, fn, at);
}

/* The top 16 MiB of the 32-bit window (BARs are placed from its bottom). */
const struct pci_host *pci_host(void)
{
	static struct pci_host host;
	const struct pci_dt *p = pci_dt();

	if (!host.cfg_span) {
		host = (struct pci_host){.ecam = p->ecam,
					 .platform = p->platform,
					 .msi_addr = p->its   ? p->its + ITS_TRANSLATER
						     : p->v2m ? p->v2m + V2M_SETSPI_OFF
							      : 0,
					 .cfg_span = ECAM_FN_SPACE};
		if (p->mem32_size >= 2 * FREE_SPAN)
			host.free = p->mem32 + p->mem32_size - FREE_SPAN;
	}
	return &host;
}
