/* Region info and its capability chain (VFIO_DEVICE_GET_REGION_INFO, <linux/vfio.h>): the
 * kernel answers with the size it needs in argsz when the capabilities do not fit, so the call
 * is made twice, the second time with room for them. */
#include "host/vfio/vfio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Keeps the sparse mmap areas of `cap` (bounds-checked against the buffer the kernel filled). */
static void take_sparse(struct vfio_region *r, const uint8_t *buf, uint32_t argsz, uint32_t off)
{
	const struct vfio_region_info_cap_sparse_mmap *s = (const void *)(buf + off);
	if (off + sizeof(*s) > argsz)
		return;
	uint32_t n = s->nr_areas;
	if (n > (argsz - off - sizeof(*s)) / sizeof(s->areas[0]))
		return;
	r->sparse = true;
	r->nareas = 0;
	for (uint32_t i = 0; i < n && r->nareas < VFIO_MAX_AREAS; i++) {
		if (!s->areas[i].size)
			continue;
		r->areas[r->nareas].offset = s->areas[i].offset;
		r->areas[r->nareas].size = s->areas[i].size;
		r->nareas++;
	}
}

/* Walks the chain; a loop or an offset outside the buffer ends it. */
static void take_caps(struct vfio_region *r, const uint8_t *buf, uint32_t argsz, uint32_t first)
{
	uint32_t off = first;
	for (unsigned hops = 0; off && hops < 16; hops++) {
		if (off < sizeof(struct vfio_region_info) ||
		    off + sizeof(struct vfio_info_cap_header) > argsz || off % 4)
			return;
		const struct vfio_info_cap_header *h = (const void *)(buf + off);
		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			take_sparse(r, buf, argsz, off);
		else if (h->id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE)
			r->msix_mappable = true;
		off = h->next;
	}
}

int vfio_region_get(struct vfio_device *d, uint32_t index, struct vfio_region *r)
{
	struct vfio_region_info info = {.argsz = sizeof(info), .index = index};
	int rc = d->ops->ioctl(d->ctx, d->fd, VFIO_DEVICE_GET_REGION_INFO, &info);
	if (rc < 0)
		return rc;
	*r = (struct vfio_region){
	    .index = index, .flags = info.flags, .size = info.size, .offset = info.offset};
	if (!(info.flags & VFIO_REGION_INFO_FLAG_CAPS) || info.argsz <= sizeof(info))
		return 0;
	uint32_t argsz = info.argsz;
	if (argsz > 65536)
		return -EINVAL;
	uint8_t *buf = calloc(1, argsz);
	if (!buf)
		return -ENOMEM;
	struct vfio_region_info *full = (void *)buf;
	full->argsz = argsz;
	full->index = index;
	rc = d->ops->ioctl(d->ctx, d->fd, VFIO_DEVICE_GET_REGION_INFO, full);
	if (rc >= 0 && full->argsz <= argsz)
		take_caps(r, buf, argsz, full->cap_offset);
	free(buf);
	return rc < 0 ? rc : 0;
}

void *vfio_region_mmap(struct vfio_device *d, const struct vfio_region *r, uint64_t off, size_t len)
{
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || !len || (off | len) & 4095 ||
	    off > r->size || len > r->size - off) {
		errno = EINVAL;
		return NULL;
	}
	int prot = (r->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
		   (r->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
	void *p = d->ops->mmap(d->ctx, len, prot, d->fd, (off_t)(r->offset + off));
	return p == MAP_FAILED ? NULL : p;
}

void vfio_region_munmap(struct vfio_device *d, void *addr, size_t len)
{
	if (addr)
		d->ops->munmap(d->ctx, addr, len);
}
