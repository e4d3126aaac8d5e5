/* A passed-through PCI function: initialisation and configuration space (vfio_pci.h says what
 * is passed through and what the VMM owns). */
#include "devices/pci/vfio_pci.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "devices/pci/vfio_pci_internal.h"

/* The device's own bytes [off, off + len): all-ones when the region cannot be read. */
static void dev_read(struct vfio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	if (vfio_region_read(vp->dev, &vp->cfg, off, data, len) < 0)
		memset(data, 0xff, len);
}

static uint32_t dev_read32(struct vfio_pci *vp, uint32_t off)
{
	uint8_t b[4];
	dev_read(vp, off, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int init_bars(struct vfio_pci *vp, char *err, size_t errlen)
{
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct vfio_pci_bar *b = &vp->bars[i];
		int rc =
		    vfio_region_get(vp->dev, VFIO_PCI_BAR0_REGION_INDEX + (uint32_t)i, &b->region);
		if (rc < 0)
			return fail_rc(rc, err, errlen, "%s: BAR %d: region info: %s", vp->dev->bdf,
				       i, strerror(-rc));
		if (!b->region.size)
			continue;
		uint64_t s = b->region.size;
		if (s & (s - 1))
			return fail_rc(-EINVAL, err, errlen,
				       "%s: BAR %d: size 0x%llx is no power of "
				       "two",
				       vp->dev->bdf, i, (unsigned long long)s);
		uint32_t reg = dev_read32(vp, PCI_BASE_ADDRESS_0 + 4 * (uint32_t)i);
		b->size = s < 16 && !(reg & PCI_BASE_ADDRESS_SPACE_IO) ? 16 : s;
		if (reg & PCI_BASE_ADDRESS_SPACE_IO) {
			b->flags = PCI_BASE_ADDRESS_SPACE_IO;
			continue;
		}
		b->flags = reg & (PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
		if (b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
			if (i == PCI_NUM_BARS - 1)
				return fail_rc(-EINVAL, err, errlen, "%s: BAR 5 claims 64 bits",
					       vp->dev->bdf);
			i++; /* the upper half: no region, no size of its own */
			vp->bars[i] = (struct vfio_pci_bar){0};
		}
	}
	return 0;
}

static int init_rom(struct vfio_pci *vp)
{
	if (vp->dev->num_regions <= VFIO_PCI_ROM_REGION_INDEX)
		return 0;
	int rc = vfio_region_get(vp->dev, VFIO_PCI_ROM_REGION_INDEX, &vp->rom);
	if (rc < 0)
		return 0; /* no ROM: the register reads 0 */
	uint64_t s = vp->rom.size;
	if (s >= 2048 && !(s & (s - 1)) && s <= 0x80000000ULL)
		vp->rom_size = s;
	return 0;
}

/* MSI's length from its Message Control (PCI 3.0, 6.8.1). */
static uint8_t msi_len(uint16_t ctrl)
{
	bool is64 = ctrl & PCI_MSI_FLAGS_64BIT, mask = ctrl & PCI_MSI_FLAGS_MASKBIT;
	return is64 ? (mask ? 24 : 14) : (mask ? 20 : 10);
}

/* Walks the capability list (at most 48 hops: a looping list ends), noting MSI and MSI-X. */
static int init_caps(struct vfio_pci *vp, char *err, size_t errlen)
{
	uint8_t status[2], ptr_at = PCI_CAPABILITY_LIST, b[4];
	dev_read(vp, PCI_STATUS, status, 2);
	if (!(status[0] & PCI_STATUS_CAP_LIST))
		return 0;
	dev_read(vp, ptr_at, b, 1);
	for (unsigned hops = 0; hops < 48 && b[0] >= PCI_CAP_START; hops++) {
		uint8_t at = b[0] & 0xfc;
		dev_read(vp, at, b, 4);
		uint16_t ctrl = (uint16_t)(b[2] | b[3] << 8);
		if (b[0] == PCI_CAP_ID_MSI && !vp->msi_cap) {
			vp->msi_cap = at;
			vp->msi_len = msi_len(ctrl);
			vp->msi_ptr = ptr_at;
			vp->msi_next = b[1];
		} else if (b[0] == PCI_CAP_ID_MSIX && !vp->msix_cap) {
			int rc = vfio_pci_msix_init(vp, at, ctrl, err, errlen);
			if (rc < 0)
				return rc;
		}
		ptr_at = at + 1;
		b[0] = b[1];
	}
	return 0;
}

static void forward_read(struct pci_func *f, uint32_t off, void *data, uint32_t len)
{
	vfio_pci_config_read(f->opaque, off, data, len);
}

static void forward_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	vfio_pci_config_write(f->opaque, off, data, len);
}

/* The bus's generic access keeps its own copy (f->cfg) and then calls these, which answer for
 * every byte: the copy is never what the guest sees. */
static const struct pci_func_ops forward_ops = {
    .config_read = forward_read,
    .config_write = forward_write,
};

static void init_func(struct vfio_pci *vp)
{
	uint8_t id[4];
	dev_read(vp, PCI_VENDOR_ID, id, 4);
	struct pci_id pid = {.vendor = (uint16_t)(id[0] | id[1] << 8),
			     .device = (uint16_t)(id[2] | id[3] << 8)};
	pci_func_init(&vp->func, &pid, vp->dev->bdf, &forward_ops, vp);
}

int vfio_pci_init(struct vfio_pci *vp, struct vfio_device *dev, const struct vfio_pci_irq_ops *irq,
		  void *opaque, char *err, size_t errlen)
{
	memset(vp, 0, sizeof(*vp));
	vp->dev = dev;
	vp->irq = irq;
	vp->opaque = opaque;
	vp->msix_bar = -1;
	int rc = vfio_region_get(dev, VFIO_PCI_CONFIG_REGION_INDEX, &vp->cfg);
	if (rc < 0)
		return fail_rc(rc, err, errlen, "%s: configuration region: %s", dev->bdf,
			       strerror(-rc));
	uint8_t probe[4];
	if (vp->cfg.size < PCI_CFG_SPACE ||
	    vfio_region_read(dev, &vp->cfg, 0, probe, sizeof(probe)) < 0)
		return fail_rc(-EIO, err, errlen, "%s: configuration space cannot be read",
			       dev->bdf);
	rc = init_bars(vp, err, errlen);
	if (rc == 0)
		rc = init_rom(vp);
	if (rc == 0)
		rc = init_caps(vp, err, errlen);
	if (rc < 0) {
		vfio_pci_destroy(vp);
		return rc;
	}
	init_func(vp);
	return 0;
}

void vfio_pci_destroy(struct vfio_pci *vp)
{
	free(vp->table);
	free(vp->pending);
	free(vp->routes);
	vp->table = NULL;
	vp->pending = NULL;
	vp->routes = NULL;
}

/* ---- the registers the VMM owns ---- */

/* The 32-bit value BAR register `i` shows: the guest's address bits and the flags. */
static uint32_t bar_reg(const struct vfio_pci *vp, int i)
{
	const struct vfio_pci_bar *b = &vp->bars[i];
	if (!b->size) {
		if (i > 0 && vp->bars[i - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64 &&
		    vp->bars[i - 1].size)
			return (uint32_t)((vp->bars[i - 1].addr & ~(vp->bars[i - 1].size - 1)) >>
					  32);
		return 0;
	}
	return (uint32_t)(b->addr & ~(b->size - 1)) | b->flags;
}

/* Takes a guest write of `v` into BAR register `i` (the sizing protocol falls out of masking
 * with the size: all-ones reads back ~(size - 1) | flags). */
static void bar_reg_write(struct vfio_pci *vp, int i, uint32_t v)
{
	struct vfio_pci_bar *b = &vp->bars[i];
	if (b->size) {
		uint32_t low = b->flags & PCI_BASE_ADDRESS_SPACE_IO ? ~3u : ~15u;
		b->addr = (b->addr & ~0xffffffffULL) | (v & low & (uint32_t) ~(b->size - 1));
	} else if (i > 0 && vp->bars[i - 1].size &&
		   vp->bars[i - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		struct vfio_pci_bar *lo = &vp->bars[i - 1];
		lo->addr = (lo->addr & 0xffffffffULL) | ((uint64_t)v << 32 & ~(lo->size - 1));
	}
}

static uint32_t rom_reg(const struct vfio_pci *vp)
{
	if (!vp->rom_size)
		return 0; /* no ROM: the register is not implemented */
	return vp->rom_reg & ((uint32_t) ~(vp->rom_size - 1) | PCI_ROM_ADDRESS_ENABLE);
}

static void moved(struct vfio_pci *vp, int bar, bool on, uint64_t addr)
{
	if (vp->irq && vp->irq->bar_moved)
		vp->irq->bar_moved(vp->opaque, bar, on, addr);
}

/* The ROM decodes with its enable bit and the guest's memory decoding on, at a non-zero
 * address. */
static void update_rom(struct vfio_pci *vp)
{
	uint64_t addr = rom_reg(vp) & PCI_ROM_ADDRESS_MASK;
	bool on = vp->rom_size && (vp->rom_reg & PCI_ROM_ADDRESS_ENABLE) &&
		  (vp->command & PCI_COMMAND_MEMORY) && addr;
	if (on == vp->rom_mapped && (!on || addr == vp->rom_mapped_addr))
		return;
	if (vp->rom_mapped)
		moved(vp, VFIO_PCI_ROM_BAR, false, vp->rom_mapped_addr);
	vp->rom_mapped = on;
	vp->rom_mapped_addr = on ? addr : 0;
	if (on)
		moved(vp, VFIO_PCI_ROM_BAR, true, addr);
}

/* Re-evaluates where every BAR decodes and tells the owner of each change. */
static void update_bars(struct vfio_pci *vp)
{
	update_rom(vp);
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct vfio_pci_bar *b = &vp->bars[i];
		if (!b->size)
			continue;
		uint16_t bit =
		    b->flags & PCI_BASE_ADDRESS_SPACE_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		uint64_t addr = b->addr & ~(b->size - 1), end;
		bool on =
		    (vp->command & bit) && addr && !__builtin_add_overflow(addr, b->size - 1, &end);
		if (on == b->mapped && (!on || addr == b->mapped_addr))
			continue;
		if (b->mapped && vp->irq && vp->irq->bar_moved)
			vp->irq->bar_moved(vp->opaque, i, false, b->mapped_addr);
		b->mapped = on;
		b->mapped_addr = on ? addr : 0;
		if (on && vp->irq && vp->irq->bar_moved)
			vp->irq->bar_moved(vp->opaque, i, true, addr);
	}
}

/* Where MSI-X Message Control is. */
static uint32_t msix_ctrl_at(const struct vfio_pci *vp)
{
	return vp->msix_cap + (uint32_t)PCI_MSIX_FLAGS;
}

/* Is byte `o` one the VMM answers for (not the device)? */
static bool owned(const struct vfio_pci *vp, uint32_t o)
{
	if ((o >= PCI_BASE_ADDRESS_0 && o < PCI_CARDBUS_CIS) ||
	    (o >= PCI_ROM_ADDRESS && o < PCI_ROM_ADDRESS + 4) || o == PCI_INTERRUPT_LINE)
		return true;
	if (vp->msi_cap &&
	    (o == vp->msi_ptr || (o >= vp->msi_cap && o < vp->msi_cap + vp->msi_len)))
		return true;
	return vp->msix_cap && o >= msix_ctrl_at(vp) && o < msix_ctrl_at(vp) + 2;
}

static uint8_t byte_of(uint32_t v, uint32_t o)
{
	return (uint8_t)(v >> 8 * (o & 3));
}

/* The byte the guest sees at owned offset `o`; `dev` is the device's byte there. */
static uint8_t owned_byte(const struct vfio_pci *vp, uint32_t o, uint8_t dev)
{
	if (o >= PCI_BASE_ADDRESS_0 && o < PCI_CARDBUS_CIS)
		return byte_of(bar_reg(vp, (int)(o - PCI_BASE_ADDRESS_0) / 4), o);
	if (o >= PCI_ROM_ADDRESS && o < PCI_ROM_ADDRESS + 4)
		return byte_of(rom_reg(vp), o);
	if (o == PCI_INTERRUPT_LINE)
		return vp->irq_line;
	if (vp->msi_cap && o == vp->msi_ptr)
		return vp->msi_next;
	if (vp->msi_cap && o >= vp->msi_cap && o < vp->msi_cap + vp->msi_len)
		return 0; /* hidden: not in the list, and reads nothing of the device's */
	/* MSI-X Message Control: Table Size is the device's, Enable and Function Mask ours */
	uint16_t keep = PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL;
	uint16_t ctrl_mask = o == msix_ctrl_at(vp) ? (uint8_t)keep : keep >> 8;
	uint8_t mine =
	    o == msix_ctrl_at(vp) ? (uint8_t)vp->msix_ctrl : (uint8_t)(vp->msix_ctrl >> 8);
	return (uint8_t)((dev & ~ctrl_mask) | (mine & ctrl_mask));
}

void vfio_pci_config_read(struct vfio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	uint8_t *out = data;
	if (off >= PCI_CFG_SPACE || len > PCI_CFG_SPACE - off || len == 0 || len > 4) {
		memset(data, 0, len);
		return;
	}
	dev_read(vp, off, data, len);
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;
		if (owned(vp, o))
			out[i] = owned_byte(vp, o, out[i]);
		else if (o == PCI_COMMAND)
			out[i] = (uint8_t)((out[i] & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY)) |
					   vp->command);
	}
}

/* Merges the written bytes [off, off + len) into register `reg` (4 bytes at `base`). */
static uint32_t merge(uint32_t reg, uint32_t base, uint32_t off, const uint8_t *in, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;
		if (o >= base && o < base + 4) {
			uint32_t sh = 8 * (o - base);
			reg = (reg & ~(0xffu << sh)) | (uint32_t)in[i] << sh;
		}
	}
	return reg;
}

static void write_owned(struct vfio_pci *vp, uint32_t off, const uint8_t *in, uint32_t len)
{
	bool bars = false;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t base = PCI_BASE_ADDRESS_0 + 4 * (uint32_t)i;
		if (off < base + 4 && off + len > base) {
			bar_reg_write(vp, i, merge(bar_reg(vp, i), base, off, in, len));
			bars = true;
		}
	}
	if (vp->rom_size && off < PCI_ROM_ADDRESS + 4 && off + len > PCI_ROM_ADDRESS) {
		vp->rom_reg = merge(rom_reg(vp), PCI_ROM_ADDRESS, off, in, len);
		bars = true;
	}
	if (off <= PCI_INTERRUPT_LINE && off + len > PCI_INTERRUPT_LINE)
		vp->irq_line = in[PCI_INTERRUPT_LINE - off];
	uint32_t ctrl = msix_ctrl_at(vp);
	if (vp->msix_cap && off < ctrl + 2 && off + len > ctrl) {
		uint32_t v = merge(vp->msix_ctrl, ctrl, off, in, len);
		vfio_pci_msix_control(
		    vp, (uint16_t)(v & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)));
	}
	if (bars)
		update_bars(vp);
	/* MSI's bytes and its list pointer: dropped (hidden) */
}

/* Writes the device's bytes of [off, off + len) that the VMM does not own, one run at a time
 * (so a 2- or 4-byte register of the device is written whole). */
static void write_through(struct vfio_pci *vp, uint32_t off, const uint8_t *in, uint32_t len)
{
	uint32_t i = 0;
	while (i < len) {
		if (owned(vp, off + i)) {
			i++;
			continue;
		}
		uint32_t j = i;
		while (j < len && !owned(vp, off + j))
			j++;
		vfio_region_write(vp->dev, &vp->cfg, off + i, in + i, j - i);
		i = j;
	}
}

void vfio_pci_config_write(struct vfio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
	const uint8_t *in = data;
	if (off >= PCI_CFG_SPACE || len > PCI_CFG_SPACE - off || len == 0 || len > 4)
		return;
	bool cmd = off <= PCI_COMMAND && off + len > PCI_COMMAND;
	uint16_t next =
	    cmd ? in[PCI_COMMAND - off] & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY) : vp->command;
	/* Decoding turned off: the guest loses the BARs before the device stops decoding them
	 * (the host kernel faults a mapping of a BAR whose decoding is off); turned on: after. */
	if (vp->command & ~next) {
		vp->command &= next;
		update_bars(vp);
	}
	write_through(vp, off, in, len);
	if (cmd) {
		vp->command = next;
		update_bars(vp);
	}
	write_owned(vp, off, in, len);
}

int vfio_pci_rom_read(struct vfio_pci *vp, uint64_t off, void *data, uint32_t len)
{
	if (!vp->rom_size)
		return -ENODEV;
	return vfio_region_read(vp->dev, &vp->rom, off, data, len);
}
