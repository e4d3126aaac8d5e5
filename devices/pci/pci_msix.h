/* MSI-X for a PCI function (PCI Local Bus Specification 3.0, section 6.8.2): the capability
 * (Message Control with Enable and Function Mask), the vector table (address, data, per-vector
 * mask) and the Pending Bit Array, in whatever BAR and offsets the owner chooses.
 *
 * Delivery goes through a callback, so the model runs the same over KVM irqfds and over a test
 * recorder: a vector that is signalled while masked (function mask or its own mask bit) sets
 * its pending bit instead, and is sent when it is unmasked (6.8.2.9). With MSI-X disabled,
 * pci_msix_notify() returns false and the owner falls back to INTx.
 *
 * No locking: the owner serialises every call (the virtio transport uses its device lock). */
#ifndef DEVICES_PCI_MSIX_H
#define DEVICES_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"

#define PCI_MSIX_MAX_VECTORS 64
#define PCI_MSIX_CAP_LEN     12

/* Sends the message of `vector`: a 32-bit write of `data` at `addr`. */
typedef void (*pci_msix_send_fn)(void *opaque, uint16_t vector, uint64_t addr, uint32_t data);

struct pci_msix {
	struct pci_func *func;
	uint8_t cap; /* configuration offset of the capability */
	uint16_t nvec;
	uint32_t table[PCI_MSIX_MAX_VECTORS][4]; /* address low, address high, data, control */
	uint64_t pending;			 /* the PBA, one bit per vector */
	bool enabled, masked;			 /* Message Control, as last written */
	pci_msix_send_fn send;
	void *opaque;
};

/* Adds the MSI-X capability to `f` with `nvec` vectors (1..64), its table at `table_off` and its
 * PBA at `pba_off` (both 8-byte aligned) inside BAR `bar`. Every vector starts masked; MSI-X
 * starts disabled. Returns 0 or -EINVAL / -ENOSPC. */
int pci_msix_init(struct pci_msix *m, struct pci_func *f, uint16_t nvec, int bar,
		  uint32_t table_off, uint32_t pba_off, pci_msix_send_fn send, void *opaque);

/* Bytes of the table and of the PBA, for laying out the BAR. */
static inline uint32_t pci_msix_table_size(uint16_t nvec)
{
	return 16u * nvec;
}
static inline uint32_t pci_msix_pba_size(uint16_t nvec)
{
	return 8u * ((nvec + 63u) / 64u);
}

/* Call after a configuration write that may have touched the capability: picks up Enable and
 * Function Mask and sends pending vectors that became unmasked. */
void pci_msix_control_written(struct pci_msix *m);

static inline bool pci_msix_enabled(const struct pci_msix *m)
{
	return m->enabled;
}

/* True when `vector` is masked by the function mask or its own mask bit. */
bool pci_msix_masked(const struct pci_msix *m, uint16_t vector);

/* Signals `vector`: sent now, or made pending while masked. Vectors >= nvec are dropped. Returns
 * false, doing nothing, when MSI-X is disabled. */
bool pci_msix_notify(struct pci_msix *m, uint16_t vector);

/* The table and the PBA for a snapshot (Enable and Function Mask live in the configuration space,
 * saved with it). */
struct pci_msix_state {
	uint32_t table[PCI_MSIX_MAX_VECTORS][4];
	uint64_t pending;
	uint16_t nvec;
	uint16_t reserved[3]; /* zero */
};

void pci_msix_save(const struct pci_msix *m, struct pci_msix_state *s);

/* Checks the state as guest writes would be (same vector count; control words with only the mask
 * bit; no entry or pending bit beyond the table) and puts it in, taking Enable and Function Mask
 * from the function's configuration space (restore that first). Sends nothing: a pending vector
 * stays pending until the guest unmasks it. Returns 0 or -EINVAL (nothing changed). */
int pci_msix_restore(struct pci_msix *m, const struct pci_msix_state *s);
/* The check pci_msix_restore() makes, alone (to check everything before changing anything). */
bool pci_msix_state_ok(const struct pci_msix *m, const struct pci_msix_state *s);

/* Accesses at `off` inside the table / the PBA: aligned 4- or 8-byte accesses (6.8.2: others are
 * undefined; here they read 0 and are ignored). The PBA is read-only. */
void pci_msix_table_read(struct pci_msix *m, uint64_t off, void *data, uint32_t len);
void pci_msix_table_write(struct pci_msix *m, uint64_t off, const void *data, uint32_t len);
void pci_msix_pba_read(struct pci_msix *m, uint64_t off, void *data, uint32_t len);

#endif
