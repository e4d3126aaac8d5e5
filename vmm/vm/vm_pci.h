/* The VM's PCI bus and its virtio-pci devices on KVM: configuration mechanism #1 and ECAM on
 * the VM's buses, one KVM GSI + irqfd per MSI-X vector (routes set with KVM_SET_GSI_ROUTING when
 * the guest programs a vector), ioeventfds on each queue's notify address (moved with the BAR),
 * and INTx as an irqfd with resample on the swizzled IOAPIC pin.
 *
 * Lifecycle: vm_pci_create() after the VM's buses and KVM exist; vm_pci_add_virtio() for each
 * device; vm_pci_start() when the VM starts (I/O threads); vm_pci_destroy() after the vCPUs are
 * gone. The caller adds each device's INTx line to the machine description (firmware/machine.h),
 * which generates the MP-table entries and the device tree's interrupt-map. */
#ifndef VMM_VM_PCI_H
#define VMM_VM_PCI_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/pci/pci.h"
#include "host/kvm/kvm.h"
#include "virtio/core/device.h"
#include "virtio/transport/virtio_pci.h"

#define VM_PCI_MAX_DEVICES 16
/* Room for the boot devices and every device hot-added since (a removed one keeps its entry,
 * marked gone, until the VM ends: a vCPU may still be inside one of its handlers). */
#define VM_PCI_MAX_ENTRIES   64
#define VM_PCI_FIRST_MSI_GSI IRQ_FIRST_MSI_GSI /* after every line (base/layout.h) */
#define VM_PCI_MAX_EXT	     8 /* route sets of non-virtio functions (vm_pci_add_routes()) */

struct vm_pci;

/* One MSI-X vector's route as the guest last programmed it. */
struct vm_pci_msi_route {
	unsigned gsi;
	uint64_t addr;
	uint32_t data;
	uint32_t devid; /* the requester ID (bus 0: device << 3), for an ITS (LAYOUT_MSI_DEVID) */
	bool valid;	/* programmed and used at least once */
};

struct vm_pci_dev {
	struct vm_pci *pci;
	struct virtio_dev *dev;
	struct virtio_pci t;
	int slot; /* PCI device number on bus 0 */
	int vec_fd[VIRTIO_PCI_MAX_VECTORS];
	struct vm_pci_msi_route routes[VIRTIO_PCI_MAX_VECTORS];
	unsigned intx_gsi;
	int intx_fd, resample_fd;
	bool intx_assigned;
	bool notify_bound;
	uint64_t notify_base;
	bool signal_msi; /* KVM_SET_GSI_ROUTING failed: send with KVM_SIGNAL_MSI instead */
	bool gone;	 /* hot-unplugged: stopped, off the bus, kept until vm_pci_destroy() */
};

struct vm_pci {
	struct kvm *kvm;
	struct io_bus *pio, *mmio;
	struct pci_bus bus;
	bool conf1_on, ecam_on; /* conf1: the arch's port access (vm_arch_pci_config_attach()) */
	pthread_mutex_t route_lock; /* the GSI routing table (shared by every device) */
	struct vm_pci_dev *devs[VM_PCI_MAX_ENTRIES];
	int ndevs;
	unsigned next_gsi;
	/* MSI routes of functions that are not virtio-pci (passed-through devices,
	 * vmm/vm/vm_vfio.c), owned by them, in the same table: under route_lock. */
	struct {
		const struct vm_pci_msi_route *routes;
		int n;
	} ext[VM_PCI_MAX_EXT];
	int next_ext;
};

/* Creates bus 0 (host bridge) and registers the architecture's configuration ports on `pio`
 * (x86: 0xCF8-0xCFF, vmm/vm/arch_vm.h) and the ECAM window on `mmio`. Returns NULL on failure
 * (logged). */
struct vm_pci *vm_pci_create(struct kvm *kvm, struct io_bus *pio, struct io_bus *mmio);

/* Puts an initialised device (virtio_dev_init done, not started) on bus 0 as a virtio-pci
 * function: MSI-X irqfds, INTx irqfd with resample, notify ioeventfds. Takes ownership of `dev`
 * (destroyed and freed with the bus, also on failure). Returns 0 or -errno (logged). */
int vm_pci_add_virtio(struct vm_pci *p, struct virtio_dev *dev);

/* A device of the configuration that sits in PCI hotplug slot `slot` (vmm/vm/hotplug.c: a
 * hot-added device a restore builds again): as vm_pci_add_virtio(), at that device number,
 * started with the others by vm_pci_start(). Returns the device, or NULL (logged; freed). */
struct vm_pci_dev *vm_pci_add_virtio_at(struct vm_pci *p, struct virtio_dev *dev, int slot);
/* Hot plug (vmm/vm/hotplug.c): puts an initialised device at device number `slot` and starts
 * it, while the VM runs. NULL on failure (logged; the device is destroyed and freed). */
struct vm_pci_dev *vm_pci_hotplug_virtio(struct vm_pci *p, struct virtio_dev *dev, int slot);
/* Hot unplug: stops the device, releases its KVM notifications and interrupts, takes it off
 * the bus and marks it gone (its memory stays until vm_pci_destroy()). */
void vm_pci_unplug(struct vm_pci *p, struct vm_pci_dev *d);

/* For a function that is not virtio-pci (a passed-through device): `n` GSIs of its own, numbered
 * after the others. Returns the first, or -ENOSPC past the GSIs KVM routes. */
int vm_pci_alloc_gsis(struct vm_pci *p, unsigned n);
/* Adds `routes` (n entries, owned by the caller, alive until vm_pci_destroy()) to the GSI
 * routing table: each valid entry is an MSI route. Returns 0 or -ENOSPC. */
int vm_pci_add_routes(struct vm_pci *p, const struct vm_pci_msi_route *routes, int n);
/* Writes the routing table again after the caller changed its routes (call with route_lock
 * held). Returns 0 or -errno. */
int vm_pci_set_routes(struct vm_pci *p);

/* Starts every device's I/O thread. Returns 0 or -errno. */
int vm_pci_start(struct vm_pci *p);

/* Stops and frees every device, unregisters everything, frees `p`. NULL is fine. */
void vm_pci_destroy(struct vm_pci *p);

/* ---- pure helpers (unit-tested) ---- */

/* The interrupt lines' routes, which KVM_SET_GSI_ROUTING would otherwise drop (base/layout.h;
 * x86: GSI 0-23 to IOAPIC pins 0-23 and GSI 0-15 to the PICs, as KVM's own default table). */
#define VM_PCI_DEFAULT_ROUTES IRQ_DEFAULT_ROUTES

/* Fills `out` (room for `cap`) with the default routes then one route per valid entry of `msi`:
 * an MSI route, or on a VM whose messages to an MSI frame raise a line (vm_arch_msi_line(); `kvm`
 * NULL: none), a route to that line. Returns the number of entries, or -ENOSPC. */
int vm_pci_build_routes(const struct kvm *kvm, struct kvm_irq_routing_entry *out, int cap,
			const struct vm_pci_msi_route *msi, int nmsi);

#endif
