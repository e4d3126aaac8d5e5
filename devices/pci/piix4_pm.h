/* The power-management function of an Intel PIIX4 (82371AB, PCI 8086:7113), as QEMU's pc machine
 * has it at 00:01.3: what OVMF's i440FX platform code programs and reads its ACPI PM timer
 * through (OvmfPkg AcpiTimerLib, PlatformInitLib: PMBA at config 0x40 = 0xB000 | 1, PMREGMISC
 * bit 0 at 0x80 turns the I/O block on; the timer is then at PMBA + 8). Datasheet: Intel 82371AB
 * PIIX4, §3.4 (PCI configuration of function 3) and §7.2 (the PM I/O registers).
 *
 * The I/O block (64 ports at PMBA, claimed on the port bus while PMREGMISC.PMIOSE is set) is the
 * ACPI register block of devices/acpi_pm1.h: PM1_STS, PM1_EN, PM1_CNT (a soft off, SLP_TYP 0 with
 * SLP_EN, is what OVMF's ResetSystem (EfiResetShutdown) writes: the VM powers off and the VMM
 * exits 0) and the PM timer at PMBA + 8; the rest reads 0. No SCI.
 *
 * Locking: configuration accesses come with the PCI bus lock held (pci.h); the I/O block has its
 * own mutex (acpi_pm1.h), never held while the block is claimed or moved. */
#ifndef DEVICES_PCI_PIIX4_PM_H
#define DEVICES_PCI_PIIX4_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/vm_control.h"
#include "devices/acpi_pm1.h"
#include "devices/pci/pci.h"

#define PIIX4_PM_DEVFN	    PCI_DEVFN(1, 3)
#define PIIX4_PM_PMBA	    0x40 /* PM base address: bits 15:6, bit 0 reads 1 (I/O) */
#define PIIX4_PM_PMREGMISC  0x80 /* bit 0: PMIOSE, the I/O block decodes */
#define PIIX4_PM_BLOCK_SIZE 64

struct piix4_pm {
	struct pci_func func;
	struct io_bus *pio;
	struct acpi_pm1 pm1; /* the I/O block */
};

/* What a snapshot keeps (a section: fixed layout, little-endian): where the firmware put the I/O
 * block and whether it decodes, and the block's registers. Without it a restored VM's power-off
 * (OVMF's ResetSystem writing PM1_CNT at PMBA + 4) would reach no device. */
struct piix4_pm_state {
	uint32_t pmba;	   /* config 0x40 */
	uint8_t pmregmisc; /* config 0x80 */
	uint8_t reserved[3];
	struct acpi_pm1_state pm1;
};

/* Puts the function at 00:01.3 of `bus` (its I/O block goes on `pio` once the guest turns it
 * on; a soft off stops the VM through `vm`, kept, not copied). The slot's function 0 may be
 * another device: firmware reads 00:01.3 by address. Returns 0, -EBUSY (the function is taken) or
 * -errno. */
int piix4_pm_attach(struct piix4_pm *pm, struct pci_bus *bus, struct io_bus *pio,
		    const struct vm_control *vm);
/* The function's state into `s` (the VM paused). */
void piix4_pm_save(struct piix4_pm *pm, struct piix4_pm_state *s);
/* Back from `s`: PMBA and PMREGMISC as the guest could have written them, the I/O block claimed
 * where they say, its registers restored. -EINVAL (nothing changed) for a state no guest can
 * make (bits outside the writable ones, reserved bytes, acpi_pm1_restore()'s); -EBUSY when the
 * block's ports are taken. */
int piix4_pm_restore(struct piix4_pm *pm, const struct piix4_pm_state *s);
/* Releases the I/O block and the function (after the vCPUs are gone); `bus` NULL: the bus is
 * gone already, only the I/O block is released. */
void piix4_pm_detach(struct piix4_pm *pm, struct pci_bus *bus);

#endif
