/* The power-management function of an Intel PIIX4 (82371AB, PCI 8086:7113), as QEMU's pc machine
 * has it at 00:01.3: what OVMF's i440FX platform code programs and reads its ACPI PM timer
 * through (OvmfPkg AcpiTimerLib, PlatformInitLib: PMBA at config 0x40 = 0xB000 | 1, PMREGMISC
 * bit 0 at 0x80 turns the I/O block on; the timer is then at PMBA + 8). Datasheet: Intel 82371AB
 * PIIX4, §3.4 (PCI configuration of function 3) and §7.2 (the PM I/O registers).
 *
 * The I/O block (64 ports at PMBA, claimed on the port bus while PMREGMISC.PMIOSE is set):
 * PM1_STS (+0, write 1 to clear), PM1_EN (+2), PM1_CNT (+4: kept, SCI_EN and all, except its
 * write-only SLP_EN, bit 13: with SLP_TYP, bits 12:10, at 0, the PIIX4's soft off (§7.2; the
 * S5 of QEMU's pc machine), the VM powers off and the VMM exits 0: what OVMF's ResetSystem
 * (EfiResetShutdown) writes, and Linux powers off through it under UEFI when the ACPI tables are
 * hardware-reduced; other sleep types are logged and ignored. The guest's own ACPI sleep
 * registers are elsewhere, devices/x86/acpi_pm.h), PM_TMR (+8: the 24-bit ACPI PM timer,
 * 3.579545 MHz, from the host's monotonic clock); the rest reads 0 and ignores writes. No SCI:
 * PM1_EN is stored, never acted on.
 *
 * Locking: configuration accesses come with the PCI bus lock held (pci.h); the I/O block has its
 * own mutex, taken after the bus lock when a config write moves the block. */
#ifndef DEVICES_PCI_PIIX4_PM_H
#define DEVICES_PCI_PIIX4_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/vm_control.h"
#include "devices/pci/pci.h"

#define PIIX4_PM_DEVFN	    PCI_DEVFN(1, 3)
#define PIIX4_PM_PMBA	    0x40 /* PM base address: bits 15:6, bit 0 reads 1 (I/O) */
#define PIIX4_PM_PMREGMISC  0x80 /* bit 0: PMIOSE, the I/O block decodes */
#define PIIX4_PM_BLOCK_SIZE 64
#define PIIX4_PM_TMR	    8
#define ACPI_PM_TIMER_HZ    3579545ULL

struct piix4_pm {
	struct pci_func func;
	struct io_bus *pio;
	pthread_mutex_t lock;
	uint16_t mapped_base; /* where the I/O block is claimed; 0: nowhere */
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint64_t (*now_ns)(void);    /* monotonic clock; tests replace it */
	const struct vm_control *vm; /* told of the power-off */
};

/* Puts the function at 00:01.3 of `bus` (its I/O block goes on `pio` once the guest turns it
 * on; a soft off stops the VM through `vm`, kept, not copied). The slot's function 0 may be
 * another device: firmware reads 00:01.3 by address. Returns 0, -EBUSY (the function is taken) or
 * -errno. */
int piix4_pm_attach(struct piix4_pm *pm, struct pci_bus *bus, struct io_bus *pio,
		    const struct vm_control *vm);
/* Releases the I/O block and the function (after the vCPUs are gone); `bus` NULL: the bus is
 * gone already, only the I/O block is released. */
void piix4_pm_detach(struct piix4_pm *pm, struct pci_bus *bus);

/* The PM timer's value now (24 bits). */
uint32_t piix4_pm_timer(const struct piix4_pm *pm);

#endif
