/* Test-only calls of devices/pci/pci.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef DEVICES_PCI_PCI_TEST_H
#define DEVICES_PCI_PCI_TEST_H

#include "devices/pci/pci.h"

/* Where BAR `bar` points (the 64-bit address for a 64-bit BAR, flags masked off). */
uint64_t pci_func_bar_addr(const struct pci_func *f, int bar);

#endif
