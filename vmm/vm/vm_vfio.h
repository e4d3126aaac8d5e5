/* Passed-through PCI devices on KVM (docs/vfio.md): the VFIO container of the VM, each device's
 * function on PCI bus 0 (devices/pci/vfio_pci.h), its BARs in the guest (the plan's mmap parts
 * as KVM memory slots, the rest trapped on the MMIO and port buses), its MSI-X vectors (one
 * eventfd each, handed to VFIO_DEVICE_SET_IRQS and to KVM as the irqfd of a GSI routed to the
 * guest's message), guest RAM mapped for its DMA, and a reset at start and at the end.
 *
 * INTx: a level-triggered irqfd with a resample fd on the slot's swizzled IOAPIC pin, handed to
 * VFIO's INTx index while MSI-X is off.
 *
 * The expansion ROM: its contents trapped (read-only) wherever the guest enables it.
 *
 * Hotplug (docs/vfio.md): vm_vfio_add_at() into a given PCI hotplug slot while the VM runs, and
 * vm_vfio_remove() once the guest released it. Memory that moves: the virtio-mem region's
 * blocks are mapped for DMA as they are plugged (vmm/vm/memhp.h's memhp_dma), from the first
 * device on.
 *
 * Not done (docs/vfio.md says so): MSI (hidden by the function).
 *
 * Lifecycle: vm_vfio_add() for each device once the VM's buses, KVM and RAM exist (the first
 * one opens the container and maps guest RAM for DMA); vm_vfio_destroy() after the vCPUs are
 * gone (resets every device, unmaps, closes). The owner serialises the function: one mutex per
 * device, taken by the configuration hooks (under the bus lock) and by the trapped BAR
 * accesses. */
#ifndef VMM_VM_VFIO_H
#define VMM_VM_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "base/io_bus.h"
#include "devices/pci/vfio_pci.h"
#include "host/kvm/kvm.h"
#include "host/vfio/vfio.h"
#include "vmm/vm/memhp.h"
#include "vmm/vm/vm_pci.h"

#define VM_VFIO_MAX_DEVICES 4
/* Devices a VM may add in its life, removed ones included (each keeps its route set on the PCI
 * bus, VM_PCI_MAX_EXT, and its struct, which a vCPU may still be using, until the end). */
#define VM_VFIO_MAX_ADDS VM_PCI_MAX_EXT
/* MSI-X vectors routed per device (a table may declare up to 2048; the rest stay unrouted and
 * are never signalled, logged once). */
#define VM_VFIO_MAX_VECTORS 128
/* KVM memory slots of the BARs' mmap parts: after memory hotplug's range (DEV_MEMHP_FIRST_SLOT,
 * 16, and one slot per 128 MiB of its at most 1 TiB: 8192); VM_VFIO_SLOTS_PER_BAR per BAR, per
 * device added. */
#define VM_VFIO_FIRST_SLOT    (16u + 8192u)
#define VM_VFIO_SLOTS_PER_BAR 8u

struct vm_vfio;
struct vm_vfio_dev;
struct sandbox_list;

/* One stretch of a BAR as the guest reaches it. */
struct vm_vfio_part {
	struct vm_vfio_dev *d;
	int bar;
	struct vfio_pci_bar_part p;
	void *host;    /* mmap parts: the device's bytes in the VMM (NULL: trapped instead) */
	uint32_t slot; /* mmap parts: the KVM slot */
	bool on;       /* registered (slot or io_bus range) */
	uint64_t gpa;  /* where, when on */
};

struct vm_vfio_dev {
	struct vm_vfio *v;
	struct vfio_group group;
	struct vfio_device dev;
	struct vfio_pci vp;
	bool dev_open, vp_init, on_bus;
	bool gone; /* removed (vm_vfio_remove()): closed, kept until vm_vfio_destroy() */
	pthread_mutex_t lock;
	struct pci_func_ops hooks; /* the function's, wrapped in `lock` */
	unsigned nparts[PCI_NUM_BARS];
	struct vm_vfio_part parts[PCI_NUM_BARS][VFIO_PCI_PLAN_MAX];
	struct vm_vfio_part rom; /* the expansion ROM, trapped and read-only, where it decodes */
	/* MSI-X */
	uint16_t nvec;
	int fds[VM_VFIO_MAX_VECTORS];
	bool irqfd_on[VM_VFIO_MAX_VECTORS];
	struct vm_pci_msi_route routes[VM_VFIO_MAX_VECTORS];
	bool msix_on;
	/* INTx: a level-triggered irqfd on the pin's IOAPIC input, unmasked by the kernel when KVM
	 * signals the resample fd at the guest's EOI; off while MSI-X is on (VFIO serves one index
	 * at a time) */
	int slot;	   /* the device number on bus 0 */
	uint8_t intx_pin;  /* 1 = INTA .. 4 = INTD; 0: the device has no INTx */
	unsigned intx_gsi; /* the swizzled IOAPIC pin */
	bool intx_irqfd;   /* the irqfd is assigned: INTx is wired */
	bool intx_on;	   /* VFIO's INTx index is on */
	int intx_fd, resample_fd;
};

/* What a VM gives its passed-through devices. */
struct vm_vfio_host {
	struct kvm *kvm;
	struct guest_mem *mem;
	struct io_bus *pio, *mmio;
	struct vm_pci *pci;
	const struct vfio_ops *ops; /* vfio_sys_ops; the tests' fake */
	void *ops_ctx;
	struct memhp *memhp; /* virtio-mem's region, kept mapped for DMA as it changes; or NULL */
};

struct vm_vfio {
	struct vm_vfio_host h;
	struct vfio_container c;
	bool c_open, dma_mapped, memhp_on;
	int ndevs; /* entries in devs, removed ones included */
	struct vm_vfio_dev *devs[VM_VFIO_MAX_ADDS];
};

/* The seccomp lists of a VM with a passed-through device (docs/sandbox.md): the vCPU threads'
 * (configuration and trapped BAR accesses) and the main thread's at the end. */
extern const struct sandbox_list vm_vfio_vcpu_sandbox, vm_vfio_end_sandbox;
/* What building (and undoing) the devices calls on a thread confined before the VM exists (the
 * API's broker at InstanceStart). */
extern const struct sandbox_list vm_vfio_setup_sandbox;

#define VM_VFIO_CONTAINER_PATH "/dev/vfio/vfio"

/* Whether this host has VFIO at all (VM_VFIO_CONTAINER_PATH exists). Looked up at the first
 * call (vm_hotplug_setup(), before any thread of the VM is confined), remembered after. */
bool vm_vfio_host_has_vfio(void);

/* A new, empty set for the VM described by `h`. NULL when out of memory. */
struct vm_vfio *vm_vfio_create(const struct vm_vfio_host *h);

/* Opens the device at sysfs `path` (/sys/bus/pci/devices/DDDD:BB:DD.F), resets it, maps guest
 * RAM for DMA (the first device), puts its function on bus 0 at the first free device number
 * and its BARs in the PCI memory window, with memory decoding on. Returns the device number, or
 * -errno with the reason in err (e.g. "0000:01:00.0: bound to nvme, not vfio-pci ..."). */
int vm_vfio_add(struct vm_vfio *v, const char *path, char *err, size_t errlen);
/* The same at device number `slot` (a PCI hotplug slot, free) while the VM runs (the hotplug
 * thread): on failure nothing of it is left (the device reset and closed, its DMA maps gone if
 * it was the only device). Returns `slot` or -errno with the reason in err. */
int vm_vfio_add_at(struct vm_vfio *v, const char *path, int slot, char *err, size_t errlen);
/* The live device at device number `slot`, or NULL. */
struct vm_vfio_dev *vm_vfio_find_slot(struct vm_vfio *v, int slot);
/* How many devices are live (added, not removed). */
int vm_vfio_count(const struct vm_vfio *v);
/* Takes a device the guest released off the bus: its BARs, interrupts and routes gone, the
 * device reset and closed, guest RAM unmapped from the IOMMU when it was the last device. Its
 * struct stays until vm_vfio_destroy() (a vCPU may still be in one of its handlers). */
void vm_vfio_remove(struct vm_vfio *v, struct vm_vfio_dev *d);

/* Resets every device, takes it off the bus, turns its interrupts off, unmaps DMA, closes
 * everything, frees `v`. NULL is fine. */
void vm_vfio_destroy(struct vm_vfio *v);

#endif
