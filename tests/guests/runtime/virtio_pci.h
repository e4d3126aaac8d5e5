/* The modern virtio-pci transport (virtio 1.2 section 4.1) of the guest-side virtio driver
 * (virtio_dev.h): functions on PCI bus 0 with vendor 0x1af4 and device 0x1040 + virtio ID,
 * found through the architecture's configuration access (pci.h: x86 mechanism #1, arm64 the
 * device tree's ECAM), so our VMM and QEMU (q35, whose firmware assigned the BARs; virt, where
 * the arm64 runtime places them) work the same: BARs are read, never assumed.
 *
 * Discovery reads the virtio capabilities (4.1.4: the first of each cfg_type the driver can
 * use), resolves their BAR addresses, and turns on memory decoding and bus mastering. Every
 * region must lie below 4 GiB (the x86 runtime maps nothing above). Devices whose capabilities
 * are missing or out of their BAR are skipped with a message.
 *
 * Interrupts (vdev_irq_enable):
 *   - MSI-X (the default when the function has the capability): table entry 0 carries
 *     configuration changes to d->config_vector (vector + VDEV_CONFIG_VECTOR_OFFSET), entry
 *     q + 1 queue q to d->vector (the last entry when the table is smaller), each the message
 *     pci_msi_message() makes for this CPU (x86: the LAPIC, fixed, edge; arm64: the ITS, the
 *     vector as EventID); the vectors are written to config_msix_vector / queue_msix_vector and
 *     read back (4.1.5.1.2).
 *   - INTx (`pci_irq=intx` on the command line, or no MSI-X capability): MSI-X stays disabled,
 *     pci_intx_route() ties the pin to the vector, level-triggered (x86: the IOAPIC pin the
 *     interrupt line register names, active low, PCI 3.0 section 2.2.6; arm64: the SPI the
 *     device tree's interrupt-map names); the handler reads ISR, which clears it and drops the
 *     line (4.1.4.5). */
#ifndef GUEST_VIRTIO_PCI_H
#define GUEST_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_dev.h"

#define VIRTIO_PCI_MAX_DEVS	 16
#define VIRTIO_PCI_VENDOR_ID	 0x1af4
#define VIRTIO_PCI_MODERN_DEVICE 0x1040 /* + virtio device ID (4.1.2.1) */

extern const struct vdev_ops virtio_pci_ops;

/* Scans bus 0 (devices 0-31, every function of multi-function devices) once and probes each
 * modern virtio function. Returns the number found (idempotent). */
unsigned virtio_pci_scan(void);
struct vdev *virtio_pci_dev(unsigned i);
/* The nth (0-based) device with this virtio device ID, or NULL. */
struct vdev *virtio_pci_find(uint32_t device_id, unsigned nth);

/* The address BAR `bar` of bus 0 `dev`.`fn` decodes at (64-bit BARs: both halves); 0 for an
 * I/O or unimplemented BAR. */
uint64_t pci_bar_addr(uint8_t dev, uint8_t fn, unsigned bar);

#endif
