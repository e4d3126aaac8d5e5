/* No virtio-pci in the arm64 runtime yet (its ECAM and the ITS for MSI-X are to be written):
 * transport=pci finds nothing. */
#include "../virtio_pci.h"

#include "printf.h"

const struct vdev_ops virtio_pci_ops = {.name = "pci"};

struct vdev *virtio_pci_find(uint32_t device_id, unsigned nth)
{
	printf("virtio-pci: not in the arm64 runtime (device %u #%u)\n", device_id, nth);
	return 0;
}
