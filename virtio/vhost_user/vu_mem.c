/* The vhost-user memory table and the checked translation of ring addresses into it. */
#include "virtio/vhost_user/vu_mem.h"

#include <errno.h>
#include <string.h>

#include "base/guest_mem.h"

int vu_mem_table_add(struct vu_mem_table *t, const struct vu_region *r)
{
	uint64_t end, tmp;

	if (r->size == 0 || r->fd < 0 || __builtin_add_overflow(r->gpa, r->size, &end) ||
	    __builtin_add_overflow(r->uaddr, r->size, &tmp) ||
	    __builtin_add_overflow(r->fd_offset, r->size, &tmp))
		return -EINVAL;
	for (unsigned i = 0; i < t->n; i++) {
		if (r->gpa < t->r[i].gpa + t->r[i].size && t->r[i].gpa < end)
			return -EINVAL;
	}
	if (t->n == VU_MAX_REGIONS)
		return -ENOSPC;
	t->r[t->n++] = *r;
	return 0;
}

int vu_mem_table_from_guest(struct vu_mem_table *t, const struct guest_mem *mem)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *g = &mem->regions[i];
		struct vu_region r = {.gpa = g->gpa,
				      .size = g->size,
				      .uaddr = (uint64_t)(uintptr_t)g->host,
				      .fd = g->fd,
				      .fd_offset = g->fd_offset};
		int err = vu_mem_table_add(t, &r);
		if (err)
			return -EINVAL;
	}
	return t->n ? 0 : -EINVAL;
}

int vu_mem_translate(const struct vu_mem_table *t, uint64_t gpa, uint64_t len, uint64_t *uaddr)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return -EFAULT;
	for (unsigned i = 0; i < t->n; i++) {
		const struct vu_region *r = &t->r[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size) {
			*uaddr = r->uaddr + (gpa - r->gpa);
			return 0;
		}
	}
	return -EFAULT;
}

int vu_ring_translate(const struct vu_mem_table *t, const struct vu_ring_gpa *ring, uint64_t *desc,
		      uint64_t *avail, uint64_t *used)
{
	uint64_t n = ring->num;

	/* 2.7: queue size a power of two, at most 32768 */
	if (n == 0 || n > 32768 || (n & (n - 1)))
		return -EINVAL;
	/* 2.7 "Alignment": descriptor table 16, available ring 2, used ring 4 */
	if (ring->desc % 16 || ring->avail % 2 || ring->used % 4)
		return -EINVAL;
	if (vu_mem_translate(t, ring->desc, 16 * n, desc) ||
	    vu_mem_translate(t, ring->avail, 6 + 2 * n, avail) ||
	    vu_mem_translate(t, ring->used, 6 + 8 * n, used))
		return -EFAULT;
	return 0;
}
