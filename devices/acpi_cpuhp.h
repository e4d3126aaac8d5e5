/* ACPI CPU hotplug: the register block the DSDT's processor devices and its CSCN method read
 * and write (firmware/acpi/dsdt_cpuhp.c writes them). Our own layout, in the spirit of our PCI
 * hotplug controller (devices/pci/acpi_pcihp.h): bitmaps of the possible vCPUs (bit n = vCPU n,
 * whose APIC ID and ACPI processor UID are n), split in 32-bit halves, so that the AML needs no
 * selector register, no lock and no loop.
 *
 * The registers (ACPI_CPUHP_SIZE bytes of MMIO, 32-bit accesses; other widths and offsets read
 * 0 and are ignored):
 *   0x00 CINL, 0x04 CINH (read)  vCPUs plugged since the last read ("check it": CSCN does
 *                                Notify(Cnnn, 1)); a read clears its half.
 *   0x08 CRML, 0x0C CRMH (read)  vCPUs the VMM asks the guest to eject (Notify(Cnnn, 3)); a
 *                                read clears its half.
 *   0x10 CPRL, 0x14 CPRH (read)  vCPUs present: each processor device's _STA.
 *   0x18 CEJ0 (write)            the guest's _EJ0 of vCPU n writes n: it took the CPU offline
 *                                and gave it back. Only a vCPU with a pending request counts;
 *                                its present bit goes at once (Linux reads _STA right after
 *                                _EJ0 and calls an eject whose device is still there
 *                                incomplete).
 *
 * One vCPU's states: absent -> present (acpi_cpuhp_plug(): CIN bit) -> removal requested
 * (acpi_cpuhp_request_unplug(): CRM bit) -> ejected (the guest's CEJ0: absent for the guest) ->
 * the VMM parks the vCPU and calls acpi_cpuhp_clear(): absent. A request the guest does not
 * answer is taken back with acpi_cpuhp_cancel() (the vCPU stays; a late CEJ0 is ignored). vCPU 0
 * is always present and never removed. The caller raises the Generic Event Device's
 * ACPI_GED_CPU_HOTPLUG (devices/acpi_ged.h), whose _EVT calls CSCN.
 *
 * Threads: the registers from vCPU threads, the calls from the VMM's; lock-free (atomics). */
#ifndef DEVICES_ACPI_CPUHP_H
#define DEVICES_ACPI_CPUHP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"

#define ACPI_CPUHP_SIZE	    0x20
#define ACPI_CPUHP_MAX_CPUS 64
#define ACPI_CPUHP_CINL	    0x00
#define ACPI_CPUHP_CINH	    0x04
#define ACPI_CPUHP_CRML	    0x08
#define ACPI_CPUHP_CRMH	    0x0C
#define ACPI_CPUHP_CPRL	    0x10
#define ACPI_CPUHP_CPRH	    0x14
#define ACPI_CPUHP_CEJ0	    0x18

struct acpi_cpuhp {
	unsigned max;	    /* possible vCPUs, 1..ACPI_CPUHP_MAX_CPUS; fixed */
	uint64_t present;   /* as the guest's _STA sees them (atomic) */
	uint64_t up;	    /* CIN: pending device checks (atomic) */
	uint64_t down;	    /* CRM: pending eject requests (atomic) */
	uint64_t requested; /* eject asked, the guest has not answered yet (atomic) */
	uint64_t released;  /* the guest ejected it after a request (atomic) */
	uint64_t base;
};

/* A controller for `max` possible vCPUs of which 0..present-1 are there (1 <= present <= max
 * <= ACPI_CPUHP_MAX_CPUS: else -EINVAL), not on a bus. */
int acpi_cpuhp_init(struct acpi_cpuhp *h, unsigned max, unsigned present);
/* acpi_cpuhp_init() and claims [base, base + ACPI_CPUHP_SIZE) on `mmio`: 0 or -errno
 * (logged). */
int acpi_cpuhp_attach(struct acpi_cpuhp *h, struct io_bus *mmio, uint64_t base, unsigned max,
		      unsigned present);
void acpi_cpuhp_detach(struct acpi_cpuhp *h, struct io_bus *mmio);

/* vCPU `cpu` was made runnable: it is present and the guest is told to check it. 0, or -EINVAL
 * (vCPU 0 or not a possible vCPU), -EEXIST (present already), -EBUSY (its eject is not over). */
int acpi_cpuhp_plug(struct acpi_cpuhp *h, unsigned cpu);
/* Asks the guest to eject `cpu`. 0, -EINVAL (vCPU 0, not possible, not present), -EALREADY
 * (asked already). */
int acpi_cpuhp_request_unplug(struct acpi_cpuhp *h, unsigned cpu);
/* Whether the guest ejected `cpu` after a request. */
bool acpi_cpuhp_released(struct acpi_cpuhp *h, unsigned cpu);
/* The request for `cpu` is taken back: it stays present; a later CEJ0 is ignored. True when
 * there was a request to take back; false when there was none: the guest's CEJ0 took it first
 * (acpi_cpuhp_released() is then true, or becomes so as that write ends). */
bool acpi_cpuhp_cancel(struct acpi_cpuhp *h, unsigned cpu);
/* The ejected vCPU is parked: `cpu` is absent, ready for a plug. */
void acpi_cpuhp_clear(struct acpi_cpuhp *h, unsigned cpu);
/* The present vCPUs (bit n: vCPU n). */
uint64_t acpi_cpuhp_present(struct acpi_cpuhp *h);
/* Whether the guest has an event still to answer (a check or an eject request not read, an
 * eject not done or not cleared). */
bool acpi_cpuhp_busy(struct acpi_cpuhp *h);

/* The register block's handlers (opaque = struct acpi_cpuhp *), for tests. */
extern const struct io_ops acpi_cpuhp_ops;

#endif
