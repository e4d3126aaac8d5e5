/* The type-0 configuration header of one PCI function: read-only identity, writable-bit masks,
 * BAR sizing, the capability list and BAR decoding (PCI Local Bus Specification 3.0, 6.1-6.7). */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "base/log.h"
#include "devices/pci/pci.h"

/* Command bits a guest may change (6.2.2); the rest of the register reads 0. */
#define COMMAND_WRITABLE                                                                           \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |           \
	 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* Status error bits are write-one-to-clear (6.2.3). */
#define STATUS_W1C                                                                                 \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT |           \
	 PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

void pci_cfg_set16(struct pci_func *f, uint32_t off, uint16_t v)
{
	f->cfg[off] = (uint8_t)v;
	f->cfg[off + 1] = (uint8_t)(v >> 8);
}

void pci_cfg_set32(struct pci_func *f, uint32_t off, uint32_t v)
{
	pci_cfg_set16(f, off, (uint16_t)v);
	pci_cfg_set16(f, off + 2, (uint16_t)(v >> 16));
}

void pci_wmask_set16(struct pci_func *f, uint32_t off, uint16_t v)
{
	f->wmask[off] = (uint8_t)v;
	f->wmask[off + 1] = (uint8_t)(v >> 8);
}

void pci_wmask_set32(struct pci_func *f, uint32_t off, uint32_t v)
{
	pci_wmask_set16(f, off, (uint16_t)v);
	pci_wmask_set16(f, off + 2, (uint16_t)(v >> 16));
}

void pci_func_init(struct pci_func *f, const struct pci_id *id, const char *name,
		   const struct pci_func_ops *ops, void *opaque)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->ops = ops;
	f->opaque = opaque;
	f->cap_end = PCI_CAP_START;
	pci_cfg_set16(f, PCI_VENDOR_ID, id->vendor);
	pci_cfg_set16(f, PCI_DEVICE_ID, id->device);
	f->cfg[PCI_REVISION_ID] = id->revision;
	f->cfg[PCI_CLASS_PROG] = (uint8_t)id->class_code;
	pci_cfg_set16(f, PCI_CLASS_DEVICE, (uint16_t)(id->class_code >> 8));
	f->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	pci_cfg_set16(f, PCI_SUBSYSTEM_VENDOR_ID, id->subsys_vendor);
	pci_cfg_set16(f, PCI_SUBSYSTEM_ID, id->subsys_id);
	pci_wmask_set16(f, PCI_COMMAND, COMMAND_WRITABLE);
	f->w1c[PCI_STATUS + 1] = STATUS_W1C >> 8;
	f->w1c[PCI_STATUS] = (uint8_t)STATUS_W1C;
	f->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	f->wmask[PCI_LATENCY_TIMER] = 0xff;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_func_set_bar(struct pci_func *f, int bar, uint64_t size, uint32_t flags,
		     const struct io_ops *ops, void *opaque)
{
	bool is64 = flags & PCI_BASE_ADDRESS_MEM_TYPE_64;
	if (bar < 0 || bar >= PCI_NUM_BARS || (is64 && bar == PCI_NUM_BARS - 1))
		return -EINVAL;
	if (size < 16 || (size & (size - 1)) || (!is64 && size > 0x80000000ULL))
		return -EINVAL;
	if (flags & ~(uint32_t)(PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH))
		return -EINVAL; /* I/O BARs are not modelled */
	f->bars[bar] = (struct pci_bar){.size = size, .flags = flags, .ops = ops, .opaque = opaque};
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * (uint32_t)bar;
	uint64_t mask = ~(size - 1); /* address bits: writing all-ones reads back the size */
	pci_cfg_set32(f, off, flags);
	pci_wmask_set32(f, off, (uint32_t)mask);
	if (is64) {
		pci_cfg_set32(f, off + 4, 0);
		pci_wmask_set32(f, off + 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

int pci_func_add_cap(struct pci_func *f, uint8_t id, uint8_t len)
{
	uint32_t off = (f->cap_end + 3u) & ~3u; /* 6.7: pointers are dword aligned */
	if (len < 2 || off + len > PCI_CFG_SPACE)
		return -ENOSPC;
	f->cfg[off] = id;
	f->cfg[off + 1] = 0; /* end of list until another is added */
	if (f->last_cap)
		f->cfg[f->last_cap + 1] = (uint8_t)off;
	else
		f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	f->last_cap = (uint8_t)off;
	f->cap_end = (uint16_t)(off + len);
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	return (int)off;
}

void pci_func_set_intx_pin(struct pci_func *f, uint8_t pin)
{
	f->cfg[PCI_INTERRUPT_PIN] = pin <= 4 ? pin : 0;
}

uint64_t pci_func_bar_addr(const struct pci_func *f, int bar)
{
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * (uint32_t)bar;
	uint64_t addr = pci_cfg_get32(f, off) & PCI_BASE_ADDRESS_MEM_MASK;
	if (f->bars[bar].flags & PCI_BASE_ADDRESS_MEM_TYPE_64)
		addr |= (uint64_t)pci_cfg_get32(f, off + 4) << 32;
	return addr;
}

/* True when BAR `bar` should decode at `addr` now. */
static bool bar_decodes(const struct pci_func *f, int bar, uint64_t addr)
{
	uint64_t end;
	if (!(pci_cfg_get16(f, PCI_COMMAND) & PCI_COMMAND_MEMORY) || addr == 0)
		return false;
	return !__builtin_add_overflow(addr, f->bars[bar].size - 1, &end);
}

static void update_bar(struct pci_func *f, int bar)
{
	struct pci_bar *b = &f->bars[bar];
	uint64_t addr = pci_func_bar_addr(f, bar);
	bool on = bar_decodes(f, bar, addr);
	if (on == b->mapped && (!on || addr == b->addr))
		return;
	bool was_on = b->mapped;
	uint64_t old = b->addr;
	if (b->mapped && f->bus)
		io_bus_unregister(f->bus->mmio, b->addr);
	b->mapped = false;
	if (on && f->bus) {
		int err = io_bus_register(f->bus->mmio, addr, b->size, b->ops, b->opaque, f->name);
		if (err) {
			log_debug("%s: BAR %d at 0x%llx not mapped: %s", f->name, bar,
				  (unsigned long long)addr, strerror(-err));
			on = false;
		}
	}
	b->mapped = on;
	b->addr = on ? addr : 0;
	if ((was_on || on) && f->ops && f->ops->bar_moved)
		f->ops->bar_moved(f, bar, was_on, old, on, addr);
}

void pci_func_update_mappings(struct pci_func *f)
{
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		if (f->bars[bar].size)
			update_bar(f, bar);
	}
}

void pci_func_config_read(struct pci_func *f, uint32_t off, void *data, uint32_t len)
{
	uint8_t *out = data;
	for (uint32_t i = 0; i < len; i++)
		out[i] = off + i < PCI_CFG_SPACE ? f->cfg[off + i] : 0;
	if (off < PCI_CFG_SPACE && f->ops && f->ops->config_read)
		f->ops->config_read(f, off, data, len);
}

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t end)
{
	return off < end && off + len > start;
}

void pci_func_config_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	if (off >= PCI_CFG_SPACE || len > PCI_CFG_SPACE - off)
		return; /* no extended configuration space */
	const uint8_t *in = data;
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;
		f->cfg[o] = (uint8_t)((f->cfg[o] & ~f->wmask[o]) | (in[i] & f->wmask[o]));
		f->cfg[o] &= (uint8_t) ~(in[i] & f->w1c[o]);
	}
	if (overlaps(off, len, PCI_COMMAND, PCI_COMMAND + 2) ||
	    overlaps(off, len, PCI_BASE_ADDRESS_0, PCI_CARDBUS_CIS))
		pci_func_update_mappings(f);
	if (f->ops && f->ops->config_write)
		f->ops->config_write(f, off, data, len);
}

int pci_func_bar_access(struct pci_func *f, int bar, uint64_t off, void *data, uint32_t len,
			bool write)
{
	if (bar < 0 || bar >= PCI_NUM_BARS || !f->bars[bar].size || !f->bars[bar].ops)
		return -EINVAL;
	const struct pci_bar *b = &f->bars[bar];
	if (off >= b->size || len > b->size - off)
		return -EINVAL;
	if (write)
		b->ops->write(b->opaque, off, data, len);
	else
		b->ops->read(b->opaque, off, data, len);
	return 0;
}

static bool is_status(uint32_t o)
{
	return o == PCI_STATUS || o == PCI_STATUS + 1;
}

int pci_func_restore_config(struct pci_func *f, const uint8_t cfg[PCI_CFG_SPACE])
{
	for (uint32_t o = 0; o < PCI_CFG_SPACE; o++) {
		if (!is_status(o) && (cfg[o] ^ f->cfg[o]) & ~f->wmask[o])
			return -EINVAL;
	}
	for (uint32_t o = 0; o < PCI_CFG_SPACE; o++) {
		if (!is_status(o))
			f->cfg[o] = (uint8_t)((f->cfg[o] & ~f->wmask[o]) | (cfg[o] & f->wmask[o]));
	}
	pci_func_update_mappings(f);
	return 0;
}
