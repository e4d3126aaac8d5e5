/* BAR placement for a bus nobody set up (pci_dt.h): QEMU's virt board booted with -kernel leaves
 * every BAR at 0, as Linux places them itself. Memory BARs only (PCI 3.0 section 6.2.5.1: write
 * all-ones, read the size back), naturally aligned, one after the other in the 32-bit window. */
#include <linux/pci_regs.h>

#include "../pci.h"
#include "pci_dt.h"
#include "printf.h"

#define PCI_BASE_CLASS_BRIDGE 0x06 /* PCI Code and ID Assignment 1.11, 1.7 */

struct bar {
	uint8_t dev, fn, index;
	bool is64;
	uint64_t addr, size;
};

static uint16_t bar_reg(unsigned index)
{
	return (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * index);
}

/* Reads BAR `index` (and its upper half); sizes it when `size_it` (decoding off meanwhile). */
static bool read_bar(struct bar *b, bool size_it)
{
	uint32_t lo = pci_cfg_read32(0, b->dev, b->fn, bar_reg(b->index)), hi = 0, slo, shi = ~0u;
	uint16_t cmd = pci_cfg_read16(0, b->dev, b->fn, PCI_COMMAND);

	if (lo & PCI_BASE_ADDRESS_SPACE_IO)
		return false;
	b->is64 =
	    (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 && b->index < 5;
	if (b->is64)
		hi = pci_cfg_read32(0, b->dev, b->fn, bar_reg(b->index + 1u));
	b->addr = ((uint64_t)hi << 32) | (lo & PCI_BASE_ADDRESS_MEM_MASK);
	if (!size_it)
		return true;
	pci_cfg_write16(0, b->dev, b->fn, PCI_COMMAND, cmd & (uint16_t)~PCI_COMMAND_MEMORY);
	pci_cfg_write32(0, b->dev, b->fn, bar_reg(b->index), ~0u);
	slo = pci_cfg_read32(0, b->dev, b->fn, bar_reg(b->index));
	pci_cfg_write32(0, b->dev, b->fn, bar_reg(b->index), lo);
	if (b->is64) {
		pci_cfg_write32(0, b->dev, b->fn, bar_reg(b->index + 1u), ~0u);
		shi = pci_cfg_read32(0, b->dev, b->fn, bar_reg(b->index + 1u));
		pci_cfg_write32(0, b->dev, b->fn, bar_reg(b->index + 1u), hi);
	}
	pci_cfg_write16(0, b->dev, b->fn, PCI_COMMAND, cmd);
	b->size = ~(((uint64_t)shi << 32) | (slo & PCI_BASE_ADDRESS_MEM_MASK)) + 1;
	return (slo & PCI_BASE_ADDRESS_MEM_MASK) != 0;
}

static void place(struct bar *b, uint64_t *next, uint64_t end)
{
	uint64_t at = (*next + b->size - 1) & ~(b->size - 1);
	uint16_t cmd = pci_cfg_read16(0, b->dev, b->fn, PCI_COMMAND);

	if (at + b->size > end || at + b->size < at) {
		printf("pci %02x.%x: no room for BAR %u (0x%llx bytes)\n", b->dev, b->fn, b->index,
		       (unsigned long long)b->size);
		return;
	}
	pci_cfg_write32(0, b->dev, b->fn, bar_reg(b->index), (uint32_t)at);
	if (b->is64)
		pci_cfg_write32(0, b->dev, b->fn, bar_reg(b->index + 1u), (uint32_t)(at >> 32));
	pci_cfg_write16(0, b->dev, b->fn, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
	*next = at + b->size;
}

struct plan {
	bool unplaced;
	uint64_t next, end;
};

/* Calls fn(bar, p) for every memory BAR of every present type-0 function on bus 0 but bridges
 * (the host bridge has no BARs, and nobody turns its decoding on) (with
 * `size_it`); without, only notes in the plan whether a function does not decode memory (its
 * BARs were never placed: whoever places them turns decoding on). */
static void each_bar(bool size_it, void (*fn)(struct bar *b, struct plan *p), struct plan *p)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint8_t type = pci_cfg_read8(0, dev, 0, PCI_HEADER_TYPE);
		for (uint8_t f = 0; f < (type & 0x80 ? 8 : 1); f++) {
			if (pci_cfg_read16(0, dev, f, PCI_VENDOR_ID) == 0xffff ||
			    (pci_cfg_read8(0, dev, f, PCI_HEADER_TYPE) & 0x7f) != 0 ||
			    pci_cfg_read8(0, dev, f, PCI_CLASS_DEVICE + 1) == PCI_BASE_CLASS_BRIDGE)
				continue;
			if (!size_it) {
				p->unplaced |=
				    !(pci_cfg_read16(0, dev, f, PCI_COMMAND) & PCI_COMMAND_MEMORY);
				continue;
			}
			for (uint8_t i = 0; i < 6; i++) {
				struct bar b = {.dev = dev, .fn = f, .index = i};
				if (read_bar(&b, true))
					fn(&b, p);
				i += b.is64;
			}
		}
	}
}

static void after_placed(struct bar *b, struct plan *p)
{
	if (b->addr && b->size && b->addr + b->size > p->next && b->addr < p->end)
		p->next = b->addr + b->size;
}

static void place_unplaced(struct bar *b, struct plan *p)
{
	if (!b->addr && b->size)
		place(b, &p->next, p->end);
}

void pci_assign_bars(const struct pci_dt *dt)
{
	struct plan p = {.next = dt->mem32, .end = dt->mem32 + dt->mem32_size};

	each_bar(false, NULL, &p);
	if (!p.unplaced || !dt->mem32_size)
		return;
	each_bar(true, after_placed, &p);
	each_bar(true, place_unplaced, &p);
	printf("pci: placed the BARs nobody had placed, up to 0x%llx\n",
	       (unsigned long long)p.next);
}
