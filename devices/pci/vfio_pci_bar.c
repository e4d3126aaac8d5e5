/* The BARs of a passed-through function: trapped accesses, and the plan of which parts may be
 * mmap'd straight into the guest instead. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <string.h>

#include "devices/pci/vfio_pci_internal.h"

static bool within(uint64_t off, uint32_t len, uint64_t start, uint64_t size)
{
	return off >= start && off - start < size && len <= size - (off - start);
}

static uint64_t table_size(const struct vfio_pci *vp)
{
	return 16ull * vp->nvec;
}

static uint64_t pba_size(const struct vfio_pci *vp)
{
	return 8ull * ((vp->nvec + 63u) / 64u);
}

static bool bar_ok(const struct vfio_pci *vp, int bar, uint64_t off, uint32_t len)
{
	return bar >= 0 && bar < PCI_NUM_BARS && vp->bars[bar].size && len >= 1 && len <= 8 &&
	       within(off, len, 0, vp->bars[bar].region.size);
}

void vfio_pci_bar_read(struct vfio_pci *vp, int bar, uint64_t off, void *data, uint32_t len)
{
	if (len > 8 || !bar_ok(vp, bar, off, len)) {
		memset(data, 0xff, len);
		return;
	}
	if (bar == vp->msix_bar && within(off, len, vp->table_off, table_size(vp))) {
		vfio_pci_msix_table_read(vp, off - vp->table_off, data, len);
		return;
	}
	if (bar == vp->msix_bar && within(off, len, vp->pba_off, pba_size(vp))) {
		vfio_pci_msix_pba_read(vp, off - vp->pba_off, data, len);
		return;
	}
	if (vfio_region_read(vp->dev, &vp->bars[bar].region, off, data, len) < 0)
		memset(data, 0xff, len);
}

bool vfio_pci_pba_vectors(const struct vfio_pci *vp, int bar, uint64_t off, uint32_t len,
			  uint16_t *first, uint16_t *count)
{
	*first = *count = 0;
	if (!vp->nvec || bar != vp->msix_bar || len < 1 || len > 8 ||
	    !within(off, len, vp->pba_off, pba_size(vp)))
		return false;
	uint64_t lo = (off - vp->pba_off) * 8, hi = lo + 8ull * len; /* one bit per vector */
	hi = hi < vp->nvec ? hi : vp->nvec;
	*first = (uint16_t)lo;
	*count = (uint16_t)(hi > lo ? hi - lo : 0);
	return true;
}

void vfio_pci_bar_write(struct vfio_pci *vp, int bar, uint64_t off, const void *data, uint32_t len)
{
	if (!bar_ok(vp, bar, off, len))
		return;
	if (bar == vp->msix_bar && within(off, len, vp->table_off, table_size(vp))) {
		vfio_pci_msix_table_write(vp, off - vp->table_off, data, len);
		return;
	}
	if (bar == vp->msix_bar && within(off, len, vp->pba_off, pba_size(vp)))
		return; /* the PBA is read-only */
	vfio_region_write(vp->dev, &vp->bars[bar].region, off, data, len);
}

/* ---- the mmap plan ---- */

struct span {
	uint64_t start, end; /* [start, end) */
};

struct spans {
	unsigned n;
	struct span s[VFIO_PCI_PLAN_MAX];
};

/* Adds [start, end) keeping the list sorted; empty spans are skipped. */
static int add_span(struct spans *l, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	if (l->n == VFIO_PCI_PLAN_MAX)
		return -E2BIG;
	unsigned i = l->n;
	while (i > 0 && l->s[i - 1].start > start) {
		l->s[i] = l->s[i - 1];
		i--;
	}
	l->s[i] = (struct span){start, end};
	l->n++;
	return 0;
}

/* Removes [start, end) from every span. */
static int cut(struct spans *l, uint64_t start, uint64_t end)
{
	struct spans out = {0};
	for (unsigned i = 0; i < l->n; i++) {
		struct span s = l->s[i];
		if (end <= s.start || start >= s.end) {
			if (add_span(&out, s.start, s.end) < 0)
				return -E2BIG;
			continue;
		}
		if (add_span(&out, s.start, start > s.start ? start : s.start) < 0 ||
		    add_span(&out, end < s.end ? end : s.end, s.end) < 0)
			return -E2BIG;
	}
	*l = out;
	return 0;
}

/* The page-aligned parts of the region that allow mmap: its sparse areas, or all of it. */
static int mmappable(const struct vfio_pci_bar *b, uint64_t page, struct spans *l)
{
	const struct vfio_region *r = &b->region;
	if (b->flags & PCI_BASE_ADDRESS_SPACE_IO || !(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	uint64_t lim = r->size < b->size ? r->size : b->size;
	if (!r->sparse)
		return add_span(l, 0, lim & ~(page - 1));
	for (uint32_t i = 0; i < r->nareas; i++) {
		uint64_t s = r->areas[i].offset, e;
		if (s >= lim || __builtin_add_overflow(s, r->areas[i].size, &e))
			continue;
		e = e < lim ? e : lim;
		s = (s + page - 1) & ~(page - 1); /* inward: only whole pages map */
		if (add_span(l, s, e & ~(page - 1)) < 0)
			return -E2BIG;
	}
	return 0;
}

static uint64_t down(uint64_t v, uint64_t page)
{
	return v & ~(page - 1);
}

static uint64_t up(uint64_t v, uint64_t page)
{
	return (v + page - 1) & ~(page - 1);
}

int vfio_pci_bar_plan(const struct vfio_pci *vp, int bar, uint64_t page_size,
		      struct vfio_pci_bar_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (bar < 0 || bar >= PCI_NUM_BARS || !vp->bars[bar].size || !page_size ||
	    (page_size & (page_size - 1)))
		return -EINVAL;
	const struct vfio_pci_bar *b = &vp->bars[bar];
	struct spans l = {0};
	int rc = mmappable(b, page_size, &l);
	/* The table and PBA trap whatever the region allows (even with MSIX_MAPPABLE): the guest's
	 * vectors are the VMM's, never written to the device. Whole pages, as KVM slots are. */
	if (rc == 0 && bar == vp->msix_bar) {
		rc = cut(&l, down(vp->table_off, page_size),
			 up(vp->table_off + table_size(vp), page_size));
		if (rc == 0)
			rc = cut(&l, down(vp->pba_off, page_size),
				 up(vp->pba_off + pba_size(vp), page_size));
	}
	if (rc < 0)
		return rc;
	uint64_t at = 0;
	for (unsigned i = 0; i <= l.n; i++) {
		uint64_t next = i < l.n ? l.s[i].start : b->size;
		if (next > at) {
			if (plan->nparts == VFIO_PCI_PLAN_MAX)
				return -E2BIG;
			plan->parts[plan->nparts++] =
			    (struct vfio_pci_bar_part){at, next - at, false};
		}
		if (i == l.n)
			break;
		if (l.s[i].start < at) /* overlapping sparse areas: keep what is new */
			l.s[i].start = at;
		if (l.s[i].end <= l.s[i].start)
			continue;
		if (plan->nparts == VFIO_PCI_PLAN_MAX)
			return -E2BIG;
		plan->parts[plan->nparts++] =
		    (struct vfio_pci_bar_part){l.s[i].start, l.s[i].end - l.s[i].start, true};
		at = l.s[i].end;
	}
	return 0;
}

/* One memory BAR's address in [*next, end), naturally aligned; 0 when it does not fit. */
static uint64_t place_one(uint64_t *next, uint64_t end, uint64_t size)
{
	uint64_t addr = (*next + size - 1) & ~(size - 1);
	if (addr < *next || addr > end || size > end - addr)
		return 0;
	*next = addr + size;
	return addr;
}

/* The window BAR `b` goes in: the 64-bit one for a 64-bit BAR when there is one. */
static bool goes_high(const struct vfio_pci_windows *w, const struct vfio_pci_bar *b)
{
	return (b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) && w->next64 < w->end64;
}

int vfio_pci_place_bars(struct vfio_pci *vp, struct vfio_pci_windows *w, char *err, size_t errlen)
{
	struct vfio_pci_windows at = *w;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		const struct vfio_pci_bar *b = &vp->bars[i];
		if (!b->size || b->flags & PCI_BASE_ADDRESS_SPACE_IO)
			continue;
		bool high = goes_high(w, b);
		uint64_t *next = high ? &at.next64 : &at.next32, end = high ? at.end64 : at.end32;
		uint64_t left = end - *next;
		uint64_t addr = place_one(next, end, b->size);
		if (!addr) {
			snprintf(err, errlen,
				 "%s: BAR %d (%llu KiB) does not fit in the %s PCI memory window "
				 "(%llu KiB left)",
				 vp->dev->bdf, i, (unsigned long long)(b->size >> 10),
				 high ? "64-bit" : "32-bit", (unsigned long long)(left >> 10));
			return -ENOSPC;
		}
		/* as firmware does it: through the registers, so the guest reads them back */
		uint32_t lo = (uint32_t)addr, hi = (uint32_t)(addr >> 32);
		vfio_pci_config_write(vp, PCI_BASE_ADDRESS_0 + 4 * (uint32_t)i, &lo, 4);
		if (b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64)
			vfio_pci_config_write(vp, PCI_BASE_ADDRESS_0 + 4 * (uint32_t)i + 4, &hi, 4);
	}
	*w = at;
	uint16_t cmd;
	vfio_pci_config_read(vp, PCI_COMMAND, &cmd, 2);
	cmd |= PCI_COMMAND_MEMORY;
	vfio_pci_config_write(vp, PCI_COMMAND, &cmd, 2);
	return 0;
}
