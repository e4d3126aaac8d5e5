/* MSI-X of a passed-through function (PCI Local Bus Specification 3.0, 6.8.2): the guest's
 * table and PBA are kept here; each vector's state is a route handed to the owner, who turns it
 * into a KVM MSI route and irqfd for the eventfd VFIO signals (VFIO_DEVICE_SET_IRQS). */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/vfio_pci_internal.h"

enum { ADDR_LO, ADDR_HI, DATA, CTRL };

static bool inside_bar(const struct vfio_pci *vp, int bar, uint32_t off, uint64_t len)
{
	const struct vfio_pci_bar *b = &vp->bars[bar];
	return b->size && !(b->flags & PCI_BASE_ADDRESS_SPACE_IO) && off <= b->size &&
	       len <= b->size - off;
}

int vfio_pci_msix_init(struct vfio_pci *vp, uint8_t cap, uint16_t ctrl, char *err, size_t errlen)
{
	uint32_t regs[2];
	if (vfio_region_read(vp->dev, &vp->cfg, cap + PCI_MSIX_TABLE, regs, sizeof(regs)) < 0) {
		snprintf(err, errlen, "%s: MSI-X capability cannot be read", vp->dev->bdf);
		return -EIO;
	}
	uint16_t nvec = (uint16_t)((ctrl & PCI_MSIX_FLAGS_QSIZE) + 1);
	int tbar = (int)(regs[0] & PCI_MSIX_TABLE_BIR), pbar = (int)(regs[1] & PCI_MSIX_PBA_BIR);
	uint32_t toff = regs[0] & PCI_MSIX_TABLE_OFFSET, poff = regs[1] & PCI_MSIX_PBA_OFFSET;
	/* Both in one BAR is what every device we know does, and what the trap layout assumes. */
	if (tbar >= PCI_NUM_BARS || tbar != pbar || !inside_bar(vp, tbar, toff, 16ull * nvec) ||
	    !inside_bar(vp, pbar, poff, 8ull * ((nvec + 63u) / 64u))) {
		snprintf(err, errlen,
			 "%s: MSI-X table (BAR %d + 0x%x) or PBA (BAR %d + 0x%x) of %u vectors is "
			 "not inside one memory BAR",
			 vp->dev->bdf, tbar, toff, pbar, poff, nvec);
		return -EINVAL;
	}
	vp->table = calloc(nvec, sizeof(*vp->table));
	vp->pending = calloc((nvec + 63u) / 64u, sizeof(uint64_t));
	vp->routes = calloc(nvec, sizeof(*vp->routes));
	if (!vp->table || !vp->pending || !vp->routes) {
		snprintf(err, errlen, "%s: out of memory", vp->dev->bdf);
		return -ENOMEM;
	}
	for (uint16_t v = 0; v < nvec; v++)
		vp->table[v][CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT; /* 6.8.2.9: masked at reset */
	vp->msix_cap = cap;
	vp->nvec = nvec;
	vp->msix_bar = tbar;
	vp->table_off = toff;
	vp->pba_off = poff;
	return 0;
}

static bool pending(const struct vfio_pci *vp, uint16_t v)
{
	return vp->pending[v / 64] >> (v % 64) & 1;
}

void vfio_pci_msix_route(const struct vfio_pci *vp, uint16_t v, struct vfio_pci_route *r)
{
	*r = (struct vfio_pci_route){0};
	if (v >= vp->nvec)
		return;
	r->addr = vp->table[v][ADDR_LO] | (uint64_t)vp->table[v][ADDR_HI] << 32;
	r->data = vp->table[v][DATA];
	r->active = (vp->msix_ctrl & PCI_MSIX_FLAGS_ENABLE) &&
		    !(vp->msix_ctrl & PCI_MSIX_FLAGS_MASKALL) &&
		    !(vp->table[v][CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
	r->deliver_pending = r->active && pending(vp, v);
}

/* Tells the owner about vector `v` when its route differs from the last one reported (or a
 * pending message is to go out now). */
static void report(struct vfio_pci *vp, uint16_t v)
{
	struct vfio_pci_route r;
	vfio_pci_msix_route(vp, v, &r);
	struct vfio_pci_route *last = &vp->routes[v];
	if (!r.deliver_pending && r.active == last->active &&
	    (!r.active || (r.addr == last->addr && r.data == last->data)))
		return;
	if (r.deliver_pending)
		vp->pending[v / 64] &= ~(1ull << (v % 64));
	*last = r;
	last->deliver_pending = false;
	if (vp->irq && vp->irq->msix_route)
		vp->irq->msix_route(vp->opaque, v, &r);
}

void vfio_pci_msix_control(struct vfio_pci *vp, uint16_t bits)
{
	bool was_on = vp->msix_ctrl & PCI_MSIX_FLAGS_ENABLE;
	vp->msix_ctrl = bits;
	bool on = bits & PCI_MSIX_FLAGS_ENABLE;
	if (on != was_on && vp->irq && vp->irq->msix_enable)
		vp->irq->msix_enable(vp->opaque, on, vp->nvec);
	for (uint16_t v = 0; v < vp->nvec; v++)
		report(vp, v);
}

void vfio_pci_msix_set_pending(struct vfio_pci *vp, uint16_t v)
{
	if (v >= vp->nvec)
		return;
	vp->pending[v / 64] |= 1ull << (v % 64);
	report(vp, v); /* active after all (a race with an unmask): it goes out now */
}

static bool aligned(uint64_t off, uint32_t len)
{
	return (len == 4 || len == 8) && off % len == 0;
}

void vfio_pci_msix_table_read(struct vfio_pci *vp, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (!aligned(off, len) || off >= 16ull * vp->nvec)
		return;
	memcpy(data, &vp->table[off / 16][off % 16 / 4], len);
}

void vfio_pci_msix_table_write(struct vfio_pci *vp, uint64_t off, const void *data, uint32_t len)
{
	if (!aligned(off, len) || off >= 16ull * vp->nvec)
		return;
	uint32_t w[2];
	memcpy(w, data, len);
	uint16_t v = (uint16_t)(off / 16);
	for (uint32_t i = 0; i < len / 4; i++) {
		unsigned field = (unsigned)(off % 16 / 4 + i);
		/* only the mask bit of Vector Control is defined; the rest reads 0 */
		vp->table[v][field] = field == CTRL ? w[i] & PCI_MSIX_ENTRY_CTRL_MASKBIT : w[i];
	}
	report(vp, v);
}

void vfio_pci_msix_pba_read(struct vfio_pci *vp, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	uint32_t words = (vp->nvec + 63u) / 64u;
	if (!aligned(off, len) || off >= 8ull * words)
		return;
	memcpy(data, (const uint8_t *)vp->pending + off, len);
}
