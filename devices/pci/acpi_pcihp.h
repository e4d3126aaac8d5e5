/* ACPI PCI hotplug of bus 0's slots: the register block a DSDT's hotplug methods read and write
 * (firmware/acpi/dsdt_pcihp.c writes them), in the spirit of QEMU's "acpi-pcihp" on PIIX4 and
 * Cloud Hypervisor's PCI hotplug device: slot bitmaps in 32-bit registers, one bit per device
 * number (bit n = device n on bus 0).
 *
 * The registers (ACPI_PCIHP_SIZE bytes of MMIO, 32-bit accesses; other widths and offsets read
 * 0 and are ignored):
 *   0x00 PCIU (read)  slots where a device was plugged since the last read ("check the
 *                     slot": the DSDT's PCNT does Notify(Sxx, 1)); the read clears it.
 *   0x04 PCID (read)  slots whose device the VMM asks the guest to release (Notify(Sxx, 3),
 *                     an eject request); the read clears it.
 *   0x08 B0EJ (write) the guest's _EJ0 on slot n writes 1 << n: it released the device. Only
 *                     a slot with a pending request counts; any other bit is ignored (a guest
 *                     may not remove a device the VMM did not offer to remove).
 *
 * The state machine of one slot: empty -> plugged (acpi_pcihp_plug(): PCIU bit) -> unplug
 * requested (acpi_pcihp_request_unplug(): PCID bit) -> released (the guest's B0EJ) ->
 * the VMM tears the device down and calls acpi_pcihp_clear(): empty. A request the guest never
 * answers is taken back with acpi_pcihp_cancel() (the device stays, a late B0EJ is ignored).
 * The notifications reach the guest through the Generic Event Device's ACPI_GED_PCI_HOTPLUG
 * bit (devices/acpi_ged.h), whose _EVT calls PCNT; the caller raises it.
 *
 * Threads: the registers from vCPU threads, the calls from the VMM's; lock-free (atomics). */
#ifndef DEVICES_PCI_ACPI_PCIHP_H
#define DEVICES_PCI_ACPI_PCIHP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"

#define ACPI_PCIHP_SIZE 16
#define ACPI_PCIHP_PCIU 0x0
#define ACPI_PCIHP_PCID 0x4
#define ACPI_PCIHP_B0EJ 0x8

struct acpi_pcihp {
	uint32_t slots;	    /* the hotplug slots the DSDT describes (bit n: device n); fixed */
	uint32_t up;	    /* PCIU: pending device checks (atomic) */
	uint32_t down;	    /* PCID: pending eject requests (atomic) */
	uint32_t requested; /* unplug asked, the guest has not released it yet (atomic) */
	uint32_t released;  /* the guest ejected it after a request (atomic) */
	uint64_t base;
};

/* A controller for the slots in `slots` (bit 0, the host bridge, is never one), not on a bus. */
void acpi_pcihp_init(struct acpi_pcihp *h, uint32_t slots);
/* acpi_pcihp_init() and claims [base, base + ACPI_PCIHP_SIZE) on `mmio`: 0 or -errno (logged). */
int acpi_pcihp_attach(struct acpi_pcihp *h, struct io_bus *mmio, uint64_t base, uint32_t slots);
void acpi_pcihp_detach(struct acpi_pcihp *h, struct io_bus *mmio);

/* A device was put in `slot`: the guest is told to check it. 0, or -EINVAL when `slot` is not
 * a hotplug slot, -EBUSY while an unplug of it is pending. */
int acpi_pcihp_plug(struct acpi_pcihp *h, int slot);
/* Asks the guest to release `slot`'s device. 0, -EINVAL (not a hotplug slot), -EALREADY (asked
 * already). */
int acpi_pcihp_request_unplug(struct acpi_pcihp *h, int slot);
/* Whether the guest released `slot` after a request. */
bool acpi_pcihp_released(struct acpi_pcihp *h, int slot);
/* The request for `slot` is taken back: the device stays; a later _EJ0 is ignored. */
void acpi_pcihp_cancel(struct acpi_pcihp *h, int slot);
/* The released device is gone: `slot` is empty again. */
void acpi_pcihp_clear(struct acpi_pcihp *h, int slot);

/* The register block's handlers (opaque = struct acpi_pcihp *), for tests. */
extern const struct io_ops acpi_pcihp_ops;

#endif
