/* The ACPI Generic Event Device (ACPI 6.5 §5.6.9, _HID ACPI0013): how a hardware-reduced
 * platform, which has no GPE blocks and no SCI, signals events to the guest. One interrupt
 * line (edge-triggered, active high, as the DSDT's _CRS says) and one 32-bit event register in
 * the memory space, as QEMU's and Cloud Hypervisor's GEDs have.
 *
 * The VMM raises an event with acpi_ged_event(): its bit is set in the register and the line is
 * pulsed. The guest's GED driver (Linux: drivers/acpi/evged.c) then runs the DSDT's _EVT
 * method, which reads the register (a read returns the pending bits and clears them) and
 * notifies the device each bit stands for (firmware/acpi/dsdt.c). A new event raises a new
 * edge, so an event that arrives while the guest runs _EVT is seen on the next run: none is
 * lost. Writes are ignored; reads at other offsets return 0.
 *
 * Events: ACPI_GED_POWER_BUTTON (bit 0): Notify(\_SB.PWRB, 0x80) on the PNP0C0C power button,
 * which Linux's `button` driver turns into a KEY_POWER press on its "Power Button" input
 * device (systemd-logind powers off on it, acpid runs its action). ACPI_GED_PCI_HOTPLUG (bit 1):
 * \_SB.PCI0.PCNT(), which notifies the PCI slots whose device arrived or should go
 * (devices/pci/acpi_pcihp.h).
 * ACPI_GED_VMGENID (bit 2): Notify(\_SB.VGEN, 0x80), the VM generation ID changed
 * (devices/vmgenid.h).
 *
 * The pending bits are device state: acpi_ged_pending()/acpi_ged_set_pending() save and restore
 * them (an event raised and not read yet survives a snapshot; the restore raises the line again).
 *
 * Threads: acpi_ged_event() from any thread; the register from vCPU threads. Lock-free. */
#ifndef DEVICES_ACPI_GED_H
#define DEVICES_ACPI_GED_H

#include <stdint.h>

#include "base/io_bus.h"
#include "base/irq.h"

#define ACPI_GED_SIZE	      4 /* the event register, the DSDT's OperationRegion */
#define ACPI_GED_POWER_BUTTON (1u << 0)
#define ACPI_GED_PCI_HOTPLUG  (1u << 1) /* _EVT calls \_SB.PCI0.PCNT (devices/pci/acpi_pcihp.h) */
#define ACPI_GED_VMGENID      (1u << 2) /* _EVT: Notify (\_SB.VGEN, 0x80) (devices/vmgenid.h) */
#define ACPI_GED_CPU_HOTPLUG  (1u << 3) /* _EVT calls \_SB.CSCN (devices/acpi_cpuhp.h) */

struct acpi_ged {
	uint32_t pending; /* events raised and not read yet (atomic) */
	struct irq_line irq;
	uint64_t base;
	uint64_t events; /* count of acpi_ged_event() calls, for tests and logs */
};

/* Claims [base, base + ACPI_GED_SIZE) on `mmio`; the line is copied. 0 or -errno (logged). */
int acpi_ged_attach(struct acpi_ged *g, struct io_bus *mmio, uint64_t base, struct irq_line irq);
void acpi_ged_detach(struct acpi_ged *g, struct io_bus *mmio);

/* Raises the events in `bits` (ACPI_GED_*): 0, or -EINVAL for no bit or an unknown one. */
int acpi_ged_event(struct acpi_ged *g, uint32_t bits);

/* The events raised and not read yet (a snapshot's). */
uint32_t acpi_ged_pending(struct acpi_ged *g);
/* Restores saved pending events and, when there are any, pulses the line so the guest reads
 * them: 0, or -EINVAL for an unknown bit (nothing changed). */
int acpi_ged_set_pending(struct acpi_ged *g, uint32_t bits);

#endif
