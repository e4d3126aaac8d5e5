/* What the files of a passed-through function (vfio_pci*.c) share; not for other modules. */
#ifndef DEVICES_PCI_VFIO_PCI_INTERNAL_H
#define DEVICES_PCI_VFIO_PCI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/pci/vfio_pci.h"

/* Takes the MSI-X capability at `cap` with the device's Message Control `ctrl`: the table and
 * PBA must lie inside a memory BAR. Every vector starts masked. Returns 0 or -errno (message in
 * err). vfio_pci_msix.c. */
int vfio_pci_msix_init(struct vfio_pci *vp, uint8_t cap, uint16_t ctrl, char *err, size_t errlen);

/* The guest wrote Message Control's Enable and Function Mask bits (`bits`). */
void vfio_pci_msix_control(struct vfio_pci *vp, uint16_t bits);

/* Trapped accesses inside the table / the PBA at `off` from its start. */
void vfio_pci_msix_table_read(struct vfio_pci *vp, uint64_t off, void *data, uint32_t len);
void vfio_pci_msix_table_write(struct vfio_pci *vp, uint64_t off, const void *data, uint32_t len);
void vfio_pci_msix_pba_read(struct vfio_pci *vp, uint64_t off, void *data, uint32_t len);

#endif
