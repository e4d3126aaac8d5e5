/* A passed-through PCI function as the guest sees it: the configuration space of a VFIO device
 * (host/vfio/vfio.h) passed through, with the VMM's own emulation of what it must own (the
 * kernel's vfio-pci virtualizes some of it too; the VMM does not rely on that):
 *
 *   - BARs 0-5 (0x10-0x27): sizes from the BAR regions' info, flags (I/O, 64-bit, prefetchable)
 *     from the device's registers; the guest's addresses are kept here (the host's stay the
 *     host's) and answer the sizing protocol (write all-ones, read back ~(size - 1) | flags).
 *   - The expansion ROM BAR (0x30): emulated the same way (size from the ROM region, enable
 *     bit kept); absent when the ROM region is empty. Where it decodes (enable bit and memory
 *     decoding on) goes to bar_moved as VFIO_PCI_ROM_BAR; its contents are read through
 *     vfio_pci_rom_read().
 *   - Command (0x04): written through to the device (bus master, INTx disable, memory and I/O
 *     decoding on the host side), and the guest's memory / I/O enable bits are kept here: they
 *     decide whether the guest's BAR addresses decode (bar_moved): turned off, the guest loses
 *     its BARs before the device stops decoding; turned on, it gets them after.
 *   - Interrupt line (0x3C): kept here; the pin is the device's.
 *   - MSI-X (PCI 3.0, 6.8.2): Message Control's Enable and Function Mask are kept here and never
 *     reach the device's register (the host kernel enables MSI-X through VFIO_DEVICE_SET_IRQS);
 *     the vector table and the PBA are trapped and kept here; each vector's state becomes a
 *     route (address, data, active) handed to the owner's callback, which turns it into a KVM
 *     MSI route and irqfd: the device model itself makes no KVM call.
 *   - MSI is hidden: its capability is skipped in the list and writes to it are dropped. Every
 *     device this is meant for has MSI-X (which Linux prefers when both exist), and serving MSI
 *     too would be a second interrupt path (VFIO_PCI_MSI_IRQ_INDEX, multiple messages, optional
 *     per-vector masking) for no device we target. A device with MSI only falls back to INTx.
 *   - Extended configuration space (0x100 and up) reads 0, as on every function of our bus.
 *
 * BARs: vfio_pci_bar_plan() says which parts of a BAR may be mmap'd straight into the guest (the
 * region allows mmap, inside its sparse areas, whole pages, outside the MSI-X table and PBA
 * pages) and which must trap to vfio_pci_bar_read()/vfio_pci_bar_write().
 *
 * No locking: the owner serialises every call (the bus lock for configuration accesses).
 * Created by vmm/vm/vm_vfio.c for --device vfio= (docs/vfio.md). */
#ifndef DEVICES_PCI_VFIO_PCI_H
#define DEVICES_PCI_VFIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "host/vfio/vfio.h"

#define VFIO_PCI_MAX_VECTORS 2048 /* MSI-X Table Size is 11 bits */
#define VFIO_PCI_PLAN_MAX    32
#define VFIO_PCI_ROM_BAR     PCI_NUM_BARS /* bar_moved's number for the expansion ROM */

struct vfio_pci_bar {
	uint64_t size; /* 0: not implemented, or the upper half of a 64-bit BAR */
	uint32_t
	    flags; /* the register's low bits: PCI_BASE_ADDRESS_SPACE_IO, _MEM_TYPE_64, _PREFETCH */
	uint64_t addr; /* the guest's address (size aligned; may be 0) */
	bool mapped;   /* decoding at `mapped_addr`, as last told to bar_moved */
	uint64_t mapped_addr;
	struct vfio_region region;
};

/* What one MSI-X vector should do now. */
struct vfio_pci_route {
	bool active;	      /* MSI-X on, function not masked, vector not masked */
	bool deliver_pending; /* it was pending while masked: the owner sends it once now */
	uint64_t addr;
	uint32_t data;
};

/* The owner's side, each optional. */
struct vfio_pci_irq_ops {
	/* MSI-X as a whole was turned on (with `nvec` vectors) or off: the owner makes
	 * VFIO_DEVICE_SET_IRQS follow (eventfds for every vector, or the index off). Called before
	 * the routes of the change. */
	void (*msix_enable)(void *opaque, bool on, uint16_t nvec);
	/* Vector `vector`'s route changed: an active one goes to a KVM MSI route for (addr, data)
	 * with the vector's irqfd; an inactive one is detached (its eventfd read by the VMM, which
	 * calls vfio_pci_msix_set_pending()). */
	void (*msix_route)(void *opaque, uint16_t vector, const struct vfio_pci_route *r);
	/* BAR `bar` decodes at guest address `addr` now (on) or no longer (!on): the owner maps
	 * the plan's mmap parts as KVM memory slots and the trap parts on the MMIO or port bus.
	 * `bar` VFIO_PCI_ROM_BAR: the expansion ROM (its enable bit and memory decoding on), whose
	 * reads the owner serves with vfio_pci_rom_read(). */
	void (*bar_moved)(void *opaque, int bar, bool on, uint64_t addr);
};

struct vfio_pci {
	struct pci_func func; /* what the bus holds: its hooks forward here */
	struct vfio_device *dev;
	struct vfio_region cfg;
	struct vfio_pci_bar bars[PCI_NUM_BARS];
	uint64_t rom_size;
	uint32_t rom_reg; /* the guest's ROM BAR: address and enable bit */
	bool rom_mapped;  /* decoding at rom_mapped_addr, as last told to bar_moved */
	uint64_t rom_mapped_addr;
	struct vfio_region rom;
	uint16_t command; /* the guest's memory and I/O enable bits */
	uint8_t irq_line;
	/* MSI, hidden: the pointer byte that named it answers `msi_next` instead */
	uint8_t msi_cap, msi_len, msi_ptr, msi_next;
	/* MSI-X */
	uint8_t msix_cap;
	uint16_t msix_ctrl; /* the guest's Enable and Function Mask bits */
	uint16_t nvec;
	int msix_bar;
	uint32_t table_off, pba_off;
	uint32_t (*table)[4]; /* address low, address high, data, vector control */
	uint64_t *pending;
	struct vfio_pci_route *routes; /* as last reported */
	const struct vfio_pci_irq_ops *irq;
	void *opaque;
};

/* Reads the device's configuration space, its BAR and ROM regions and its capabilities. Refused
 * with a message: a configuration region that cannot be read, a BAR whose size is not a power
 * of two, an MSI-X table or PBA outside its BAR. The function starts with decoding off and MSI-X
 * disabled, every vector masked. Returns 0 or -errno. */
int vfio_pci_init(struct vfio_pci *vp, struct vfio_device *dev, const struct vfio_pci_irq_ops *irq,
		  void *opaque, char *err, size_t errlen);
void vfio_pci_destroy(struct vfio_pci *vp);

/* Configuration access, `len` 1, 2 or 4 bytes at `off` (< 256, not crossing it). */
void vfio_pci_config_read(struct vfio_pci *vp, uint32_t off, void *data, uint32_t len);
void vfio_pci_config_write(struct vfio_pci *vp, uint32_t off, const void *data, uint32_t len);

/* A trapped access at `off` inside BAR `bar`: the MSI-X table and PBA are served here, the rest
 * goes to the device's region. Out of range or a failing access: reads all-ones, writes
 * dropped. */
void vfio_pci_bar_read(struct vfio_pci *vp, int bar, uint64_t off, void *data, uint32_t len);
void vfio_pci_bar_write(struct vfio_pci *vp, int bar, uint64_t off, const void *data, uint32_t len);

/* The expansion ROM's bytes (the guest's reads of it once mapped). Returns 0 or -errno. */
int vfio_pci_rom_read(struct vfio_pci *vp, uint64_t off, void *data, uint32_t len);

/* One stretch of a BAR: mmap'd into the guest (the device region's bytes at offset) or trapped. */
struct vfio_pci_bar_part {
	uint64_t offset, size;
	bool mmap;
};
struct vfio_pci_bar_plan {
	unsigned nparts;
	struct vfio_pci_bar_part parts[VFIO_PCI_PLAN_MAX];
};

/* The parts of BAR `bar`, in order, covering it exactly; mmap parts are whole pages of
 * `page_size` (a power of two). An I/O BAR is one trapped part. Returns 0, -EINVAL (no such
 * BAR) or -E2BIG (too many parts). */
int vfio_pci_bar_plan(const struct vfio_pci *vp, int bar, uint64_t page_size,
		      struct vfio_pci_bar_plan *plan);

/* Where vfio_pci_place_bars() puts BARs: [next, end) of each window (next64 == end64: no
 * 64-bit window); each `next` moves past what was placed. */
struct vfio_pci_windows {
	uint64_t next32, end32;
	uint64_t next64, end64;
};

/* Places the memory BARs as firmware would, each naturally aligned (through the BAR registers,
 * so the guest reads the addresses back and bar_moved follows), then turns memory decoding on.
 * Every 64-bit memory BAR goes in the 64-bit window when there is one, the others (and all of
 * them without one) in the 32-bit window. I/O BARs stay unassigned (address 0: they decode
 * once the guest gives them an address). Returns 0, or -ENOSPC with a message when a BAR does
 * not fit (nothing placed: `w` unchanged, but registers written so far stay). */
int vfio_pci_place_bars(struct vfio_pci *vp, struct vfio_pci_windows *w, char *err, size_t errlen);

/* The route vector `vector` has now (computed, not reported). */
void vfio_pci_msix_route(const struct vfio_pci *vp, uint16_t vector, struct vfio_pci_route *r);

/* Whether a trapped read of `len` bytes at `off` inside BAR `bar` reads the PBA, and of which
 * vectors: [*first, *first + *count), those below nvec. The owner folds in the signals it holds
 * for them (vfio_pci_msix_set_pending()) before the read, so that the guest sees them pending. */
bool vfio_pci_pba_vectors(const struct vfio_pci *vp, int bar, uint64_t off, uint32_t len,
			  uint16_t *first, uint16_t *count);

/* The owner saw vector `vector` fire while inactive: its PBA bit is set, and it is delivered
 * (deliver_pending) when the guest unmasks it. */
void vfio_pci_msix_set_pending(struct vfio_pci *vp, uint16_t vector);

#endif
