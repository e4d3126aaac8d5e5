/* Guest RAM for a device's DMA: every RAM region of guest_mem mapped in the container's IOMMU
 * at its guest-physical address, because the guest programs guest addresses into the device.
 * A DMA outside those ranges faults in the IOMMU instead of reaching host memory. */
#include <errno.h>

#include "host/vfio/vfio.h"

int vfio_dma_map_ram(struct vfio_container *c, const struct guest_mem *mem)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		int rc = vfio_dma_map(c, r->gpa, r->size, r->host);
		if (rc < 0) {
			while (i-- > 0) /* all or nothing: the caller refuses the device */
				vfio_dma_unmap(c, mem->regions[i].gpa, mem->regions[i].size);
			return rc;
		}
	}
	return 0;
}

int vfio_dma_unmap_ram(struct vfio_container *c, const struct guest_mem *mem)
{
	int first = 0;
	for (int i = 0; i < mem->nregions; i++) {
		int rc = vfio_dma_unmap(c, mem->regions[i].gpa, mem->regions[i].size);
		if (rc < 0 && !first)
			first = rc;
	}
	return first;
}
