/* PCI bus 0 of the VM: a host bridge, type-0 configuration headers, BARs and capabilities,
 * reached through configuration mechanism #1 and an ECAM window (PCI Local Bus Specification
 * 3.0, sections 3.2.2.3.2 and 6; PCI Express Base 4.0, section 7.2.2 for ECAM).
 *
 * What the guest sees:
 *   - Configuration mechanism #1: port 0xCF8 (32-bit accesses only) is the address latch
 *     (bit 31 enable, 23:16 bus, 15:11 device, 10:8 function, 7:2 register; bits 1:0 read 0);
 *     ports 0xCFC-0xCFF are the data window, 1/2/4-byte accesses at offset reg + (port - 0xCFC).
 *     Linux probes it without ACPI (`pci=conf1` or no option).
 *   - ECAM at PCI_ECAM_BASE: address = base + (bus << 20 | device << 15 | function << 12 | reg).
 *     Only bus 0 is populated; other buses read all-ones. Linux uses ECAM only when ACPI MCFG
 *     describes it, which we don't: the window is for test guests (and 4 KiB-per-function
 *     extended space: 0x100-0xFFF reads 0, "no extended capabilities").
 *   - 00:00.0 is the host bridge (1b36:0008, class 0x060000, no BARs).
 *   - Absent functions read all-ones and ignore writes.
 *   - Memory BARs are placed like firmware would, naturally aligned in
 *     [PCI_MMIO32_BASE, PCI_MMIO32_BASE + PCI_MMIO32_SIZE), and memory decoding is on
 *     (command bit 1) when the function is added. The guest may move them or turn decoding off.
 *   - INTx: device d's pin INTA..INTD (0..3) reaches IOAPIC pin PCI_INTX_IRQ_BASE + (d + pin) % 4
 *     (the usual swizzle); the interrupt line register is preset to that pin.
 *
 * Locking: one bus mutex serialises every configuration access (and the 0xCF8 latch). Function
 * hooks run with it held; they may take their device's own lock (order: bus, then device), and
 * BAR mapping changes (un)register io_bus ranges from inside the access, which io_bus allows. */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/layout.h"

#define PCI_CFG_SPACE	  256  /* conventional configuration space per function */
#define PCI_ECAM_FN_SPACE 4096 /* ECAM: 4 KiB per function */
#define PCI_NUM_BARS	  6
#define PCI_DEVFNS	  256  /* 32 devices x 8 functions on bus 0 */
#define PCI_CAP_START	  0x40 /* capabilities follow the 64-byte header */

#define PCI_HOST_BRIDGE_VENDOR 0x1b36 /* Red Hat, Inc.: "generic PCIe host bridge" */
#define PCI_HOST_BRIDGE_DEVICE 0x0008

#define PCI_DEVFN(dev, fn) ((uint8_t)(((dev) << 3) | (fn)))

/* IOAPIC pin of bus 0 device `dev`, interrupt pin `intx` (0 = INTA .. 3 = INTD). */
static inline unsigned pci_intx_ioapic_pin(unsigned dev, unsigned intx)
{
	return PCI_INTX_IRQ_BASE + (dev + intx) % 4;
}

struct pci_func;

/* Per-function hooks, all optional, all called with the bus mutex held. */
struct pci_func_ops {
	/* After the generic read filled `data` (len bytes at `off`): may patch dynamic fields. */
	void (*config_read)(struct pci_func *f, uint32_t off, void *data, uint32_t len);
	/* After the generic write updated the header bytes [off, off + len) through the masks. */
	void (*config_write)(struct pci_func *f, uint32_t off, const void *data, uint32_t len);
	/* BAR `bar` changed where (or whether) it decodes: it was at `old` (if was_on) and is now
	 * at `addr` (if on). The io_bus range was moved already. */
	void (*bar_moved)(struct pci_func *f, int bar, bool was_on, uint64_t old, bool on,
			  uint64_t addr);
};

struct pci_bar {
	uint64_t size;	/* power of two >= 16; 0 = BAR not implemented */
	uint32_t flags; /* PCI_BASE_ADDRESS_MEM_TYPE_64 and/or PCI_BASE_ADDRESS_MEM_PREFETCH */
	const struct io_ops *ops;
	void *opaque;
	bool mapped; /* registered on the MMIO bus at `addr` */
	uint64_t addr;
};

struct pci_func {
	uint8_t cfg[PCI_CFG_SPACE];
	uint8_t wmask[PCI_CFG_SPACE]; /* bits the guest may write */
	uint8_t w1c[PCI_CFG_SPACE];   /* bits a guest write of 1 clears (status errors) */
	struct pci_bar bars[PCI_NUM_BARS];
	uint16_t cap_end; /* next free capability offset */
	uint8_t last_cap;
	const struct pci_func_ops *ops;
	void *opaque;
	const char *name;
	struct pci_bus *bus; /* set by pci_bus_add() */
	uint8_t devfn;
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t conf1_addr;
	struct pci_func *funcs[PCI_DEVFNS];
	struct pci_func host_bridge;
	struct io_bus *mmio; /* where memory BARs decode */
	uint64_t mmio32_next, mmio32_end;
	/* The 64-bit window above 4 GiB (next == end: none), where passed-through devices'
	 * 64-bit BARs go; the owner sets it with the machine's description of it. */
	uint64_t mmio64_next, mmio64_end;
	/* Byte accesses to 0xCF9 are no configuration access: the chipset's reset control
	 * register there (pci_bus_set_cf9()); NULL: they read 0xff and are ignored. */
	const struct io_ops *cf9_ops;
	void *cf9_opaque;
};

/* Identity of a function, written into its read-only header fields. */
struct pci_id {
	uint16_t vendor, device;
	uint32_t class_code; /* 24 bits: base class, sub-class, programming interface */
	uint8_t revision;
	uint16_t subsys_vendor, subsys_id;
};

/* ---- functions (devices/pci/pci_func.c) ---- */

/* A type-0 header with `id`, no BARs, no capabilities, INTx pin none. */
void pci_func_init(struct pci_func *f, const struct pci_id *id, const char *name,
		   const struct pci_func_ops *ops, void *opaque);

/* Declares memory BAR `bar` of `size` bytes (power of two, >= 16). `flags`:
 * PCI_BASE_ADDRESS_MEM_TYPE_64 makes it take BARs bar and bar+1; PCI_BASE_ADDRESS_MEM_PREFETCH.
 * Accesses inside it go to `ops` with the offset from the BAR's start. Returns 0 or -EINVAL. */
int pci_func_set_bar(struct pci_func *f, int bar, uint64_t size, uint32_t flags,
		     const struct io_ops *ops, void *opaque);

/* Appends a capability of `len` bytes (>= 2) with ID `id` to the list (dword aligned, linked
 * after the previous one, status bit 4 set). Returns its config offset, or -ENOSPC. The body
 * (after ID and next pointer) starts zeroed and read-only: set cfg / wmask bytes as needed. */
int pci_func_add_cap(struct pci_func *f, uint8_t id, uint8_t len);

/* Sets the interrupt pin register: 1 = INTA .. 4 = INTD (0 = none). */
void pci_func_set_intx_pin(struct pci_func *f, uint8_t pin);

/* Generic configuration access to one function (no locking; the bus calls these with its lock
 * held). Offsets >= 256 read 0 and ignore writes; any width 1..4 inside the space. */
void pci_func_config_read(struct pci_func *f, uint32_t off, void *data, uint32_t len);
void pci_func_config_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len);

/* Performs a `len`-byte access at `off` inside BAR `bar` through its io_ops, whether or not the
 * BAR is mapped (the virtio PCI configuration access capability, virtio 1.2 4.1.4.9). Returns 0,
 * or -EINVAL when the BAR is not implemented or the access does not fit in it. */
int pci_func_bar_access(struct pci_func *f, int bar, uint64_t off, void *data, uint32_t len,
			bool write);

/* Little-endian helpers for header fields. */
static inline uint16_t pci_cfg_get16(const struct pci_func *f, uint32_t off)
{
	return (uint16_t)(f->cfg[off] | f->cfg[off + 1] << 8);
}
static inline uint32_t pci_cfg_get32(const struct pci_func *f, uint32_t off)
{
	return (uint32_t)pci_cfg_get16(f, off) | (uint32_t)pci_cfg_get16(f, off + 2) << 16;
}
void pci_cfg_set16(struct pci_func *f, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_func *f, uint32_t off, uint32_t v);
void pci_wmask_set16(struct pci_func *f, uint32_t off, uint16_t v);
void pci_wmask_set32(struct pci_func *f, uint32_t off, uint32_t v);

/* Re-evaluates every BAR after the command register or a BAR changed: (un)maps io_bus ranges and
 * calls ops->bar_moved for each change. Address 0 and ranges that overflow or overlap a claimed
 * range leave the BAR unmapped. Called by pci_func_config_write(). */
void pci_func_update_mappings(struct pci_func *f);

/* Snapshot restore of a function's configuration space (as pci_func_config_read() would show the
 * stored bytes, f->cfg): every byte the guest cannot write must equal this function's (same
 * identity, BAR kinds and capabilities: -EINVAL otherwise, nothing changed); the guest-writable
 * bits are taken from `cfg` (so a BAR keeps its size alignment) except the status register, which
 * is the device's; then BARs are (re)mapped exactly as after a guest's BAR or command write
 * (pci_func_update_mappings(): io_bus ranges and ops->bar_moved). Bus lock held, like any
 * configuration access. Returns 0 or -EINVAL. */
int pci_func_restore_config(struct pci_func *f, const uint8_t cfg[PCI_CFG_SPACE]);

/* ---- bus 0 (devices/pci/pci_bus.c) ---- */

/* Empty bus with the host bridge at 00:00.0. BARs are mapped on `mmio`. Returns 0 or -errno. */
int pci_bus_init(struct pci_bus *bus, struct io_bus *mmio);
/* The host bridge's identity (00:00.0), which firmware reads to pick its platform code:
 * PCI_HOST_BRIDGE_VENDOR/DEVICE by default; Intel's i440FX (8086:1237) for OVMF, whose
 * platform code knows only i440FX, Q35 and Cloud Hypervisor's bridge. Before the guest runs. */
#define PCI_I440FX_VENDOR 0x8086
#define PCI_I440FX_DEVICE 0x1237
void pci_bus_set_host_bridge_id(struct pci_bus *bus, uint16_t vendor, uint16_t device);
/* Unmaps every BAR. The functions themselves belong to their owners. */
void pci_bus_destroy(struct pci_bus *bus);

/* Puts `f` at device `dev` (1..31), function 0, or at the first free device when dev < 0;
 * places its BARs in the 32-bit window and enables memory decoding. Returns the device number,
 * -EBUSY, -ENOSPC (no device number or window space left) or -EEXIST (a BAR range is taken). */
int pci_bus_add(struct pci_bus *bus, struct pci_func *f, int dev);
/* Takes `f` off the bus (hot unplug): its BARs unmapped, its device number free; later
 * accesses read all-ones. Its BAR space is not reused. `f` stays the caller's. */
void pci_bus_remove(struct pci_bus *bus, struct pci_func *f);

/* One configuration access to bus `busnr`, `devfn`, register `off` (< 4096), with the bus lock
 * taken. Absent functions and other buses read all-ones. */
void pci_bus_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t off,
			 void *data, uint32_t len);
void pci_bus_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t off,
			  const void *data, uint32_t len);

/* io_bus handlers, opaque = struct pci_bus *. Register pci_conf1_ops on the port bus at 0xCF8,
 * length 8; pci_ecam_ops on the MMIO bus at PCI_ECAM_BASE, length PCI_ECAM_SIZE. */
extern const struct io_ops pci_conf1_ops;

/* Hands byte accesses to port 0xCF9 (offset 1 of the conf1 window) to `ops` (at its offset 0).
 * Call before the guest runs. */
void pci_bus_set_cf9(struct pci_bus *bus, const struct io_ops *ops, void *opaque);
extern const struct io_ops pci_ecam_ops;

#endif
