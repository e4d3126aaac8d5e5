/* The modern virtio-pci transport (virtio 1.2 section 4.1; no legacy interface).
 *
 * Identity: vendor 0x1af4, device 0x1040 + virtio device ID, revision 1, subsystem 0x1af4:0x1100,
 * class per device type (net 0x020000, block 0x018000, console 0x078000, others 0xff0000),
 * interrupt pin INTA.
 *
 * BAR layout (what test guests can rely on):
 *   BAR 0 (BARs 0-1): 64-bit memory, non-prefetchable (the ISR read has a side effect), 16 KiB
 *     0x0000 common configuration      (cap type 1, length 0x38)
 *     0x1000 ISR status, 1 byte         (cap type 3, length 1; reading clears it)
 *     0x2000 device configuration       (cap type 4, length = the device's config size; absent
 *                                        when the device has no config space)
 *     0x3000 notifications              (cap type 2, notify_off_multiplier 4, queue q at
 *                                        0x3000 + 4 * q, queue_notify_off = q, length 4 * queues)
 *   BAR 2: 32-bit memory, 4 KiB: MSI-X table at 0x000 (queues + 1 vectors), PBA at 0x800.
 * Capability list (from 0x40, in this order): common, notify, ISR, device (if any), PCI config
 * access (type 5), MSI-X.
 *
 * Common configuration fields take accesses of their natural width (64-bit fields also two
 * 32-bit halves, 4.1.3.1); other accesses read 0 and are ignored. queue_size reads the device
 * maximum until the driver writes it (and 0 for a queue that does not exist); enabling a queue
 * whose size was never written uses the maximum. A vector number beyond the MSI-X table reads
 * back VIRTIO_MSI_NO_VECTOR (4.1.5.1.2). A reset (device_status 0) sets every vector back to
 * NO_VECTOR.
 *
 * Interrupts: with MSI-X enabled, a queue's (or the config change's) vector is sent (or made
 * pending while masked); NO_VECTOR sends nothing. With MSI-X disabled, the ISR bits drive INTx
 * (level: asserted while ISR != 0, unless the command register's INTx Disable is set). A device
 * served by another process may have a queue's vector signalled without the transport while it
 * is deliverable (virtio_pci_set_irqfds()).
 *
 * The transport is KVM-free: interrupts and notification addresses reach the VMM through
 * struct virtio_pci_host, so tests and fuzzers run it with recorders.
 *
 * Locking: every BAR access and every hook takes dev->lock (as virtio/transport/virtio_mmio.c
 * does); callbacks into the host run with dev->lock held (and, for configuration writes, the PCI
 * bus lock). */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "devices/pci/pci_msix.h"
#include "virtio/core/device.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device ID (4.1.2) */
#define VIRTIO_PCI_SUBSYS_ID   0x1100
#define VIRTIO_PCI_REVISION    1

#define VIRTIO_PCI_BAR	       0 /* 64-bit: BARs 0 and 1 */
#define VIRTIO_PCI_BAR_SIZE    0x4000
#define VIRTIO_PCI_COMMON_OFF  0x0000
#define VIRTIO_PCI_COMMON_LEN  0x38
#define VIRTIO_PCI_ISR_OFF     0x1000
#define VIRTIO_PCI_DEVICE_OFF  0x2000
#define VIRTIO_PCI_DEVICE_MAX  0x1000
#define VIRTIO_PCI_NOTIFY_OFF  0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4

#define VIRTIO_PCI_MSIX_BAR	  2
#define VIRTIO_PCI_MSIX_BAR_SIZE  0x1000
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x000
#define VIRTIO_PCI_MSIX_PBA_OFF	  0x800
#define VIRTIO_PCI_MAX_VECTORS	  (VIRTIO_DEV_MAX_QUEUES + 1)

/* How the transport reaches the VMM. Every callback runs with dev->lock held. */
struct virtio_pci_host {
	/* Send MSI-X `vector`'s message (a 32-bit write of `data` at `addr`). */
	void (*msi)(void *opaque, uint16_t vector, uint64_t addr, uint32_t data);
	/* INTx level changed: 1 asserted, 0 deasserted. */
	void (*intx)(void *opaque, int level);
	/* The notification area moved: queue q's address is base + 4 * q. Unbind at `old` (if
	 * was_on), bind at `base` (if on). Also runs with the PCI bus lock held. */
	void (*notify_moved)(void *opaque, bool was_on, uint64_t old, bool on, uint64_t base);
	void *opaque;
};

/* Optional (virtio_pci_set_irqfds()): an eventfd per MSI-X vector that sends the vector's
 * message without the transport (a KVM irqfd on the vector's GSI), for a device whose queues
 * another process serves (vhost-user: the back-end signals it directly). */
struct virtio_pci_irqfds {
	/* Makes `vector`'s eventfd deliver (addr, data) (routes its GSI there if it does not
	 * yet) and returns it; -1 when it cannot (no route: the message then goes through
	 * virtio_pci_host.msi). dev->lock held. */
	int (*vector_irqfd)(void *opaque, uint16_t vector, uint64_t addr, uint32_t data);
	void *opaque;
};

struct virtio_pci {
	struct virtio_dev *dev;
	struct pci_func func;
	struct pci_msix msix;
	struct virtio_pci_host host;
	struct virtio_pci_irqfds irqfds;
	uint8_t cfg_cap; /* offset of the PCI configuration access capability */

	/* ---- under dev->lock ---- */
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint16_t queue_select;
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_DEV_MAX_QUEUES];
	bool intx_disabled; /* command register bit 10, as last written */
	bool intx_level;    /* what host.intx() was last told */
};

/* Builds the function (header, BARs, capabilities, MSI-X) for an initialised `dev` and points
 * dev->irq at the transport. Add `&t->func` to a bus afterwards (pci_bus_add). Returns 0 or
 * -EINVAL (too many queues, config space too large) / -ENOSPC. */
int virtio_pci_init(struct virtio_pci *t, struct virtio_dev *dev,
		    const struct virtio_pci_host *host);

/* Lets the device use the vectors' eventfds (after virtio_pci_init(), before the device
 * starts): virtio_dev_queue_irqfd() answers a queue's vector's eventfd while the guest would
 * take its message now (MSI-X enabled, neither the function nor the vector masked, a vector in
 * the table), else -1; and the device hears (virtio_dev_irqfd_changed()) of every write that
 * may change that answer: a queue's vector, MSI-X Enable or Function Mask, an MSI-X table
 * entry (its mask bit or its message), a device reset. While it is -1 the device raises the
 * queue's interrupts through the transport, which keeps the pending bits, the ISR and INTx. */
void virtio_pci_set_irqfds(struct virtio_pci *t, const struct virtio_pci_irqfds *irqfds);

/* The function's state for a snapshot: its configuration space (header with the BARs and command
 * register as the guest programmed them, capabilities, MSI-X Enable/Mask), the MSI-X table and
 * PBA, the common configuration's selectors and vectors. INTx follows from it. */
struct virtio_pci_state {
	uint8_t cfg[PCI_CFG_SPACE];
	struct pci_msix_state msix;
	uint32_t device_feature_select, driver_feature_select;
	uint16_t queue_select, config_vector;
	uint16_t queue_vector[VIRTIO_DEV_MAX_QUEUES];
	uint16_t num_queues;
	uint16_t reserved[3]; /* zero */
};

/* Copies the state. Takes the PCI bus lock (if on a bus) then dev->lock; VM paused. */
void virtio_pci_save(struct virtio_pci *t, struct virtio_pci_state *s);

/* Restores a function built by virtio_pci_init() for the same kind of device and added to its
 * bus: checks the state (queue count; vectors inside the MSI-X table or NO_VECTOR, and NO_VECTOR
 * for queues the device lacks; the configuration space's read-only bytes equal to this
 * function's; the MSI-X table as pci_msix_restore() checks it), then puts the configuration space
 * back, which maps the BARs at their saved addresses exactly as a guest BAR write does
 * (host.notify_moved moves the notify ioeventfds), then the MSI-X table, selectors and vectors.
 * Raises no interrupt (call virtio_pci_sync_intx() once the device's own state is back). Takes
 * the bus lock then dev->lock: call without either. Returns 0 or -EINVAL with nothing changed. */
int virtio_pci_restore(struct virtio_pci *t, const struct virtio_pci_state *s);

/* Drives INTx to what the restored state implies (asserted while MSI-X is off, INTx enabled and
 * the ISR non-zero), whatever the host was last told. Takes dev->lock. */
void virtio_pci_sync_intx(struct virtio_pci *t);

/* True while INTx should be asserted (MSI-X disabled, INTx enabled, ISR non-zero). For the
 * VMM's resample handler; call with dev->lock held. */
bool virtio_pci_intx_asserted(const struct virtio_pci *t);

/* ---- the common configuration register file (virtio/transport/virtio_pci_common.c), dev->lock
 * held ----
 */

/* True for an access of natural width at a field's start (or a 32-bit half of a 64-bit one). */
bool virtio_pci_common_access_ok(uint32_t off, uint32_t len);
uint64_t virtio_pci_common_read(struct virtio_pci *t, uint32_t off, uint32_t len);
void virtio_pci_common_write(struct virtio_pci *t, uint32_t off, uint32_t len, uint64_t v);
/* Every MSI-X vector back to NO_VECTOR. */
void virtio_pci_common_reset(struct virtio_pci *t);

#endif
