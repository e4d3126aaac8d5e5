/* Test-only calls of virtio/transport/virtio_pci.h: what unit tests and fuzz targets use to drive
 * or look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in
 * any layer. */
#ifndef VIRTIO_TRANSPORT_VIRTIO_PCI_TEST_H
#define VIRTIO_TRANSPORT_VIRTIO_PCI_TEST_H

#include "virtio/transport/virtio_pci.h"

/* PCI class code used for a virtio device type. */
uint32_t virtio_pci_class(uint32_t device_id);

#endif
